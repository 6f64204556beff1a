from __future__ import annotations

from decimal import Decimal

import pytest
from django.db import DatabaseError, IntegrityError, connection, transaction

from brokercrm.errors import ValidationFailed
from brokercrm.gate import SYSTEM
from brokercrm.idempotency import IdempotencyKeyReused
from identity.tests.factories import register
from wallets.models import Hold, JournalEntry, LedgerAccount, Posting
from wallets.selectors import account_statement
from wallets.services import (
    CrossEntityTransfer,
    HoldNotPending,
    InsufficientFunds,
    JournalSpec,
    Line,
    fx_rate_record,
    hold_create,
    hold_post,
    hold_void,
    journal_post,
    journal_post_batch,
    journal_reverse,
    system_account,
    wallet_open,
    wallet_transfer,
)

from .factories import assert_ledger_sound, fund


@pytest.fixture
def client_eu(world):
    return register(world.eu_brand).profile


@pytest.fixture
def eur(client_eu):
    return wallet_open(profile=client_eu, currency="EUR")


def _reload(account: LedgerAccount) -> LedgerAccount:
    return LedgerAccount.objects.unscoped().get(pk=account.pk)


def test_deposit_credits_the_wallet_and_the_ledger_balances(world, eur):
    fund(eur, "250.50")
    wallet = _reload(eur)
    assert (wallet.balance, wallet.held, wallet.available) == (
        Decimal("250.50"),
        0,
        Decimal("250.50"),
    )
    clearing = system_account(entity=world.eu, kind="psp_clearing", currency="EUR")
    assert _reload(clearing).balance == Decimal("-250.50")
    assert_ledger_sound(world.eu)


def test_wallet_rules_decide_currencies(world, client_eu):
    with pytest.raises(ValidationFailed) as refused:
        wallet_open(profile=client_eu, currency="JPY")
    assert refused.value.code == "currency_not_offered"
    assert wallet_open(profile=client_eu, currency="USD") == wallet_open(
        profile=client_eu, currency="usd"
    )


def test_overdraft_is_refused_by_the_database_and_nothing_changes(world, eur):
    fund(eur, "100")
    other = wallet_open(profile=eur.profile, currency="USD")
    fx_rate_record(base="EUR", quote="USD", rate="1.10", source="test")
    with pytest.raises(InsufficientFunds):
        wallet_transfer(
            actor=SYSTEM, source=eur, target=other, amount="100.01", idempotency_key="t-1"
        )
    assert _reload(eur).balance == Decimal("100")
    assert JournalEntry.objects.unscoped().count() == 1
    assert_ledger_sound(world.eu)


def test_idempotency_repeat_returns_the_first_result_and_a_changed_body_is_refused(world, eur):
    first = fund(eur, "10", key="dep-1")
    again = fund(eur, "10", key="dep-1")
    assert again.pk == first.pk
    assert _reload(eur).balance == Decimal("10")
    with pytest.raises(IdempotencyKeyReused):
        fund(eur, "11", key="dep-1")
    assert _reload(eur).balance == Decimal("10")
    assert_ledger_sound(world.eu)


def test_hold_post_and_void_happen_exactly_once(world, eur):
    fund(eur, "100")
    payout = system_account(entity=world.eu, kind="psp_clearing", currency="EUR", name="payouts")
    hold = hold_create(
        actor=None,
        account=eur,
        counter_account=payout,
        amount="60",
        purpose="withdrawal",
        idempotency_key="h-1",
    )
    wallet = _reload(eur)
    assert (wallet.balance, wallet.held, wallet.available) == (
        Decimal("100"),
        Decimal("60"),
        Decimal("40"),
    )
    with pytest.raises(InsufficientFunds):
        hold_create(
            actor=None,
            account=eur,
            counter_account=payout,
            amount="41",
            purpose="withdrawal",
            idempotency_key="h-2",
        )
    hold_post(actor=None, hold=hold)
    wallet = _reload(eur)
    assert (wallet.balance, wallet.held) == (Decimal("40"), Decimal("0"))
    for second in (hold_post, hold_void):
        with pytest.raises(HoldNotPending):
            second(actor=None, hold=hold)
    assert _reload(eur).balance == Decimal("40")
    assert JournalEntry.objects.unscoped().filter(type="hold_posted").count() == 1
    voided = hold_create(
        actor=None,
        account=eur,
        counter_account=payout,
        amount="40",
        purpose="withdrawal",
        idempotency_key="h-3",
    )
    hold_void(actor=None, hold=voided)
    with pytest.raises(HoldNotPending):
        hold_post(actor=None, hold=voided)
    wallet = _reload(eur)
    assert (wallet.balance, wallet.held) == (Decimal("40"), Decimal("0"))
    assert Hold.objects.unscoped().get(pk=voided.pk).status == "voided"
    assert_ledger_sound(world.eu)


def test_cross_currency_transfer_records_the_rate_and_both_legs(world, eur, settings):
    from entities.services import ruleset_publish

    ruleset_publish(
        actor=SYSTEM,
        entity=world.eu,
        kind="wallet",
        document={"currencies": ["EUR", "USD"], "fx_markup_bps": 50},
    )
    usd = wallet_open(profile=eur.profile, currency="USD")
    fund(eur, "200")
    fx_rate_record(base="EUR", quote="USD", rate="1.08", source="ecb")
    journal = wallet_transfer(
        actor=SYSTEM, source=eur, target=usd, amount="100", idempotency_key="fx-1"
    )
    # 1.08 less 50 bp = 1.0746
    assert journal.metadata["fx"]["rate"] == "1.0746000000"
    assert journal.metadata["bought"] == {"currency": "USD", "amount": "107.46000000"}
    assert (_reload(eur).balance, _reload(usd).balance) == (Decimal("100"), Decimal("107.46"))
    assert Posting.objects.unscoped().filter(journal=journal).count() == 4
    assert_ledger_sound(world.eu)


def test_money_never_crosses_entities(world, eur):
    uk_client = register(
        world.uk_brand,
        residence_country="GB",
        email="gb@example.com",
        phone="+44 7911 123456",
        given_name="John",
        family_name="Smith",
        birth_date="1977-03-03",
        document=None,
    ).profile
    gbp = wallet_open(profile=uk_client, currency="GBP")
    fund(eur, "10")
    with pytest.raises(CrossEntityTransfer):
        wallet_transfer(actor=SYSTEM, source=eur, target=gbp, amount="1", idempotency_key="x-1")
    uk_clearing = system_account(entity=world.uk, kind="psp_clearing", currency="EUR")
    with pytest.raises(CrossEntityTransfer):
        journal_post(
            actor=None,
            entity=world.eu,
            spec=JournalSpec(
                type="adjustment",
                idempotency_key="x-2",
                lines=[Line(uk_clearing, Decimal("-1")), Line(eur, Decimal("1"))],
            ),
        )
    assert_ledger_sound(world.eu, world.uk)


@pytest.mark.parametrize(
    "amount", ["0", "-5", "1.123456789", "NaN", "Infinity", "abc", 1.5, "1e30"]
)
def test_bad_amounts_are_refused(world, eur, amount):
    fund(eur, "10")
    other = wallet_open(profile=eur.profile, currency="USD")
    with pytest.raises(ValidationFailed) as refused:
        wallet_transfer(
            actor=SYSTEM, source=eur, target=other, amount=amount, idempotency_key="bad"
        )
    assert refused.value.code == "amount_invalid"
    assert _reload(eur).balance == Decimal("10")


def test_unbalanced_journal_is_refused_in_python_and_in_the_database(world, eur):
    clearing = system_account(entity=world.eu, kind="psp_clearing", currency="EUR")
    with pytest.raises(ValidationFailed) as refused:
        journal_post(
            actor=None,
            entity=world.eu,
            spec=JournalSpec(
                type="deposit",
                idempotency_key="u-1",
                lines=[Line(clearing, Decimal("-5")), Line(eur, Decimal("4"))],
            ),
        )
    assert refused.value.code == "journal_unbalanced"
    # Straight to the tables, bypassing the service: the database refuses it too.
    with pytest.raises(IntegrityError, match="would not balance"):
        _write_unbalanced_journal(world.eu, clearing, eur)
    assert JournalEntry.objects.unscoped().count() == 0
    assert_ledger_sound(world.eu)


def _write_unbalanced_journal(entity, debit_account, credit_account) -> None:
    with transaction.atomic():
        journal = JournalEntry.objects.create(
            entity=entity,
            type="deposit",
            idempotency_key="raw",
            request_hash="x",
            actor_label="test",
        )
        Posting.objects.bulk_create(
            [
                Posting(
                    entity=entity,
                    journal=journal,
                    account=debit_account,
                    amount=Decimal("-5"),
                    currency="EUR",
                ),
                Posting(
                    entity=entity,
                    journal=journal,
                    account=credit_account,
                    amount=Decimal("4"),
                    currency="EUR",
                ),
            ]
        )


def _write_empty_journal_and_commit_checks(entity) -> None:
    with transaction.atomic():
        JournalEntry.objects.create(
            entity=entity,
            type="deposit",
            idempotency_key="empty",
            request_hash="x",
            actor_label="t",
        )
        with connection.cursor() as cursor:
            cursor.execute("SET CONSTRAINTS ALL IMMEDIATE")  # what COMMIT would do


def test_journal_without_postings_is_refused_at_commit(world):
    with pytest.raises(IntegrityError, match="needs at least two"):
        _write_empty_journal_and_commit_checks(world.eu)
    assert JournalEntry.objects.unscoped().count() == 0


def test_database_refuses_to_change_postings_and_journals(world, eur):
    journal = fund(eur, "10")
    for statement in (
        "UPDATE wallets_posting SET amount = amount * 2",
        "DELETE FROM wallets_posting",
        "UPDATE wallets_journalentry SET reference = 'edited'",
        "DELETE FROM wallets_journalentry",
    ):
        with (
            pytest.raises(DatabaseError, match="append-only"),
            transaction.atomic(),
            connection.cursor() as c,
        ):
            c.execute(statement)
    assert Posting.objects.unscoped().filter(journal=journal).count() == 2
    assert _reload(eur).balance == Decimal("10")


def test_reversal_corrects_a_mistake_once(world, eur):
    journal = fund(eur, "25")
    journal_reverse(actor=None, journal=journal, reason="duplicate deposit")
    assert _reload(eur).balance == 0
    again = journal_reverse(actor=None, journal=journal, reason="duplicate deposit")
    assert _reload(eur).balance == 0
    assert JournalEntry.objects.unscoped().filter(type="reversal").count() == 1
    assert again.reverses_id == journal.pk
    assert_ledger_sound(world.eu)


def test_batched_posting_path(world, client_eu, eur):
    payable = system_account(entity=world.eu, kind="ib_payable", currency="EUR")
    specs = [
        JournalSpec(
            type="commission",
            idempotency_key=f"c-{i}",
            lines=[Line(payable, Decimal("-1.25")), Line(eur, Decimal("1.25"))],
        )
        for i in range(200)
    ]
    journals = journal_post_batch(actor=None, entity=world.eu, specs=specs)
    assert len(journals) == 200
    assert _reload(eur).balance == Decimal("250")
    # Re-running the batch pays nothing twice.
    journal_post_batch(actor=None, entity=world.eu, specs=specs)
    assert _reload(eur).balance == Decimal("250")
    assert_ledger_sound(world.eu)


def test_statement_has_running_balances(world, eur):
    fund(eur, "100")
    fund(eur, "50")
    other = wallet_open(profile=eur.profile, currency="USD")
    fx_rate_record(base="EUR", quote="USD", rate="1.1", source="test")
    wallet_transfer(actor=SYSTEM, source=eur, target=other, amount="30", idempotency_key="s-1")
    lines = account_statement(account=eur)
    assert [(line["amount"], line["balance_after"]) for line in lines] == [
        (Decimal("100"), Decimal("100")),
        (Decimal("50"), Decimal("150")),
        (Decimal("-30"), Decimal("120")),
    ]


def test_a_batch_larger_than_one_insert_chunk_posts_whole(world, client_eu, eur):
    payable = system_account(entity=world.eu, kind="ib_payable", currency="EUR")
    specs = [
        JournalSpec(
            type="commission",
            idempotency_key=f"big-{i}",
            lines=[Line(payable, Decimal("-0.01")), Line(eur, Decimal("0.01"))],
        )
        for i in range(2501)
    ]
    journal_post_batch(actor=None, entity=world.eu, specs=specs)
    assert _reload(eur).balance == Decimal("25.01")
    assert_ledger_sound(world.eu)
