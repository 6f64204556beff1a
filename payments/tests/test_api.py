"""The payments API by persona: the entity's finance acts, other entities get 404, oversight
reads only, anonymous is refused; bad input gets codes."""

from __future__ import annotations

import pytest
from rest_framework.test import APIClient

from brokercrm.gate import SYSTEM
from payments.models import Withdrawal
from payments.services import withdrawal_request
from wallets.services import wallet_open
from wallets.tests.factories import fund

from .test_withdrawals import _bank, approved_client


def _client(user=None) -> APIClient:
    client = APIClient()
    if user is not None:
        client.force_authenticate(user)
    return client


@pytest.fixture
def pending(payments_world):
    profile = approved_client(payments_world)
    fund(wallet_open(profile=profile, currency="EUR"), "5000")
    _bank(payments_world, profile)
    return withdrawal_request(
        actor=SYSTEM, profile=profile, amount="2000", currency="EUR", idempotency_key="api-w"
    )


def test_withdrawal_queue_by_persona(payments_world, pending):
    url = f"/api/v1/withdrawals/{pending.pk}"
    world = payments_world
    assert _client().get(url).status_code == 401
    assert _client(world.uk_finance).get(url).status_code == 404
    listed = _client(world.eu_finance).get("/api/v1/withdrawals?status=pending_approval").json()
    assert [row["id"] for row in listed["results"]] == [pending.pk]
    oversight = _client(world.group_compliance)
    assert oversight.get(url).status_code == 200
    refused = oversight.post(f"{url}/decide", {"decision": "approve", "reason": "x"}, format="json")
    assert (refused.status_code, refused.json()["code"]) == (403, "permission_denied")
    foreign = _client(world.uk_finance).post(
        f"{url}/decide", {"decision": "approve", "reason": "x"}, format="json"
    )
    assert foreign.status_code == 404
    bad = _client(world.eu_finance).post(f"{url}/decide", {"decision": "maybe"}, format="json")
    assert bad.status_code == 400
    assert Withdrawal.objects.unscoped().get(pk=pending.pk).status == "pending_approval"
    rejected = _client(world.eu_finance).post(
        f"{url}/decide", {"decision": "reject", "reason": "client cancelled"}, format="json"
    )
    assert (rejected.status_code, rejected.json()["status"]) == (200, "rejected")


def test_money_requests_need_an_idempotency_key_and_valid_bodies(payments_world, pending):
    finance = _client(payments_world.eu_finance)
    body = {"profile": pending.profile_id, "amount": "10.00", "currency": "EUR"}
    missing = finance.post("/api/v1/withdrawals", body, format="json")
    assert (missing.status_code, missing.json()["code"]) == (400, "idempotency_key_invalid")
    bad = finance.post(
        "/api/v1/withdrawals",
        {**body, "amount": 10.5},
        format="json",
        headers={"Idempotency-Key": "k1"},
    )
    assert bad.status_code == 400
    foreign = _client(payments_world.uk_finance).post(
        "/api/v1/withdrawals", body, format="json", headers={"Idempotency-Key": "k2"}
    )
    assert foreign.status_code == 400  # the profile is not one they can see
    made = finance.post(
        "/api/v1/withdrawals", body, format="json", headers={"Idempotency-Key": "k3"}
    )
    again = finance.post(
        "/api/v1/withdrawals", body, format="json", headers={"Idempotency-Key": "k3"}
    )
    assert made.status_code == again.status_code == 201
    assert made.json()["id"] == again.json()["id"]
    deposit = finance.post(
        "/api/v1/deposits",
        {
            "profile": pending.profile_id,
            "amount": "10.00",
            "currency": "GBP",
            "method": "card",
            "instrument": {"card_number": "4242424242424242"},
        },
        format="json",
        headers={"Idempotency-Key": "d1"},
    )
    assert (deposit.status_code, deposit.json()["code"]) == (422, "no_route")


def test_bank_accounts_through_the_api(payments_world):
    profile = approved_client(payments_world)
    finance = _client(payments_world.eu_finance)
    bad = finance.post(
        "/api/v1/bank-accounts",
        {"profile": profile.pk, "iban": "DE00123", "holder": "Ivan"},
        format="json",
    )
    assert (bad.status_code, bad.json()["code"]) == (400, "bank_account_invalid")
    made = finance.post(
        "/api/v1/bank-accounts",
        {"profile": profile.pk, "iban": "DE89370400440532013000", "holder": "Ivan Petrov"},
        format="json",
    )
    assert (made.status_code, made.json()["iban"], made.json()["verified"]) == (
        201,
        "DE89…3000",
        False,
    )
    url = f"/api/v1/bank-accounts/{made.json()['id']}"
    assert _client(payments_world.uk_finance).get(url).status_code == 404
    verified = finance.post(f"{url}/verify", {"reason": "statement seen"}, format="json")
    assert verified.json()["verified"] is True
