"""Real threads, each with its own database connection, against one wallet."""

from __future__ import annotations

import threading
from collections.abc import Callable
from decimal import Decimal

import pytest
from django.db import connections

from identity.tests.factories import register
from wallets.models import JournalEntry, LedgerAccount
from wallets.services import (
    InsufficientFunds,
    JournalSpec,
    Line,
    journal_post,
    system_account,
    wallet_open,
)

from .factories import assert_ledger_sound, fund


def run_together(
    count: int, work: Callable[[int], object]
) -> tuple[list[object], list[BaseException]]:
    start = threading.Barrier(count)
    results: list[object] = []
    errors: list[BaseException] = []
    lock = threading.Lock()

    def runner(index: int) -> None:
        try:
            start.wait()
            outcome = work(index)
            with lock:
                results.append(outcome)
        except BaseException as exc:  # collected for the test thread
            with lock:
                errors.append(exc)
        finally:
            connections.close_all()

    threads = [threading.Thread(target=runner, args=(i,)) for i in range(count)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return results, errors


def _withdrawal(
    wallet: LedgerAccount, payout: LedgerAccount, amount: Decimal, key: str
) -> JournalSpec:
    return JournalSpec(
        type="withdrawal", idempotency_key=key, lines=[Line(wallet, -amount), Line(payout, amount)]
    )


@pytest.mark.django_db(transaction=True)
def test_fifty_concurrent_withdrawals_of_a_tenth_exactly_ten_succeed(world):
    wallet = wallet_open(profile=register(world.eu_brand).profile, currency="EUR")
    fund(wallet, "1000")
    payout = system_account(entity=world.eu, kind="psp_clearing", currency="EUR", name="payouts")

    def withdraw(index: int) -> str:
        try:
            journal_post(
                actor=None,
                entity=world.eu,
                spec=_withdrawal(wallet, payout, Decimal("100"), f"w-{index}"),
            )
        except InsufficientFunds:
            return "refused"
        return "paid"

    results, errors = run_together(50, withdraw)
    assert errors == []
    assert (results.count("paid"), results.count("refused")) == (10, 40)
    wallet = LedgerAccount.objects.unscoped().get(pk=wallet.pk)
    assert wallet.balance == 0
    assert JournalEntry.objects.unscoped().filter(type="withdrawal").count() == 10
    assert_ledger_sound(world.eu)


@pytest.mark.django_db(transaction=True)
def test_twenty_concurrent_requests_with_one_idempotency_key_make_one_journal(world):
    wallet = wallet_open(profile=register(world.eu_brand).profile, currency="EUR")
    fund(wallet, "500")
    payout = system_account(entity=world.eu, kind="psp_clearing", currency="EUR", name="payouts")

    def withdraw(_: int) -> int:
        return journal_post(
            actor=None, entity=world.eu, spec=_withdrawal(wallet, payout, Decimal("75"), "same-key")
        ).pk

    results, errors = run_together(20, withdraw)
    assert errors == []
    assert len(set(results)) == 1
    assert JournalEntry.objects.unscoped().filter(type="withdrawal").count() == 1
    assert LedgerAccount.objects.unscoped().get(pk=wallet.pk).balance == Decimal("425")
    # The same key with another amount is refused.
    from wallets.services import IdempotencyKeyReused

    with pytest.raises(IdempotencyKeyReused):
        journal_post(
            actor=None, entity=world.eu, spec=_withdrawal(wallet, payout, Decimal("76"), "same-key")
        )
    assert_ledger_sound(world.eu)
