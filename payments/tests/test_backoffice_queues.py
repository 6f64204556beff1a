"""Payments' work queues on "My work": who sees which withdrawals at which approval level,
reconciliation breaks, parked deposits, the SLA deadlines and the page itself."""

from __future__ import annotations

import itertools
from datetime import timedelta
from decimal import Decimal

import pytest
from django.test import Client
from django.utils import timezone

from brokercrm.backoffice import registry
from brokercrm.backoffice.work import queues_for
from brokercrm.gate import SYSTEM
from brokercrm.scoping import scope_for
from entities.services import ruleset_publish
from identity.services import DocumentInput
from identity.tests.factories import register
from kyc.models import KycFile
from payments.backoffice.queues import (
    PARKED_DEPOSIT,
    RECONCILIATION_BREAK,
    WITHDRAWAL_COMPLIANCE,
    WITHDRAWAL_FINANCE,
)
from payments.models import (
    BankAccount,
    Deposit,
    ReconciliationBreak,
    ReconciliationRun,
    Withdrawal,
)
from payments.services import (
    deposit_credit,
    parked_deposits_release,
    reconciliation_break_resolve,
    withdrawal_approve,
    withdrawal_request,
)
from wallets.services import wallet_open
from wallets.tests.factories import assert_ledger_sound, fund

from .conftest import IBAN_OK, approved_client
from .factories import approved_deposit

WITHDRAWAL_QUEUES = {WITHDRAWAL_FINANCE, WITHDRAWAL_COMPLIANCE}
_rows = itertools.count(1)


def _fetch(key: str, user, limit: int = 50) -> registry.QueueFetch:
    queue = registry.queue(key)
    return queue.fetch(scope_for(user, queue.perm), limit)


def _item(key: str, user, object_id) -> registry.WorkItem | None:
    queue = registry.queue(key)
    return queue.item(scope_for(user, queue.perm), str(object_id))


def _uk_client(world):
    profile = register(
        world.uk_brand,
        given_name="Oliver",
        family_name="Smith",
        residence_country="GB",
        nationality="GB",
        email="oliver.smith@example.co.uk",
        phone="+44 7911 123456",
        document=DocumentInput("passport", "GB1234567", "GB"),
        device_fingerprint="dev-oliver-0001",
    ).profile
    KycFile.objects.unscoped().update_or_create(
        profile=profile,
        defaults=dict(
            entity_id=profile.entity_id, status=KycFile.Status.APPROVED, risk_level="low"
        ),
    )
    return profile


def _pending_row(profile, amount: str, approval: str, currency: str = "EUR") -> Withdrawal:
    """A withdrawal waiting for approval, as the request leaves it (no money moved: for the
    tests about who sees what, not about the ledger)."""
    number = next(_rows)
    return Withdrawal.objects.create(
        entity_id=profile.entity_id,
        profile=profile,
        wallet=wallet_open(profile=profile, currency=currency),
        amount=Decimal(amount),
        currency=currency,
        payout_currency=currency,
        approval_needed=approval,
        requested_label="test",
        idempotency_key=f"row-{number}",
        request_hash="row",
    )


@pytest.fixture
def queue_world(payments_world):
    """An EU client with a withdrawal within the finance limit and one above it (both
    requested through the service, their legs held), and a UK withdrawal."""
    world = payments_world
    world.client = approved_client(world, risk="medium")
    fund(wallet_open(profile=world.client, currency="EUR"), "25000")
    BankAccount.objects.create(
        entity=world.eu, profile=world.client, iban=IBAN_OK, holder="Ivan Petrov", verified=True
    )
    world.medium = withdrawal_request(
        actor=SYSTEM, profile=world.client, amount="5000", currency="EUR", idempotency_key="q-5k"
    )
    world.large = withdrawal_request(
        actor=SYSTEM, profile=world.client, amount="15000", currency="EUR", idempotency_key="q-15k"
    )
    assert (world.medium.approval_needed, world.large.approval_needed) == (
        "finance",
        "finance_compliance",
    )
    world.uk_client = _uk_client(world)
    world.uk_withdrawal = _pending_row(world.uk_client, "2500", "finance", currency="GBP")
    return world


def test_finance_sees_its_entitys_withdrawals_at_the_finance_level_only(queue_world):
    world = queue_world
    finance = _fetch(WITHDRAWAL_FINANCE, world.eu_finance)
    assert finance.count == 2
    assert [(item.object_id, item.priority) for item in finance.items] == [
        (str(world.large.pk), registry.PRIORITY_HIGH),  # above the finance limit
        (str(world.medium.pk), registry.PRIORITY_NORMAL),
    ]
    large = finance.items[0]
    assert large.title == "Ivan Petrov: withdrawal of 15,000.00 EUR"
    assert large.detail.startswith("Finance approval · finance and compliance · risk medium")
    assert (large.entity_id, large.person_id) == (world.eu.pk, world.client.person_id)
    assert large.opened_at == world.large.created_at
    assert large.url == f"/admin/payments/withdrawal/{world.large.pk}/change/"
    # Finance holds no compliance approval: that queue is not theirs.
    keys = {queue.key for queue in queues_for(world.eu_finance)}
    assert WITHDRAWAL_FINANCE in keys
    assert WITHDRAWAL_COMPLIANCE not in keys
    compliance = _fetch(WITHDRAWAL_COMPLIANCE, world.eu_compliance)
    assert [item.object_id for item in compliance.items] == [str(world.large.pk)]
    assert WITHDRAWAL_FINANCE not in {queue.key for queue in queues_for(world.eu_compliance)}
    assert_ledger_sound(world.eu)


def test_other_entities_support_and_oversight_see_no_eu_withdrawals(queue_world):
    world = queue_world
    uk = _fetch(WITHDRAWAL_FINANCE, world.uk_finance)
    assert (uk.count, [item.object_id for item in uk.items]) == (1, [str(world.uk_withdrawal.pk)])
    assert uk.items[0].title == "Oliver Smith: withdrawal of 2,500.00 GBP"
    assert _fetch(WITHDRAWAL_COMPLIANCE, world.uk_compliance).count == 0
    assert _item(WITHDRAWAL_FINANCE, world.uk_finance, world.large.pk) is None
    assert _item(WITHDRAWAL_COMPLIANCE, world.uk_compliance, world.large.pk) is None
    # Support approves nothing; group oversight views every entity but decides no withdrawal.
    for user in (world.eu_support, world.group_compliance):
        assert not WITHDRAWAL_QUEUES & {queue.key for queue in queues_for(user)}
        assert _fetch(WITHDRAWAL_FINANCE, user).count == 0
    # A scope over the whole group (the superuser's) covers every entity's withdrawals.
    everything = _fetch(WITHDRAWAL_FINANCE, world.superuser)
    assert {item.entity_id for item in everything.items} == {world.eu.pk, world.uk.pk}
    assert everything.count == 3


def test_a_withdrawal_leaves_each_queue_once_that_level_has_approved(queue_world):
    world = queue_world
    assert _item(WITHDRAWAL_FINANCE, world.eu_finance, world.large.pk) is not None
    withdrawal_approve(actor=world.eu_finance_2, withdrawal=world.large, reason="wire checked")
    assert _item(WITHDRAWAL_FINANCE, world.eu_finance, world.large.pk) is None
    waiting = _item(WITHDRAWAL_COMPLIANCE, world.eu_compliance, world.large.pk)
    assert waiting is not None
    assert "finance approved" in waiting.detail
    assert _fetch(WITHDRAWAL_FINANCE, world.eu_finance).count == 1
    withdrawal_approve(
        actor=world.eu_compliance, withdrawal=world.large, reason="source of funds documented"
    )
    assert _item(WITHDRAWAL_COMPLIANCE, world.eu_compliance, world.large.pk) is None
    assert _fetch(WITHDRAWAL_COMPLIANCE, world.eu_compliance).count == 0
    assert _item(WITHDRAWAL_FINANCE, world.eu_finance, "not-a-number") is None
    assert_ledger_sound(world.eu)


def test_due_times_follow_each_entitys_sla_rule_set(queue_world):
    world = queue_world
    ruleset_publish(
        actor=SYSTEM,
        entity=world.uk,
        kind="sla",
        document={"default_hours": 48, "hours": {WITHDRAWAL_FINANCE: 4}},
        effective_from=timezone.now() - timedelta(minutes=1),
    )
    uk = _item(WITHDRAWAL_FINANCE, world.uk_finance, world.uk_withdrawal.pk)
    assert uk.due_at == world.uk_withdrawal.created_at + timedelta(hours=4)
    # The EU published none: the product's default for the queue (8 h) applies.
    eu = _item(WITHDRAWAL_FINANCE, world.eu_finance, world.medium.pk)
    assert eu.due_at == world.medium.created_at + timedelta(hours=8)
    compliance = _item(WITHDRAWAL_COMPLIANCE, world.eu_compliance, world.large.pk)
    assert compliance.due_at == world.large.created_at + timedelta(hours=24)


@pytest.mark.parametrize("rows", [5, 30])
def test_fetching_a_queue_takes_the_same_few_queries_whatever_its_length(
    payments_world, rows, django_assert_max_num_queries
):
    world = payments_world
    profile = approved_client(world)
    for number in range(rows):
        _pending_row(profile, str(2000 + number), "finance")
        approved_deposit(world, profile, "100", status="parked")
    run = ReconciliationRun.objects.create(
        entity=world.eu, merchant_account=world.merchants["eu-cards-1"], day=timezone.now().date()
    )
    ReconciliationBreak.objects.bulk_create(
        ReconciliationBreak(
            entity=world.eu,
            run=run,
            kind="missing_callback",
            psp_transaction_id=f"tx-{number}",
            currency="EUR",
            settled_amount=Decimal("10"),
        )
        for number in range(rows)
    )
    scope = scope_for(world.eu_finance, "payments.approve_withdrawal")
    break_scope = scope_for(world.eu_finance, "payments.resolve_reconciliationbreak")
    parked_scope = scope_for(world.eu_finance, "payments.override_deposit")
    for key, queue_scope in (
        (WITHDRAWAL_FINANCE, scope),
        (RECONCILIATION_BREAK, break_scope),
        (PARKED_DEPOSIT, parked_scope),
    ):
        with django_assert_max_num_queries(3):
            fetched = registry.queue(key).fetch(queue_scope, 50)
        assert (fetched.count, len(fetched.items)) == (rows, rows)
        with django_assert_max_num_queries(1):
            assert registry.queue(key).fetch(queue_scope, 0) == registry.QueueFetch(rows, [])


def test_reconciliation_breaks_oldest_and_largest_first_until_resolved(payments_world):
    world = payments_world
    run = ReconciliationRun.objects.create(
        entity=world.eu,
        merchant_account=world.merchants["eu-cards-1"],
        day=timezone.now().date() - timedelta(days=4),
    )
    old = ReconciliationBreak.objects.create(
        entity=world.eu,
        run=run,
        kind="amount_mismatch",
        psp_transaction_id="tx-old",
        currency="EUR",
        settled_amount=Decimal("120.00"),
        ledger_amount=Decimal("100.00"),
        detail="fee taken twice",
    )
    ReconciliationBreak.objects.unscoped().filter(pk=old.pk).update(
        created_at=timezone.now() - timedelta(days=4)
    )
    new = ReconciliationBreak.objects.create(
        entity=world.eu,
        run=run,
        kind="missing_callback",
        psp_transaction_id="tx-new",
        currency="EUR",
        settled_amount=Decimal("50.00"),
    )
    fetched = _fetch(RECONCILIATION_BREAK, world.eu_finance)
    assert [(item.object_id, item.priority) for item in fetched.items] == [
        (str(old.pk), registry.PRIORITY_HIGH),
        (str(new.pk), registry.PRIORITY_NORMAL),
    ]
    first = fetched.items[0]
    assert first.title == (
        f"eu-cards-1 {run.day.isoformat()}: Amount differs, settled 120.00 EUR vs ledger 100.00 EUR"
    )
    assert first.detail == "tx-old · fee taken twice"
    assert first.person_id is None
    assert first.due_at == first.opened_at + timedelta(hours=24)
    assert _fetch(RECONCILIATION_BREAK, world.uk_finance).count == 0
    assert _item(RECONCILIATION_BREAK, world.uk_finance, old.pk) is None
    assert RECONCILIATION_BREAK not in {queue.key for queue in queues_for(world.eu_support)}
    reconciliation_break_resolve(
        actor=world.eu_finance, item=old, note="PSP refunded the fee", adjustment="20.00"
    )
    assert _item(RECONCILIATION_BREAK, world.eu_finance, old.pk) is None
    assert _fetch(RECONCILIATION_BREAK, world.eu_finance).count == 1
    assert_ledger_sound(world.eu)


def test_a_parked_deposit_waits_in_finances_queue_until_kyc_releases_it(payments_world):
    world = payments_world
    profile = register(world.eu_brand).profile  # KYC not approved: deposits are parked
    deposit, attempt = approved_deposit(world, profile, "300", alternatives=["parked"])
    assert (
        deposit_credit(
            attempt=attempt,
            psp_transaction_id=attempt.psp_transaction_id,
            amount=Decimal("300"),
            currency="EUR",
        )
        == "parked"
    )
    deposit.refresh_from_db()
    item = _item(PARKED_DEPOSIT, world.eu_finance, deposit.pk)
    assert item.title == "Ivan Petrov: deposit of 300.00 EUR parked until KYC approval"
    assert (item.opened_at, item.person_id) == (deposit.updated_at, profile.person_id)
    assert item.due_at == deposit.updated_at + timedelta(hours=48)
    assert _item(PARKED_DEPOSIT, world.uk_finance, deposit.pk) is None
    assert _fetch(PARKED_DEPOSIT, world.uk_finance).count == 0
    KycFile.objects.unscoped().update_or_create(
        profile=profile,
        defaults=dict(entity_id=profile.entity_id, status=KycFile.Status.APPROVED),
    )
    assert parked_deposits_release() == 1
    assert Deposit.objects.unscoped().get(pk=deposit.pk).status == "credited"
    assert _item(PARKED_DEPOSIT, world.eu_finance, deposit.pk) is None
    assert _fetch(PARKED_DEPOSIT, world.eu_finance).count == 0
    assert_ledger_sound(world.eu)


def test_my_work_lists_the_finance_officers_withdrawals(queue_world):
    world = queue_world
    client = Client()
    client.force_login(world.eu_finance)
    response = client.get("/admin/work/")
    assert response.status_code == 200
    page = response.content.decode()
    assert "Ivan Petrov: withdrawal of 15,000.00 EUR" in page
    assert "Ivan Petrov: withdrawal of 5,000.00 EUR" in page
    assert "Oliver Smith" not in page
    assert f"/admin/payments/withdrawal/{world.large.pk}/change/" in page
    only = client.get("/admin/work/", {"queue": WITHDRAWAL_COMPLIANCE})
    assert only.status_code == 200
    assert "Ivan Petrov: withdrawal" not in only.content.decode()
