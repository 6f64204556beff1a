"""The demo payments configuration loads, twice without duplicates, and routes as intended."""

from __future__ import annotations

from decimal import Decimal

import pytest
from django.core.management import call_command
from rest_framework.test import APIClient

from brokercrm.accounts.demo import demo_password
from brokercrm.accounts.models import User
from brokercrm.backoffice.work import work_rows
from entities.models import LegalEntity
from identity.logins import client_token_obtain
from identity.models import ClientProfile
from payments.demo import WITHDRAWAL_CLIENT, simulator_config
from payments.models import (
    BankAccount,
    Deposit,
    MerchantAccount,
    PaymentMethod,
    RoutingRule,
    RoutingTarget,
)
from payments.services import NoRoute, route_for
from wallets.tests.factories import assert_ledger_sound


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


def test_the_demo_shows_an_eu_client_withdrawing_eur_to_a_usd_payout_route(db):
    call_command("seed_demo", quiet_logins=True)
    call_command("seed_payments")
    call_command("seed_withdrawal_demo", quiet=True)
    call_command("seed_withdrawal_demo", quiet=True)  # again: nothing twice
    code, email = WITHDRAWAL_CLIENT
    profile = (
        ClientProfile.objects.unscoped().select_related("brand").get(entity__code=code, email=email)
    )
    assert BankAccount.objects.unscoped().filter(profile=profile, verified=True).count() == 1
    assert Deposit.objects.unscoped().filter(profile=profile, status="credited").count() == 1
    token = client_token_obtain(brand=profile.brand, email=email, password=demo_password())
    api = APIClient()
    api.credentials(HTTP_AUTHORIZATION=f"Token {token.key}")
    quote = api.get(
        "/api/v1/me/withdrawals/eligibility?currency=EUR&payout_currency=USD&amount=500.00"
    ).json()
    assert (quote["eligible"], quote["blocks"], quote["available"]) == (
        True,
        [],
        "2500.00000000",
    )
    made = api.post(
        "/api/v1/me/withdrawals",
        {
            "amount": "500.00",
            "currency": "EUR",
            "payout_currency": "USD",
            "bank_account": quote["bank_accounts"][0],
            "quoted_rate": quote["quote"]["rate"],
        },
        format="json",
        headers={"Idempotency-Key": "demo-wd-1"},
    )
    assert made.status_code == 201, made.json()
    assert (made.json()["status"], made.json()["fx_rate"]) == ("approved", quote["quote"]["rate"])
    assert [leg["destination"] for leg in made.json()["legs"]] == ["bank"]
    methods = api.get("/api/v1/me/deposit-methods?currency=EUR").json()["methods"]
    assert "card" in [m["code"] for m in methods if m["hosted_page"]]
    eu = LegalEntity.objects.get(code="EU")
    assert_ledger_sound(eu)


def test_the_demo_fills_finances_and_compliances_work_queues(db):
    call_command("seed_demo", quiet_logins=True)
    call_command("seed_payments")
    call_command("seed_ib", quiet_logins=True)
    call_command("seed_withdrawal_demo", quiet=True)
    call_command("seed_work_demo")
    call_command("seed_work_demo")  # again: nothing twice
    _rows, finance = work_rows(User.objects.get(username="finance.eu"))
    assert {key: count for key, count in finance.items() if key.startswith("payments.")} == {
        "payments.withdrawal_finance": 2,
        "payments.reconciliation_break": 1,
        "payments.parked_deposit": 1,
    }
    _rows, compliance = work_rows(User.objects.get(username="compliance.eu"))
    assert compliance["payments.withdrawal_compliance"] == 2
    _rows, referrals = work_rows(User.objects.get(username="ib-manager.sc"))
    assert referrals["ib.referral_review"] == 1
    entities = list(LegalEntity.objects.all())
    assert_ledger_sound(*entities)
