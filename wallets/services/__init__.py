"""Every movement of money. Nothing else writes postings, journals, holds or balances.

Guarantees, and who keeps them:
- a journal balances per currency, its accounts are its entity's, postings are append-only:
  the database (wallets/migrations/0002_ledger_rules.py), re-checked here for clear errors;
- a client wallet never goes below zero available: the CHECK on the account row, which the
  posting trigger and the hold updates hit in the same statement (no read-decide-write);
- a repeated request does nothing twice: idempotency keys unique per entity, with a hash of
  the request so a reused key with other parameters is refused;
- deadlocks and serialization failures are retried; row locks are taken in account-id order.
"""

from .accounts import (
    NORMAL_SIDE,
    system_account,
    wallet_add,
    wallet_close,
    wallet_open,
    wallet_open_base,
    wallets_on_activation,
)
from .common import CrossEntityTransfer, HoldNotPending, InsufficientFunds, WalletClosed
from .holds import hold_create, hold_post, hold_void
from .journals import JournalSpec, Line, journal_post, journal_post_batch, journal_reverse
from .transfers import FxQuote, fx_converted, fx_quote, fx_rate_record, wallet_transfer

__all__ = [
    "NORMAL_SIDE",
    "CrossEntityTransfer",
    "FxQuote",
    "HoldNotPending",
    "InsufficientFunds",
    "JournalSpec",
    "Line",
    "WalletClosed",
    "fx_converted",
    "fx_quote",
    "fx_rate_record",
    "hold_create",
    "hold_post",
    "hold_void",
    "journal_post",
    "journal_post_batch",
    "journal_reverse",
    "system_account",
    "wallet_add",
    "wallet_close",
    "wallet_open",
    "wallet_open_base",
    "wallet_transfer",
    "wallets_on_activation",
]
