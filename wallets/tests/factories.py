from __future__ import annotations

from decimal import Decimal
from itertools import count
from typing import Any

from wallets.models import LedgerAccount
from wallets.selectors import ledger_imbalance, ledger_reconcile, trial_balance
from wallets.services import JournalSpec, Line, journal_post, system_account

_keys = count(1)


def fund(wallet: LedgerAccount, amount: str | Decimal, *, key: str | None = None) -> Any:
    """A deposit: PSP clearing (debit) → the client wallet (credit)."""
    clearing = system_account(
        entity=wallet.entity_id, kind=LedgerAccount.Kind.PSP_CLEARING, currency=wallet.currency
    )
    amount = Decimal(str(amount))
    return journal_post(
        actor=None,
        entity=wallet.entity_id,
        spec=JournalSpec(
            type="deposit",
            idempotency_key=key or f"test-deposit-{next(_keys)}",
            lines=[Line(clearing, -amount), Line(wallet, amount)],
        ),
    )


def assert_ledger_sound(*entities: Any) -> None:
    """Every journal balances, every balance equals its postings, every currency nets to zero."""
    assert ledger_imbalance() == {}
    assert ledger_reconcile() == []
    for entity in entities:
        for currency, kinds in trial_balance(entity=entity).items():
            assert kinds["net"] == 0, (currency, kinds)
    for wallet in LedgerAccount.objects.unscoped().filter(kind="client_wallet"):
        assert wallet.balance - wallet.held >= 0, wallet
