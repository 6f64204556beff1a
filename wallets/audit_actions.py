"""What the wallets app records in the audit log (`wallets.*`)."""

WALLET_OPENED = "wallets.wallet_opened"
WALLET_CLOSED = "wallets.wallet_closed"
# The scheduled check found account balances or journals that do not add up.
RECONCILIATION_FAILED = "wallets.reconciliation_failed"
