"""Reconciliation of the simulator's settlement report against our ledger, with faults."""

from __future__ import annotations

import time
from decimal import Decimal

import pytest
from django.utils import timezone

from brokercrm.gate import SYSTEM
from brokercrm.httpjson import json_request
from payments.models import Deposit, DepositAttempt, ReconciliationBreak
from payments.services import deposit_create, reconciliation_break_resolve, reconciliation_run
from wallets.models import JournalEntry, LedgerAccount
from wallets.services import JournalSpec, Line, journal_post, system_account
from wallets.tests.factories import assert_ledger_sound

from .conftest import CARD_OK, SECRET, approved_client


def _merchant(simulator, code, webhook_url, world):
    merchant = world.merchants[code]
    answer = json_request(
        "PUT",
        f"{simulator.url}/admin/merchants/{code}",
        body={
            "id": code,
            "webhook_url": webhook_url,
            "webhook_secret": SECRET,
            "currencies": merchant.currencies,
            "methods": merchant.methods,
            "approval_rate": 1.0,
            "fee_bps": 150,
        },
    )
    assert answer.ok, answer.body


def _deposit(profile, amount, key):
    deposit = deposit_create(
        actor=SYSTEM,
        profile=profile,
        amount=amount,
        currency="EUR",
        method="card",
        instrument={"card_number": CARD_OK},
        idempotency_key=key,
    )
    assert deposit.status == "authorised"
    return deposit


def _wait_credited(*deposits):
    deadline = time.monotonic() + 15
    while time.monotonic() < deadline:
        if all(Deposit.objects.unscoped().get(pk=d.pk).journal_id for d in deposits):
            return
        time.sleep(0.1)
    raise AssertionError("deposits were not credited")


def _psp_id(deposit):
    return (
        DepositAttempt.objects.unscoped().get(deposit=deposit, status="approved").psp_transaction_id
    )


@pytest.mark.django_db(transaction=True)
def test_reconciliation_is_clean_on_clean_data_and_finds_each_injected_fault(
    payments_world, psp_simulator, live_server, eager_tasks
):
    world = payments_world
    hook = f"{live_server.url}/api/v1/webhooks/psp/eu-cards-1"
    for code in ("eu-cards-1", "eu-cards-2"):
        _merchant(psp_simulator, code, hook.replace("eu-cards-1", code), world)
    merchant = world.merchants["eu-cards-1"]
    profile = approved_client(world)
    today = timezone.now().date()

    # Clean data: every settled line matches the ledger, nothing unexplained.
    clean = _deposit(profile, "100.00", "r-clean")
    duplicated = _deposit(profile, "200.00", "r-dup")
    mismatched = _deposit(profile, "300.00", "r-amount")
    _wait_credited(clean, duplicated, mismatched)
    run = reconciliation_run(merchant=merchant, day=today)
    assert (run.lines, run.matched, run.breaks) == (3, 3, 0)
    assert list(run.unexplained) == ["EUR"]
    assert all(Decimal(v) == 0 for v in run.unexplained.values())

    # Faults: a callback that never reaches us, a settlement line twice, a wrong amount, and a
    # credit booked under the other entity.
    _merchant(psp_simulator, "eu-cards-1", "http://127.0.0.1:9/nowhere", world)
    missing = _deposit(profile, "40.00", "r-missing")
    wrong_entity = _deposit(profile, "50.00", "r-wrong-entity")
    for fault in (
        {"kind": "duplicate_line", "psp_transaction_id": _psp_id(duplicated)},
        {"kind": "amount_mismatch", "psp_transaction_id": _psp_id(mismatched), "amount": "310.00"},
    ):
        answer = json_request(
            "POST", f"{psp_simulator.url}/admin/merchants/eu-cards-1/faults", body=fault
        )
        assert answer.ok, answer.body
    uk_clearing = system_account(entity=world.uk, kind="psp_clearing", currency="EUR")
    uk_suspense = system_account(entity=world.uk, kind="suspense", currency="EUR")
    journal_post(
        actor=SYSTEM,
        entity=world.uk,
        spec=JournalSpec(
            type="adjustment",
            idempotency_key="misbooked",
            lines=[Line(uk_clearing, Decimal("-50")), Line(uk_suspense, Decimal("50"))],
            reference=f"psp:eu-cards-1:{_psp_id(wrong_entity)}",
        ),
    )

    run = reconciliation_run(merchant=merchant, day=today)
    found = {
        (item.kind, item.psp_transaction_id)
        for item in ReconciliationBreak.objects.unscoped().filter(run=run)
    }
    assert found == {
        ("missing_callback", _psp_id(missing)),
        ("wrong_entity", _psp_id(wrong_entity)),
        ("duplicate", _psp_id(duplicated)),
        ("amount_mismatch", _psp_id(mismatched)),
    }
    assert run.matched == 2  # the clean deposit and the first line of the duplicated one
    assert all(Decimal(v) == 0 for v in run.unexplained.values())
    mismatch = ReconciliationBreak.objects.unscoped().get(run=run, kind="amount_mismatch")
    assert (mismatch.settled_amount, mismatch.ledger_amount) == (Decimal("310"), Decimal("300"))

    # Finance resolves the amount break with a correcting journal (audited); others cannot.
    with pytest.raises(Exception) as caught:  # noqa: PT011 - the code is asserted below
        reconciliation_break_resolve(
            actor=world.uk_finance, item=mismatch, note="x", adjustment="10"
        )
    assert caught.value.code == "permission_denied"
    resolved = reconciliation_break_resolve(
        actor=world.eu_finance,
        item=mismatch,
        note="PSP settled 10.00 more; booked to suspense",
        adjustment="10",
    )
    assert resolved.status == "resolved"
    journal = JournalEntry.objects.unscoped().get(pk=resolved.resolution_journal_id)
    assert journal.type == "adjustment"
    assert LedgerAccount.objects.unscoped().get(
        entity=world.eu, kind="suspense", currency="EUR"
    ).balance == Decimal("10")
    assert_ledger_sound(world.eu, world.uk)


def test_a_bad_adjustment_is_refused_and_leaves_the_break_open(payments_world):
    from payments.models import ReconciliationRun

    run = ReconciliationRun.objects.create(
        entity=payments_world.eu,
        merchant_account=payments_world.merchants["eu-cards-1"],
        day=timezone.now().date(),
    )
    item = ReconciliationBreak.objects.create(
        entity=payments_world.eu, run=run, kind="amount_mismatch", currency="EUR"
    )
    for adjustment in ("ten", "0", "1e-9"):
        with pytest.raises(Exception) as caught:  # noqa: PT011 - the code is asserted below
            reconciliation_break_resolve(
                actor=payments_world.eu_finance, item=item, note="x", adjustment=adjustment
            )
        assert caught.value.code == "amount_invalid"
    item.refresh_from_db()
    assert (item.status, item.resolution_journal_id) == ("open", None)
