"""What wallets contributes to the back office's shared screens."""
