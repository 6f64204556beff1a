"""Deposits a killed worker left `processing`: the sweep asks the PSP (the simulator process)
and finishes each once; the PSP's webhook then credits it once."""

from __future__ import annotations

import json
import logging
import threading
import time
from datetime import timedelta
from decimal import Decimal

import pytest
from django.db import connections
from django.utils import timezone
from rest_framework.test import APIClient

from audit.models import AuditEvent
from brokercrm.celery import app as celery_app
from brokercrm.gate import SYSTEM
from brokercrm.signing import SIGNATURE_HEADER, webhook_sign
from payments.gateway import HttpPspGateway
from payments.models import (
    Deposit,
    DepositAttempt,
    MerchantAccount,
    PaymentProvider,
    WebhookEvent,
)
from payments.services import deposit_create, deposits_stuck_resolve, gateway_for
from payments.services import deposits as deposits_module
from payments.services.webhooks import psp_webhooks_process
from payments.tasks import deposits_stuck_resolve_task
from wallets.models import LedgerAccount
from wallets.tests.factories import assert_ledger_sound

from .conftest import CARD_HARD, CARD_OK, CARD_SOFT, SECRET, approved_client, configure_simulator
from .factories import stuck_deposit

# The simulator's webhooks go nowhere: a test delivers the PSP's confirmation itself, when the
# story needs it (the worker died, the webhook is late).
NOWHERE = "http://127.0.0.1:9"


class WorkerKilled(BaseException):
    """The process dies: nothing after this point of the request runs."""


def _interrupted(world, profile, monkeypatch, *, card=CARD_OK, key="stuck-1", amount="100.00"):
    """A deposit whose worker died right after the PSP answered its first attempt."""

    def die(*_args, **_kwargs):
        raise WorkerKilled

    with monkeypatch.context() as patch:
        patch.setattr(deposits_module, "_attempt_set", die)
        with pytest.raises(WorkerKilled):
            deposit_create(
                actor=SYSTEM,
                profile=profile,
                amount=amount,
                currency="EUR",
                method="card",
                instrument={"card_number": card},
                idempotency_key=key,
            )
    deposit = Deposit.objects.unscoped().get(entity=world.eu, idempotency_key=key)
    assert deposit.status == "processing"
    assert list(
        DepositAttempt.objects.unscoped().filter(deposit=deposit).values_list("status", flat=True)
    ) == ["sent"]
    return deposit


def _age(deposit, minutes=20):
    past = timezone.now() - timedelta(minutes=minutes)
    Deposit.objects.unscoped().filter(pk=deposit.pk).update(created_at=past, updated_at=past)
    DepositAttempt.objects.unscoped().filter(deposit=deposit).update(created_at=past)


def _psp_confirms(attempt, event_id):
    """The PSP's payment.succeeded webhook for the attempt, as the PSP holds it, delivered."""
    found = gateway_for(attempt.merchant_account).transaction_by_reference(attempt.reference)
    event = {
        "id": event_id,
        "type": "payment.succeeded",
        "created": int(time.time()),
        "data": {
            "psp_transaction_id": found.psp_transaction_id,
            "reference": found.reference,
            "merchant_account": attempt.merchant_account.code,
            "kind": "payment",
            "amount": format(found.amount, "f"),
            "currency": found.currency,
            "status": found.status,
            "decline_code": None,
        },
    }
    body = json.dumps(event).encode()
    response = APIClient().post(
        f"/api/v1/webhooks/psp/{attempt.merchant_account.code}",
        body,
        content_type="application/json",
        headers={SIGNATURE_HEADER: webhook_sign(secret=SECRET, body=body)},
    )
    assert response.status_code == 200, response.content


def _audits(deposit, action):
    return AuditEvent.objects.filter(
        object_type="payments.Deposit", object_id=str(deposit.pk), action=action
    )


def _balance(deposit):
    return LedgerAccount.objects.unscoped().get(pk=deposit.wallet_id).balance


def test_a_deposit_interrupted_after_the_psp_approved_is_authorised_then_credited_once(
    payments_world, psp_simulator, monkeypatch
):
    # Given a deposit whose worker died after the PSP approved it, and whose webhook is late
    configure_simulator(payments_world, psp_simulator, NOWHERE)
    deposit = _interrupted(payments_world, approved_client(payments_world), monkeypatch)
    _age(deposit)
    # When the sweep runs
    sweep = deposits_stuck_resolve()
    # Then the attempt is approved with the PSP's transaction and the deposit authorised, audited
    assert sweep.as_dict() == {
        "authorised": 1,
        "failed": 0,
        "expired": 0,
        "waiting": 0,
        "skipped": 0,
        "errors": 0,
    }
    deposit.refresh_from_db()
    attempt = DepositAttempt.objects.unscoped().get(deposit=deposit)
    assert (deposit.status, deposit.decline_code, deposit.journal_id) == ("authorised", "", None)
    at_psp = gateway_for(attempt.merchant_account).transaction_by_reference(attempt.reference)
    assert (attempt.status, attempt.psp_transaction_id) == ("approved", at_psp.psp_transaction_id)
    audit = _audits(deposit, "payments.deposit_authorised").get()
    assert audit.after["resolved_by"] == "stuck_deposits_sweep"
    assert audit.after["attempts"] == {attempt.reference: "approved"}
    # And when the PSP's confirmation arrives, twice under two event ids, it credits once
    _psp_confirms(attempt, "evt-late-1")
    _psp_confirms(attempt, "evt-late-2")
    assert psp_webhooks_process() == 2
    assert dict(WebhookEvent.objects.unscoped().values_list("event_id", "outcome")) == {
        "evt-late-1": "credited",
        "evt-late-2": "already_credited",
    }
    deposit.refresh_from_db()
    assert deposit.status == "credited"
    assert _balance(deposit) == Decimal("100.00")
    # And sweeping again changes nothing
    assert deposits_stuck_resolve().authorised == 0
    assert _audits(deposit, "payments.deposit_authorised").count() == 1
    assert _balance(deposit) == Decimal("100.00")
    assert_ledger_sound(payments_world.eu)


def test_a_webhook_that_credited_a_stuck_deposit_first_leaves_nothing_to_sweep(
    payments_world, psp_simulator, monkeypatch
):
    # Given a deposit whose worker died, but whose webhook arrived and was acted on
    configure_simulator(payments_world, psp_simulator, NOWHERE)
    deposit = _interrupted(payments_world, approved_client(payments_world), monkeypatch)
    _psp_confirms(DepositAttempt.objects.unscoped().get(deposit=deposit), "evt-early")
    assert psp_webhooks_process() == 1
    _age(deposit)
    # When the sweep runs
    sweep = deposits_stuck_resolve()
    # Then it finds nothing to do and the deposit is credited once
    assert (sweep.authorised, sweep.failed, sweep.skipped) == (0, 0, 0)
    deposit.refresh_from_db()
    assert deposit.status == "credited"
    assert _balance(deposit) == Decimal("100.00")
    assert not _audits(deposit, "payments.deposit_authorised").exists()
    assert_ledger_sound(payments_world.eu)


@pytest.mark.parametrize(
    ("card", "code", "category"),
    [(CARD_HARD, "stolen_card", "hard"), (CARD_SOFT, "insufficient_funds", "soft")],
)
def test_a_deposit_interrupted_after_a_decline_fails_as_interrupted(
    payments_world, psp_simulator, monkeypatch, card, code, category
):
    # Given a deposit whose worker died after the PSP declined its attempt
    configure_simulator(payments_world, psp_simulator, NOWHERE)
    deposit = _interrupted(payments_world, approved_client(payments_world), monkeypatch, card=card)
    _age(deposit)
    # When the sweep runs
    sweep = deposits_stuck_resolve()
    # Then the decline is recorded and the deposit fails with the code, audited
    assert (sweep.authorised, sweep.failed) == (0, 1)
    attempt = DepositAttempt.objects.unscoped().get(deposit=deposit)
    assert (attempt.status, attempt.decline_code, attempt.decline_category) == (
        "declined",
        code,
        category,
    )
    deposit.refresh_from_db()
    assert (deposit.status, deposit.decline_code, deposit.journal_id) == (
        "failed",
        "interrupted",
        None,
    )
    assert deposit.alternatives == ["sofort"]
    audit = _audits(deposit, "payments.deposit_failed").get()
    assert audit.after["decline_code"] == "interrupted"
    assert audit.after["attempts"] == {attempt.reference: "declined"}
    assert _balance(deposit) == 0
    assert_ledger_sound(payments_world.eu)


def test_attempts_the_psp_never_received_fail_the_deposit_as_interrupted(
    payments_world, psp_simulator
):
    # Given a deposit killed before its attempt reached the PSP, one killed before its first
    # attempt was even made, and one whose soft decline was recorded before an unknown retry
    configure_simulator(payments_world, psp_simulator, NOWHERE)
    profile = approved_client(payments_world)
    never_sent = stuck_deposit(payments_world, profile, "20.00")
    no_attempt = stuck_deposit(payments_world, profile, "30.00", attempts=[])
    retried = stuck_deposit(payments_world, profile, "40.00", attempts=["declined", "unknown"])
    for deposit in (never_sent, no_attempt, retried):
        _age(deposit)
    # When the sweep runs
    sweep = deposits_stuck_resolve()
    # Then each fails as interrupted; an attempt the PSP does not know is closed as such
    assert (sweep.failed, sweep.waiting, sweep.errors) == (3, 0, 0)
    for deposit in (never_sent, no_attempt, retried):
        deposit.refresh_from_db()
        assert (deposit.status, deposit.decline_code) == ("failed", "interrupted")
    assert list(
        DepositAttempt.objects.unscoped()
        .filter(deposit__in=[never_sent, retried])
        .order_by("deposit_id", "number")
        .values_list("status", "decline_code")
    ) == [("declined", "not_at_psp"), ("declined", ""), ("declined", "not_at_psp")]


def test_an_unreachable_psp_leaves_the_deposit_for_a_later_sweep(
    payments_world, psp_simulator, monkeypatch
):
    # Given a deposit approved at the PSP whose worker died, and a PSP now unreachable
    configure_simulator(payments_world, psp_simulator, NOWHERE)
    deposit = _interrupted(payments_world, approved_client(payments_world), monkeypatch)
    _age(deposit)
    provider = PaymentProvider.objects.get(code="simpay")
    PaymentProvider.objects.filter(pk=provider.pk).update(base_url=NOWHERE)
    audits_before = AuditEvent.objects.count()
    # When the sweep runs
    sweep = deposits_stuck_resolve()
    # Then nothing changes
    assert (sweep.waiting, sweep.authorised, sweep.failed, sweep.errors) == (1, 0, 0, 0)
    deposit.refresh_from_db()
    assert deposit.status == "processing"
    assert list(
        DepositAttempt.objects.unscoped()
        .filter(deposit=deposit)
        .values_list("status", "psp_transaction_id")
    ) == [("sent", "")]
    assert AuditEvent.objects.count() == audits_before
    # And once the PSP answers again, the next sweep authorises it
    PaymentProvider.objects.filter(pk=provider.pk).update(base_url=provider.base_url)
    assert deposits_stuck_resolve().authorised == 1
    deposit.refresh_from_db()
    assert deposit.status == "authorised"


def test_a_recent_deposit_and_a_finished_one_are_left_alone(
    payments_world, psp_simulator, monkeypatch
):
    # Given a deposit interrupted a minute ago, one whose last attempt is recent although the
    # deposit is old, and a deposit the request finished normally (authorised) long ago
    configure_simulator(payments_world, psp_simulator, NOWHERE)
    profile = approved_client(payments_world)
    recent = _interrupted(payments_world, profile, monkeypatch, key="stuck-recent")
    _age(recent, minutes=1)
    retrying = stuck_deposit(payments_world, profile, "10.00", attempts=["declined", "sent"])
    _age(retrying)
    DepositAttempt.objects.unscoped().filter(deposit=retrying, number=2).update(
        created_at=timezone.now()
    )
    finished = deposit_create(
        actor=SYSTEM,
        profile=profile,
        amount="60.00",
        currency="EUR",
        method="card",
        instrument={"card_number": CARD_OK},
        idempotency_key="normal-1",
    )
    assert finished.status == "authorised"
    _age(finished)
    audits_before = AuditEvent.objects.count()
    # When the sweep runs
    sweep = deposits_stuck_resolve()
    # Then none of them is touched
    assert sweep.as_dict() == {
        "authorised": 0,
        "failed": 0,
        "expired": 0,
        "waiting": 0,
        "skipped": 0,
        "errors": 0,
    }
    assert [
        Deposit.objects.unscoped().get(pk=d.pk).status for d in (recent, retrying, finished)
    ] == ["processing", "processing", "authorised"]
    assert list(
        DepositAttempt.objects.unscoped()
        .filter(deposit__in=[recent, retrying])
        .order_by("deposit_id", "number")
        .values_list("status", flat=True)
    ) == ["sent", "declined", "sent"]
    assert AuditEvent.objects.count() == audits_before
    # And a shorter threshold does reach the one interrupted a minute ago
    assert deposits_stuck_resolve(older_than=timedelta(seconds=30)).authorised == 1


def test_a_missing_merchant_configuration_is_logged_and_skipped(
    payments_world, psp_simulator, monkeypatch, caplog
):
    # Given three stuck deposits: one on an account the PSP does not know (its configuration
    # there is missing), one on an account whose provider has no address configured with us,
    # and one approved at the PSP
    configure_simulator(payments_world, psp_simulator, NOWHERE)
    profile = approved_client(payments_world)
    simpay = PaymentProvider.objects.get(code="simpay")
    unaddressed = PaymentProvider.objects.create(code="nopay", name="No address", base_url="")
    for code, provider in (("eu-cards-9", simpay), ("eu-cards-x", unaddressed)):
        payments_world.merchants[code] = MerchantAccount.objects.create(
            entity=payments_world.eu,
            provider=provider,
            code=code,
            gateway_family="cards-a",
            currencies=["EUR"],
            methods=["card"],
            webhook_secret_env="",
        )
    unknown_at_psp = stuck_deposit(payments_world, profile, "10.00", merchant="eu-cards-9")
    no_address = stuck_deposit(payments_world, profile, "11.00", merchant="eu-cards-x")
    approved = _interrupted(payments_world, profile, monkeypatch)
    for deposit in (unknown_at_psp, no_address, approved):
        _age(deposit)
    # When the sweep runs
    with caplog.at_level(logging.INFO, logger="payments.services.deposit_recovery"):
        sweep = deposits_stuck_resolve()
    # Then the two are logged and left as they were, and the third is still resolved
    assert (sweep.authorised, sweep.waiting, sweep.errors) == (1, 1, 1)
    assert [
        Deposit.objects.unscoped().get(pk=d.pk).status
        for d in (unknown_at_psp, no_address, approved)
    ] == ["processing", "processing", "authorised"]
    assert any(
        "eu-cards-9" in r.getMessage() and "merchant_not_found" in r.getMessage()
        for r in caplog.records
    )
    assert any(
        r.levelno == logging.ERROR and str(no_address.pk) in r.getMessage() for r in caplog.records
    )


def test_the_task_runs_the_sweep_and_beat_schedules_it(payments_world, monkeypatch):
    # Given two stuck deposits on one merchant account whose PSP is unreachable
    # (payments_world's dead address)
    profile = approved_client(payments_world)
    stuck = [stuck_deposit(payments_world, profile, amount) for amount in ("10.00", "12.00")]
    for deposit in stuck:
        _age(deposit)
    asked = []
    lookup = HttpPspGateway.transaction_by_reference

    def counted(gateway, reference):
        asked.append(reference)
        return lookup(gateway, reference)

    monkeypatch.setattr(HttpPspGateway, "transaction_by_reference", counted)
    # When the task runs, it reports the sweep and changes nothing
    assert deposits_stuck_resolve_task() == {
        "authorised": 0,
        "failed": 0,
        "expired": 0,
        "waiting": 2,
        "skipped": 0,
        "errors": 0,
    }
    assert [Deposit.objects.unscoped().get(pk=d.pk).status for d in stuck] == ["processing"] * 2
    # And the silent PSP was asked once in the sweep, not once per deposit
    assert asked == [f"dep{stuck[0].pk}-1"]
    entry = celery_app.conf.beat_schedule["payments-stuck-deposits"]
    assert entry["task"] == "payments.tasks.deposits_stuck_resolve_task"
    assert deposits_stuck_resolve_task.acks_late is True
    assert deposits_stuck_resolve_task.max_retries == 3


@pytest.mark.django_db(transaction=True)
def test_two_sweeps_at_once_authorise_each_deposit_once_and_it_is_credited_once(
    payments_world, psp_simulator, monkeypatch
):
    # Given four deposits approved at the PSP whose worker died
    configure_simulator(payments_world, psp_simulator, NOWHERE)
    profile = approved_client(payments_world)
    stuck = [
        _interrupted(payments_world, profile, monkeypatch, key=f"stuck-{i}", amount="25.00")
        for i in range(4)
    ]
    for deposit in stuck:
        _age(deposit)
    results = []
    start = threading.Barrier(2)

    def sweep() -> None:
        start.wait()
        try:
            results.append(deposits_stuck_resolve())
        finally:
            connections.close_all()

    # When two sweeps run at once
    threads = [threading.Thread(target=sweep) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    # Then each deposit is authorised by exactly one of them, with one audit row
    assert sum(r.authorised for r in results) == 4
    assert sum(r.errors for r in results) == 0
    for deposit in stuck:
        deposit.refresh_from_db()
        assert deposit.status == "authorised"
        assert _audits(deposit, "payments.deposit_authorised").count() == 1
    # And the PSP's confirmations (each delivered twice) credit each deposit once
    for deposit in stuck:
        attempt = DepositAttempt.objects.unscoped().get(deposit=deposit)
        _psp_confirms(attempt, f"evt-{attempt.reference}-a")
        _psp_confirms(attempt, f"evt-{attempt.reference}-b")
    psp_webhooks_process()
    outcomes = sorted(WebhookEvent.objects.unscoped().values_list("outcome", flat=True))
    assert outcomes == ["already_credited"] * 4 + ["credited"] * 4
    wallet = LedgerAccount.objects.unscoped().get(profile=profile, currency="EUR")
    assert wallet.balance == Decimal("100.00")
    assert_ledger_sound(payments_world.eu)
