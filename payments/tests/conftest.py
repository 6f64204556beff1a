"""Payments fixtures: a PSP simulator process, the EU/UK configuration, approved clients."""

from __future__ import annotations

import os
from datetime import timedelta
from decimal import Decimal
from typing import Any

import pytest
from django.utils import timezone

from brokercrm.accounts.tests.factories import UserFactory, grant
from brokercrm.gate import SYSTEM
from brokercrm.httpjson import json_request
from brokercrm.simulators import SimulatorProcess
from entities.services import ruleset_publish
from identity.tests.factories import register
from kyc.models import KycFile
from payments.models import MerchantAccount, PaymentMethod, PaymentProvider
from payments.services import routing_rule_set

SECRET_ENV = "PSP_TEST_WEBHOOK_SECRET"
SECRET = "psp-test-secret"
CARD_OK = "4242424242424242"
CARD_SOFT = "4000000000000010"  # insufficient_funds
CARD_HARD = "4000000000000028"  # stolen_card
IBAN_OK = "DE89370400440532013000"


@pytest.fixture(scope="session")
def psp_simulator():
    with SimulatorProcess("payments.simulator", "--seed", "11") as simulator:
        yield simulator


@pytest.fixture
def eager_tasks():
    """Celery tasks run inline (the live server's webhooks are processed as they arrive)."""
    from brokercrm.celery import app

    app.conf.task_always_eager = True
    yield
    app.conf.task_always_eager = False


@pytest.fixture
def psp_secret(monkeypatch):
    monkeypatch.setenv(SECRET_ENV, SECRET)
    return SECRET


MERCHANTS = [
    # entity, code, family, currencies, methods
    ("eu", "eu-cards-1", "cards-a", ["EUR", "USD"], ["card"]),
    ("eu", "eu-cards-2", "cards-a", ["EUR", "USD"], ["card"]),
    ("eu", "eu-bank-1", "bank", ["EUR", "USD"], ["bank_wire"]),
    ("eu", "eu-sofort-1", "sofort", ["EUR"], ["sofort"]),
    ("uk", "uk-cards-1", "cards-uk", ["GBP", "USD"], ["card"]),
    ("uk", "uk-bank-1", "bank-uk", ["GBP"], ["bank_wire"]),
]


@pytest.fixture
def payments_world(world, psp_secret, request):
    """EU takes cards (two accounts in one family), bank wires and Sofort in DE/AT; UK takes
    cards and bank wires in GBP. The simulator answers at `psp_url` (a dead address unless
    the test asked for the simulator)."""
    base_url = "http://127.0.0.1:9"
    if "psp_simulator" in request.fixturenames:
        base_url = request.getfixturevalue("psp_simulator").url
    provider = PaymentProvider.objects.create(code="simpay", name="SimPay", base_url=base_url)
    card = PaymentMethod.objects.create(code="card", name="Card", kind="card")
    bank = PaymentMethod.objects.create(code="bank_wire", name="Bank wire", kind="bank")
    sofort = PaymentMethod.objects.create(
        code="sofort", name="Sofort", kind="local", countries=["DE", "AT"]
    )
    entities = {"eu": world.eu, "uk": world.uk}
    merchants: dict[str, MerchantAccount] = {}
    for entity, code, family, currencies, methods in MERCHANTS:
        merchants[code] = MerchantAccount.objects.create(
            entity=entities[entity],
            provider=provider,
            code=code,
            gateway_family=family,
            currencies=currencies,
            methods=methods,
            webhook_secret_env=SECRET_ENV,
        )
    m = merchants
    routing_rule_set(
        actor=SYSTEM,
        entity=world.eu,
        name="EU cards EUR",
        countries=["*"],
        currency="EUR",
        method=card,
        merchant_accounts=[m["eu-cards-1"], m["eu-cards-2"]],
        soft_retries=2,
    )
    routing_rule_set(
        actor=SYSTEM,
        entity=world.eu,
        name="EU cards USD",
        countries=["DE", "FR"],
        currency="USD",
        method=card,
        merchant_accounts=[m["eu-cards-1"]],
        max_amount=Decimal("5000"),
    )
    routing_rule_set(
        actor=SYSTEM,
        entity=world.eu,
        name="EU bank",
        countries=["*"],
        currency="EUR",
        method=bank,
        merchant_accounts=[m["eu-bank-1"]],
    )
    routing_rule_set(
        actor=SYSTEM,
        entity=world.eu,
        name="EU bank USD",
        countries=["*"],
        currency="USD",
        method=bank,
        merchant_accounts=[m["eu-bank-1"]],
    )
    routing_rule_set(
        actor=SYSTEM,
        entity=world.eu,
        name="EU Sofort",
        countries=["DE", "AT"],
        currency="EUR",
        method=sofort,
        merchant_accounts=[m["eu-sofort-1"]],
    )
    routing_rule_set(
        actor=SYSTEM,
        entity=world.uk,
        name="UK cards",
        countries=["GB"],
        currency="GBP",
        method=card,
        merchant_accounts=[m["uk-cards-1"]],
    )
    routing_rule_set(
        actor=SYSTEM,
        entity=world.uk,
        name="UK bank",
        countries=["GB"],
        currency="GBP",
        method=bank,
        merchant_accounts=[m["uk-bank-1"]],
    )
    for entity in (world.eu, world.uk):
        ruleset_publish(
            actor=SYSTEM,
            entity=entity,
            kind="deposit",
            document={"before_kyc": "park", "park_cap": "500"},
        )
        ruleset_publish(
            actor=SYSTEM,
            entity=entity,
            kind="withdrawal",
            document={
                "currency": "EUR",
                "auto_approve_limit": "1000",
                "finance_approval_limit": "10000",
            },
        )
    ruleset_publish(
        actor=SYSTEM,
        entity=world.eu,
        kind="wallet",
        document={"currencies": ["EUR", "USD"], "fx_markup_bps": 50},
    )
    world.merchants = merchants
    world.eu_finance = UserFactory(username="eu.finance")
    grant(world.eu_finance, "finance", entity=world.eu)
    world.eu_finance_2 = UserFactory(username="eu.finance2")
    grant(world.eu_finance_2, "finance", entity=world.eu)
    world.uk_finance = UserFactory(username="uk.finance")
    grant(world.uk_finance, "finance", entity=world.uk)
    if base_url != "http://127.0.0.1:9":
        json_request("POST", f"{base_url}/admin/reset", body={})
    return world


def configure_simulator(world: Any, simulator: Any, webhook_base: str, **overrides: Any) -> None:
    for code, merchant in world.merchants.items():
        config = {
            "id": code,
            "webhook_url": f"{webhook_base}/api/v1/webhooks/psp/{code}",
            "webhook_secret": SECRET,
            "currencies": merchant.currencies,
            "methods": merchant.methods,
            "approval_rate": 1.0,
            "payout_settle_s": 0.2,
            **overrides,
        }
        answer = json_request("PUT", f"{simulator.url}/admin/merchants/{code}", body=config)
        assert answer.ok, answer.body


def approved_client(world: Any, *, risk: str = "low", **registration: Any) -> Any:
    """A client whose KYC is approved and whose cooling-off is over."""
    profile = register(world.eu_brand, **registration).profile
    KycFile.objects.unscoped().update_or_create(
        profile=profile,
        defaults=dict(
            entity_id=profile.entity_id,
            status=KycFile.Status.APPROVED,
            risk_level=risk,
            earliest_withdrawal_at=timezone.now() - timedelta(hours=1),
        ),
    )
    return profile


def webhook_env() -> dict[str, str]:
    return {SECRET_ENV: os.environ.get(SECRET_ENV, SECRET)}
