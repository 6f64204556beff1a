"""What payments contributes to the back office's shared screens."""
