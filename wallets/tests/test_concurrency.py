"""Real threads, each with its own database connection, against one wallet."""

from __future__ import annotations

import threading
from collections.abc import Callable
from decimal import Decimal

import pytest
from django.db import connections

from identity.tests.factories import register
from wallets.models import JournalEntry, LedgerAccount, Posting
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
    from brokercrm.idempotency import IdempotencyKeyReused

    with pytest.raises(IdempotencyKeyReused):
        journal_post(
            actor=None, entity=world.eu, spec=_withdrawal(wallet, payout, Decimal("76"), "same-key")
        )
    assert_ledger_sound(world.eu)


@pytest.mark.django_db(transaction=True)
def test_outside_a_transaction_a_journal_is_one_statement_and_a_refusal_leaves_nothing(world):
    # Given a funded wallet and no surrounding transaction (autocommit)
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    wallet = wallet_open(profile=register(world.eu_brand).profile, currency="EUR")
    fund(wallet, "100")
    payout = system_account(entity=world.eu, kind="psp_clearing", currency="EUR", name="payouts")
    journals_before = JournalEntry.objects.unscoped().count()

    # When a journal is posted, it takes exactly one statement
    with CaptureQueriesContext(connection) as queries:
        journal = journal_post(
            actor=None, entity=world.eu, spec=_withdrawal(wallet, payout, Decimal("40"), "one")
        )
    assert len(queries) == 1
    assert (journal.entity_id, journal.type) == (world.eu.pk, "withdrawal")
    assert Posting.objects.unscoped().filter(journal_id=journal.pk).count() == 2

    # And an overdraft is refused with nothing written: no journal row, balances unchanged
    with pytest.raises(InsufficientFunds):
        journal_post(
            actor=None, entity=world.eu, spec=_withdrawal(wallet, payout, Decimal("61"), "two")
        )
    assert JournalEntry.objects.unscoped().count() == journals_before + 1
    assert not JournalEntry.objects.unscoped().filter(idempotency_key="two").exists()
    assert LedgerAccount.objects.unscoped().get(pk=wallet.pk).balance == Decimal("60")

    # And a repeat answers with the first journal; another amount under the key is refused
    again = journal_post(
        actor=None, entity=world.eu, spec=_withdrawal(wallet, payout, Decimal("40"), "one")
    )
    assert again.pk == journal.pk
    from brokercrm.idempotency import IdempotencyKeyReused

    with pytest.raises(IdempotencyKeyReused):
        journal_post(
            actor=None, entity=world.eu, spec=_withdrawal(wallet, payout, Decimal("41"), "one")
        )
    assert LedgerAccount.objects.unscoped().get(pk=wallet.pk).balance == Decimal("60")
    assert_ledger_sound(world.eu)
