"""The demo payments configuration loads, twice without duplicates, and routes as intended."""

from __future__ import annotations

from decimal import Decimal

import pytest
from django.core.management import call_command

from entities.models import LegalEntity
from payments.demo import simulator_config
from payments.models import MerchantAccount, PaymentMethod, RoutingRule, RoutingTarget
from payments.services import NoRoute, route_for


def test_seed_payments_is_idempotent_and_routes_by_entity(db):
    call_command("seed_demo", quiet_logins=True)
    call_command("seed_payments")
    counts = (
        MerchantAccount.objects.unscoped().count(),
        RoutingRule.objects.unscoped().count(),
        RoutingTarget.objects.unscoped().count(),
    )
    call_command("seed_payments")
    assert (
        counts
        == (
            MerchantAccount.objects.unscoped().count(),
            RoutingRule.objects.unscoped().count(),
            RoutingTarget.objects.unscoped().count(),
        )
        == (9, 13, 16)
    )
    eu, uk = LegalEntity.objects.get(code="EU"), LegalEntity.objects.get(code="UK")
    sofort = PaymentMethod.objects.get(code="sofort")
    route = route_for(
        entity_id=eu.pk, country="DE", currency="EUR", method=sofort, amount=Decimal("100")
    )
    assert [m.code for _f, ms in route.families for m in ms] == ["eu-local"]
    with pytest.raises(NoRoute):
        route_for(
            entity_id=uk.pk, country="DE", currency="EUR", method=sofort, amount=Decimal("100")
        )
    config = simulator_config("http://127.0.0.1:8000", "s3cret")
    assert {m["id"] for m in config["merchants"]} == set(
        MerchantAccount.objects.unscoped().values_list("code", flat=True)
    )
    assert config["merchants"][0]["webhook_url"].startswith(
        "http://127.0.0.1:8000/api/v1/webhooks/psp/"
    )
