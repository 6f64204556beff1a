"""Choices of ledger rows that other apps name (account kinds, journal types)."""

from django.db import models


class AccountKind(models.TextChoices):
    CLIENT_WALLET = "client_wallet", "Client wallet"
    PSP_CLEARING = "psp_clearing", "PSP clearing"
    PLATFORM_TRANSFER = "platform_transfer", "Trading-platform transfer"
    IB_PAYABLE = "ib_payable", "IB commissions payable"
    FEE_REVENUE = "fee_revenue", "Fee revenue"
    FX_POSITION = "fx_position", "FX position"
    SUSPENSE = "suspense", "Suspense"
    EQUITY = "equity", "Equity / opening balances"


class JournalType(models.TextChoices):
    DEPOSIT = "deposit", "Deposit"
    WITHDRAWAL = "withdrawal", "Withdrawal"
    TRANSFER = "transfer", "Transfer"
    FX_TRANSFER = "fx_transfer", "Currency conversion"
    HOLD_POSTED = "hold_posted", "Hold posted"
    PLATFORM_TRANSFER = "platform_transfer", "Trading-platform transfer"
    COMMISSION = "commission", "IB commission"
    ADJUSTMENT = "adjustment", "Adjustment"
    REVERSAL = "reversal", "Reversal"
