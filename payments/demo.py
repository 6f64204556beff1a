"""Demo payments configuration: the simulated PSP, payment methods, each entity's merchant
accounts and routing rules, and what the PSP simulator needs to know of them. Adds only what
is missing."""

from __future__ import annotations

import os
from decimal import Decimal
from typing import Any

from .models import MerchantAccount, PaymentMethod, PaymentProvider, RoutingRule
from .services import routing_rule_set

SECRET_ENV = "PSP_DEMO_WEBHOOK_SECRET"  # noqa: S105 - the variable's name, not a secret
METHODS = [
    ("card", "Card", "card", []),
    ("bank_wire", "Bank wire", "bank", []),
    ("sofort", "Sofort", "local", ["DE", "AT"]),
    ("ideal", "iDEAL", "local", ["NL"]),
    ("blik", "BLIK", "local", ["PL"]),
    ("faster_payments", "Faster Payments", "local", ["GB"]),
]
# entity, merchant code, family, currencies, methods
MERCHANTS = [
    ("EU", "eu-cards-a1", "eu-cards-a", ["EUR", "USD", "PLN"], ["card"]),
    ("EU", "eu-cards-a2", "eu-cards-a", ["EUR", "USD", "PLN"], ["card"]),
    ("EU", "eu-cards-b1", "eu-cards-b", ["EUR"], ["card"]),
    ("EU", "eu-bank", "eu-bank", ["EUR", "USD", "PLN"], ["bank_wire"]),
    ("EU", "eu-local", "eu-local", ["EUR", "PLN"], ["sofort", "ideal", "blik"]),
    ("UK", "uk-cards", "uk-cards", ["GBP", "EUR", "USD"], ["card"]),
    ("UK", "uk-bank", "uk-bank", ["GBP"], ["bank_wire", "faster_payments"]),
    ("SC", "sc-cards", "sc-cards", ["USD", "EUR"], ["card"]),
    ("SC", "sc-bank", "sc-bank", ["USD"], ["bank_wire"]),
]
# entity, name, countries, currency, method, [merchant codes]
ROUTES = [
    ("EU", "EU cards EUR", ["*"], "EUR", "card", ["eu-cards-a1", "eu-cards-a2", "eu-cards-b1"]),
    ("EU", "EU cards USD", ["*"], "USD", "card", ["eu-cards-a1", "eu-cards-a2"]),
    ("EU", "EU cards PLN", ["PL"], "PLN", "card", ["eu-cards-a1"]),
    ("EU", "EU bank EUR", ["*"], "EUR", "bank_wire", ["eu-bank"]),
    ("EU", "EU bank USD", ["*"], "USD", "bank_wire", ["eu-bank"]),
    ("EU", "EU Sofort", ["DE", "AT"], "EUR", "sofort", ["eu-local"]),
    ("EU", "EU iDEAL", ["NL"], "EUR", "ideal", ["eu-local"]),
    ("EU", "EU BLIK", ["PL"], "PLN", "blik", ["eu-local"]),
    ("UK", "UK cards GBP", ["GB"], "GBP", "card", ["uk-cards"]),
    ("UK", "UK bank GBP", ["GB"], "GBP", "bank_wire", ["uk-bank"]),
    ("UK", "UK Faster Payments", ["GB"], "GBP", "faster_payments", ["uk-bank"]),
    ("SC", "SC cards USD", ["*"], "USD", "card", ["sc-cards"]),
    ("SC", "SC bank USD", ["*"], "USD", "bank_wire", ["sc-bank"]),
]


def simulator_config(public_base_url: str, secret: str) -> dict[str, Any]:
    """What the PSP simulator needs to know of our merchant accounts (demo)."""
    return {
        "merchants": [
            {
                "id": merchant.code,
                "webhook_url": f"{public_base_url.rstrip('/')}/api/v1/webhooks/psp/{merchant.code}",
                "webhook_secret": secret,
                "currencies": merchant.currencies,
                "methods": merchant.methods,
                "approval_rate": 0.85,
                "fee_bps": 120,
                "duplicate_rate": 0.1,
            }
            for merchant in MerchantAccount.objects.unscoped().order_by("code")
        ]
    }


def seed(*, entities: dict[str, Any]) -> tuple[int, int]:
    """The provider, methods, merchant accounts and routing rules of `entities` (by code);
    returns how many merchant accounts and routing rules the demo defines."""
    provider, _ = PaymentProvider.objects.update_or_create(
        code="simpay",
        defaults={
            "name": "SimPay (simulated PSP)",
            "base_url": os.environ.get("PSP_SIMULATOR_URL", "http://127.0.0.1:8701"),
        },
    )
    methods = {}
    for code, name, kind, countries in METHODS:
        methods[code], _ = PaymentMethod.objects.update_or_create(
            code=code, defaults={"name": name, "kind": kind, "countries": countries}
        )
    merchants = {}
    for entity, code, family, currencies, accepted in MERCHANTS:
        merchants[code], _ = MerchantAccount.objects.unscoped().get_or_create(
            provider=provider,
            code=code,
            defaults={
                "entity": entities[entity],
                "gateway_family": family,
                "currencies": currencies,
                "methods": accepted,
                "webhook_secret_env": SECRET_ENV,
            },
        )
    for entity, name, countries, currency, method, codes in ROUTES:
        if RoutingRule.objects.in_entity(entities[entity]).filter(name=name).exists():
            continue
        routing_rule_set(
            actor=None,
            entity=entities[entity],
            name=name,
            countries=countries,
            currency=currency,
            method=methods[method],
            merchant_accounts=[merchants[code] for code in codes],
            max_amount=Decimal("50000"),
        )
    return len(MERCHANTS), len(ROUTES)
