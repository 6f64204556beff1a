"""What platforms contributes to the back office's shared screens."""
