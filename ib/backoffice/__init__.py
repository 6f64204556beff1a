"""What ib contributes to the back office's shared screens."""
