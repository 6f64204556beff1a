"""PSPs, routing, deposits, withdrawals and reconciliation."""
