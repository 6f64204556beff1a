"""What kyc contributes to the back office's shared screens."""
