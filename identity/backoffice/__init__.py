"""What identity contributes to the back office's shared screens."""
