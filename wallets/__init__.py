"""Wallets and the double-entry ledger."""
