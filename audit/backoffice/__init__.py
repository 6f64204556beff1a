"""What audit contributes to the back office's shared screens."""
