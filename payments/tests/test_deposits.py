"""Routing, attempts, retries and fallback against the PSP simulator; webhooks credit once."""

from __future__ import annotations

import json
import time
from decimal import Decimal

import pytest
from django.db import IntegrityError
from rest_framework.test import APIClient

from brokercrm.errors import ApplicationError
from brokercrm.gate import SYSTEM
from brokercrm.signing import SIGNATURE_HEADER, webhook_sign
from identity.tests.factories import register
from payments.models import Deposit, DepositAttempt, PaymentMethod, RoutingTarget, WebhookEvent
from payments.services import (
    CrossEntityRoute,
    NoRoute,
    deposit_create,
    psp_webhooks_process,
    route_for,
    routing_rule_set,
)
from payments.services.deposits import DepositRefused
from wallets.models import LedgerAccount
from wallets.tests.factories import assert_ledger_sound

from .conftest import CARD_HARD, CARD_OK, CARD_SOFT, SECRET, approved_client, configure_simulator
from .factories import approved_deposit


@pytest.mark.parametrize(
    ("entity", "country", "currency", "method", "amount", "expected"),
    [
        ("eu", "DE", "EUR", "card", "100", ["eu-cards-1", "eu-cards-2"]),
        ("eu", "CY", "EUR", "card", "100", ["eu-cards-1", "eu-cards-2"]),
        ("eu", "DE", "USD", "card", "100", ["eu-cards-1"]),
        ("eu", "CY", "USD", "card", "100", "no_route"),  # USD cards only for DE/FR
        ("eu", "DE", "USD", "card", "9000", "no_route"),  # above the rule's range
        ("eu", "DE", "EUR", "sofort", "100", ["eu-sofort-1"]),
        ("eu", "FR", "EUR", "sofort", "100", "no_route"),  # no Sofort in France
        ("eu", "DE", "GBP", "card", "100", "no_route"),
        ("eu", "DE", "EUR", "bank_wire", "100", ["eu-bank-1"]),
        ("uk", "GB", "GBP", "card", "100", ["uk-cards-1"]),
        ("uk", "GB", "EUR", "card", "100", "no_route"),  # EU's accounts are never offered
        ("uk", "DE", "GBP", "card", "100", "no_route"),
    ],
)
def test_routing_matrix(payments_world, entity, country, currency, method, amount, expected):
    entity_obj = getattr(payments_world, entity)
    payment_method = PaymentMethod.objects.get(code=method)
    if expected == "no_route":
        with pytest.raises(NoRoute):
            route_for(
                entity_id=entity_obj.pk,
                country=country,
                currency=currency,
                method=payment_method,
                amount=Decimal(amount),
            )
        return
    route = route_for(
        entity_id=entity_obj.pk,
        country=country,
        currency=currency,
        method=payment_method,
        amount=Decimal(amount),
    )
    codes = [m.code for _family, merchants in route.families for m in merchants]
    assert codes == expected
    assert {m.entity_id for _f, ms in route.families for m in ms} == {entity_obj.pk}


def test_a_route_to_another_entitys_merchant_is_refused(payments_world):
    card = PaymentMethod.objects.get(code="card")
    with pytest.raises(CrossEntityRoute):
        routing_rule_set(
            actor=SYSTEM,
            entity=payments_world.uk,
            name="bad",
            countries=["GB"],
            currency="EUR",
            method=card,
            merchant_accounts=[payments_world.merchants["eu-cards-1"]],
        )
    # And the database refuses it even when the service is bypassed.
    rule = routing_rule_set(
        actor=SYSTEM,
        entity=payments_world.uk,
        name="ok",
        countries=["GB"],
        currency="USD",
        method=card,
        merchant_accounts=[payments_world.merchants["uk-cards-1"]],
    )
    with pytest.raises(IntegrityError):
        RoutingTarget.objects.create(
            entity=payments_world.uk,
            rule=rule,
            position=9,
            merchant_account=payments_world.merchants["eu-cards-1"],
        )


def test_soft_declines_are_retried_in_the_family_then_a_local_method_is_offered(
    payments_world, psp_simulator
):
    configure_simulator(payments_world, psp_simulator, "http://127.0.0.1:9")
    profile = approved_client(payments_world)
    deposit = deposit_create(
        actor=SYSTEM,
        profile=profile,
        amount="100.00",
        currency="EUR",
        method="card",
        instrument={"card_number": CARD_SOFT},
        idempotency_key="d-soft",
    )
    attempts = list(DepositAttempt.objects.unscoped().filter(deposit=deposit).order_by("number"))
    # One attempt and the two configured retries, alternating the family's two accounts.
    assert [(a.merchant_account.code, a.decline_code, a.decline_category) for a in attempts] == [
        ("eu-cards-1", "insufficient_funds", "soft"),
        ("eu-cards-2", "insufficient_funds", "soft"),
        ("eu-cards-1", "insufficient_funds", "soft"),
    ]
    assert (deposit.status, deposit.decline_code, deposit.alternatives) == (
        "failed",
        "insufficient_funds",
        ["sofort"],
    )
    assert deposit.journal_id is None
    assert LedgerAccount.objects.unscoped().get(pk=deposit.wallet_id).balance == 0
    assert_ledger_sound(payments_world.eu)


def test_a_hard_decline_is_not_retried(payments_world, psp_simulator):
    configure_simulator(payments_world, psp_simulator, "http://127.0.0.1:9")
    profile = approved_client(payments_world)
    deposit = deposit_create(
        actor=SYSTEM,
        profile=profile,
        amount="100.00",
        currency="EUR",
        method="card",
        instrument={"card_number": CARD_HARD},
        idempotency_key="d-hard",
    )
    assert (deposit.status, deposit.decline_code) == ("declined", "stolen_card")
    assert DepositAttempt.objects.unscoped().filter(deposit=deposit).count() == 1


def test_bad_deposit_requests_are_refused_with_codes(payments_world):
    profile = approved_client(payments_world)
    cases = [
        ({"amount": "-1"}, "amount_invalid"),
        ({"amount": "10.001"}, "amount_invalid"),
        ({"method": "paypal"}, "method_unknown"),
        ({"instrument": {}}, "instrument_invalid"),
        ({"currency": "GBP"}, "no_route"),
    ]
    for change, code in cases:
        args = {
            "actor": SYSTEM,
            "profile": profile,
            "amount": "10",
            "currency": "EUR",
            "method": "card",
            "instrument": {"card_number": CARD_OK},
            "idempotency_key": f"bad-{code}",
            **change,
        }
        with pytest.raises(ApplicationError) as caught:
            deposit_create(**args)
        assert getattr(caught.value, "code", None) == code, (change, caught.value)
    assert not Deposit.objects.unscoped().exists()


def test_before_kyc_deposits_are_parked_up_to_the_cap(payments_world, psp_simulator):
    configure_simulator(payments_world, psp_simulator, "http://127.0.0.1:9")
    profile = register(payments_world.eu_brand).profile  # no KYC yet
    with pytest.raises(DepositRefused) as caught:
        deposit_create(
            actor=SYSTEM,
            profile=profile,
            amount="600",
            currency="EUR",
            method="card",
            instrument={"card_number": CARD_OK},
            idempotency_key="p-1",
        )
    assert caught.value.code == "park_cap_exceeded"
    deposit = deposit_create(
        actor=SYSTEM,
        profile=profile,
        amount="400",
        currency="EUR",
        method="card",
        instrument={"card_number": CARD_OK},
        idempotency_key="p-2",
    )
    assert deposit.status == "authorised"
    assert deposit.alternatives == ["parked"]


# --- webhooks --------------------------------------------------------------------------------


def _authorised_deposit(world, amount="250.00"):
    """A deposit whose attempt the PSP approved, waiting for its webhook (no simulator)."""
    return approved_deposit(world, approved_client(world), amount, psp_transaction_id="tx_1")


def _event(attempt, *, amount="250.00", event_id="evt_1", kind="payment.succeeded"):
    return {
        "id": event_id,
        "type": kind,
        "created": int(time.time()),
        "data": {
            "psp_transaction_id": "tx_1",
            "reference": attempt.reference,
            "merchant_account": "eu-cards-1",
            "kind": "payment",
            "amount": amount,
            "currency": "EUR",
            "status": "approved",
            "decline_code": None,
        },
    }


def _deliver(body: bytes, header: str | None, merchant: str = "eu-cards-1"):
    headers = {SIGNATURE_HEADER: header} if header else {}
    return APIClient().post(
        f"/api/v1/webhooks/psp/{merchant}", body, content_type="application/json", headers=headers
    )


def test_a_verified_webhook_credits_the_wallet_from_psp_clearing(payments_world):
    deposit, attempt = _authorised_deposit(payments_world)
    body = json.dumps(_event(attempt)).encode()
    response = _deliver(body, webhook_sign(secret=SECRET, body=body))
    assert (response.status_code, response.json()) == (200, {"status": "accepted"})
    # Acknowledged at once, acted on by the worker.
    assert LedgerAccount.objects.unscoped().get(pk=deposit.wallet_id).balance == 0
    assert psp_webhooks_process() == 1
    assert WebhookEvent.objects.unscoped().get().outcome == "credited"
    deposit.refresh_from_db()
    assert deposit.status == "credited"
    assert LedgerAccount.objects.unscoped().get(pk=deposit.wallet_id).balance == Decimal("250")
    clearing = LedgerAccount.objects.unscoped().get(
        entity=payments_world.eu, kind="psp_clearing", currency="EUR"
    )
    assert clearing.balance == Decimal("-250")
    assert_ledger_sound(payments_world.eu)


@pytest.mark.parametrize(
    ("fault", "status", "code"),
    [
        ("tampered", 401, "signature_invalid"),
        ("stale", 401, "signature_stale"),
        ("missing", 401, "signature_missing"),
        ("other_merchant_secret", 401, "signature_invalid"),
        ("unknown_merchant", 404, "merchant_unknown"),
    ],
)
def test_bad_webhooks_are_refused_and_credit_nothing(payments_world, fault, status, code, caplog):
    deposit, attempt = _authorised_deposit(payments_world)
    body = json.dumps(_event(attempt)).encode()
    timestamp = int(time.time()) - 400 if fault == "stale" else None
    secret = "another-secret" if fault == "other_merchant_secret" else SECRET
    header = webhook_sign(secret=secret, body=body, timestamp=timestamp)
    if fault == "tampered":
        body = body.replace(b"250.00", b"950.00")
    response = _deliver(
        body,
        None if fault == "missing" else header,
        merchant="nobody" if fault == "unknown_merchant" else "eu-cards-1",
    )
    assert (response.status_code, response.json()["code"]) == (status, code)
    assert LedgerAccount.objects.unscoped().get(pk=deposit.wallet_id).balance == 0
    assert not WebhookEvent.objects.unscoped().exists()
    if status == 401:
        assert any(code in message for message in caplog.messages)


def test_a_replayed_delivery_is_refused(payments_world, caplog):
    deposit, attempt = _authorised_deposit(payments_world)
    body = json.dumps(_event(attempt)).encode()
    header = webhook_sign(secret=SECRET, body=body)
    assert _deliver(body, header).json() == {"status": "accepted"}
    replay = _deliver(body, header)
    assert (replay.status_code, replay.json()) == (200, {"status": "replayed"})
    assert psp_webhooks_process() == 1
    assert LedgerAccount.objects.unscoped().get(pk=deposit.wallet_id).balance == Decimal("250")
    assert any("verbatim" in message for message in caplog.messages)


def test_a_thousand_duplicate_deliveries_credit_once(payments_world):
    deposit, attempt = _authorised_deposit(payments_world)
    body = json.dumps(_event(attempt)).encode()
    outcomes: dict[str, int] = {}
    for i in range(1000):
        # Re-signed per delivery as a PSP does; some share a second, hence a signature. The
        # age is taken from the moment of sending, so a slow machine never makes them stale.
        sent = int(time.time()) - i % 250
        response = _deliver(body, webhook_sign(secret=SECRET, body=body, timestamp=sent))
        key = response.json().get("status") or response.json()["code"]
        outcomes[key] = outcomes.get(key, 0) + 1
    assert outcomes["accepted"] == 1
    assert outcomes["accepted"] + outcomes.get("duplicate", 0) + outcomes.get("replayed", 0) == 1000
    assert psp_webhooks_process() == 1
    assert psp_webhooks_process() == 0
    assert LedgerAccount.objects.unscoped().get(pk=deposit.wallet_id).balance == Decimal("250")
    assert WebhookEvent.objects.unscoped().get().deliveries == 1000
    assert_ledger_sound(payments_world.eu)


def test_a_webhook_with_another_amount_credits_nothing(payments_world):
    deposit, attempt = _authorised_deposit(payments_world)
    body = json.dumps(_event(attempt, amount="999.00")).encode()
    response = _deliver(body, webhook_sign(secret=SECRET, body=body))
    assert response.json() == {"status": "accepted"}
    psp_webhooks_process()
    assert WebhookEvent.objects.unscoped().get().outcome == "amount_mismatch"
    assert LedgerAccount.objects.unscoped().get(pk=deposit.wallet_id).balance == 0


@pytest.mark.django_db(transaction=True)
def test_deposit_end_to_end_through_the_simulator_and_its_webhook(
    payments_world, psp_simulator, live_server, eager_tasks
):
    configure_simulator(payments_world, psp_simulator, live_server.url, duplicate_rate=1.0)
    profile = approved_client(payments_world)
    deposit = deposit_create(
        actor=SYSTEM,
        profile=profile,
        amount="150.00",
        currency="EUR",
        method="card",
        instrument={"card_number": CARD_OK},
        idempotency_key="e2e-1",
    )
    assert deposit.status == "authorised"
    deadline = time.monotonic() + 15
    while time.monotonic() < deadline:
        deposit.refresh_from_db()
        if (
            deposit.status == "credited"
            and WebhookEvent.objects.unscoped().filter(deliveries=2).exists()
        ):
            break
        time.sleep(0.1)
    assert deposit.status == "credited"
    assert LedgerAccount.objects.unscoped().get(pk=deposit.wallet_id).balance == Decimal("150")
    assert WebhookEvent.objects.unscoped().get().deliveries == 2  # the duplicate was counted
    # The same request again answers with the same deposit.
    again = deposit_create(
        actor=SYSTEM,
        profile=profile,
        amount="150.00",
        currency="EUR",
        method="card",
        instrument={"card_number": CARD_OK},
        idempotency_key="e2e-1",
    )
    assert again.pk == deposit.pk
    assert_ledger_sound(payments_world.eu)


def test_a_batch_of_events_is_acted_on_in_one_pass(payments_world):
    # Given three authorised deposits of one client and their confirmations, one with a wrong
    # amount, one confirmed twice under two event ids, and a decline for an unknown attempt
    profile = approved_client(payments_world)
    attempts = [
        approved_deposit(payments_world, profile, amount, psp_transaction_id=f"tx-b{i}")[1]
        for i, amount in enumerate(["10.00", "20.00", "30.00"])
    ]
    wallet = attempts[0].deposit.wallet
    events = []
    for i, (attempt, amount) in enumerate(zip(attempts, ["10.00", "25.00", "30.00"], strict=True)):
        event = _event(attempt, amount=amount, event_id=f"evt-b{i}")
        event["data"]["psp_transaction_id"] = f"tx-b{i}"
        events.append(event)
    twin = json.loads(json.dumps(events[2]))
    twin["id"] = "evt-b2-again"
    decline = _event(attempts[0], event_id="evt-decline", kind="payment.declined")
    decline["data"]["reference"] = "dep0-9"
    for event in [*events, twin, decline]:
        body = json.dumps(event).encode()
        assert _deliver(body, webhook_sign(secret=SECRET, body=body)).json() == {
            "status": "accepted"
        }
    # When the worker acts on them
    assert psp_webhooks_process() == 5
    # Then each is credited at most once, and every event says what happened to it
    assert dict(WebhookEvent.objects.unscoped().values_list("event_id", "outcome")) == {
        "evt-b0": "credited",
        "evt-b1": "amount_mismatch",
        "evt-b2": "credited",
        "evt-b2-again": "already_credited",
        "evt-decline": "ignored",
    }
    assert LedgerAccount.objects.unscoped().get(pk=wallet.pk).balance == Decimal("40")
    assert list(
        Deposit.objects.unscoped()
        .filter(profile=profile)
        .order_by("pk")
        .values_list("status", flat=True)
    ) == ["credited", "authorised", "credited"]
    assert_ledger_sound(payments_world.eu)


def test_a_parked_deposit_is_held_until_kyc_approval_then_released(payments_world):
    from datetime import timedelta

    from django.utils import timezone

    from kyc.models import KycFile
    from payments.services import parked_deposits_release

    # Given a client without KYC whose deposit was parked (entity rule: park up to a cap)
    profile = register(payments_world.eu_brand).profile
    deposit, attempt = approved_deposit(
        payments_world, profile, "300", psp_transaction_id="tx_1", alternatives=["parked"]
    )
    wallet = deposit.wallet
    # When the PSP confirms it
    body = json.dumps(_event(attempt, amount="300.00")).encode()
    _deliver(body, webhook_sign(secret=SECRET, body=body))
    psp_webhooks_process()
    # Then it is credited but held: nothing available to spend or withdraw
    deposit.refresh_from_db()
    wallet.refresh_from_db()
    assert (deposit.status, wallet.balance, wallet.held) == (
        "parked",
        Decimal("300"),
        Decimal("300"),
    )
    assert parked_deposits_release() == 0  # KYC still not approved
    # And once KYC is approved, the release job frees it, once
    KycFile.objects.unscoped().update_or_create(
        profile=profile,
        defaults=dict(
            entity=payments_world.eu,
            status="approved",
            risk_level="low",
            earliest_withdrawal_at=timezone.now() - timedelta(hours=1),
        ),
    )
    assert parked_deposits_release() == 1
    assert parked_deposits_release() == 0
    deposit.refresh_from_db()
    wallet.refresh_from_db()
    assert (deposit.status, wallet.balance, wallet.held) == (
        "credited",
        Decimal("300"),
        Decimal("0"),
    )
    assert_ledger_sound(payments_world.eu)


@pytest.mark.django_db(transaction=True)
def test_two_workers_acting_on_the_inbox_at_once_credit_each_deposit_once(payments_world):
    import threading

    from django.db import connections

    profile = approved_client(payments_world)
    for i in range(120):
        _deposit, attempt = approved_deposit(payments_world, profile, "5.00")
        body = json.dumps(
            {
                **_event(attempt, amount="5.00", event_id=f"evt-c{i}"),
                "data": {
                    **_event(attempt, amount="5.00")["data"],
                    "psp_transaction_id": attempt.psp_transaction_id,
                },
            }
        ).encode()
        assert _deliver(body, webhook_sign(secret=SECRET, body=body)).json()["status"] == "accepted"
    done: list[int] = []
    start = threading.Barrier(2)

    def work() -> None:
        start.wait()
        try:
            done.append(psp_webhooks_process(batch=25))
        finally:
            connections.close_all()

    threads = [threading.Thread(target=work) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert sum(done) == 120
    assert set(WebhookEvent.objects.unscoped().values_list("outcome", flat=True)) == {"credited"}
    wallet = LedgerAccount.objects.unscoped().get(profile=profile, currency="EUR")
    assert wallet.balance == Decimal("600")
    assert_ledger_sound(payments_world.eu)
