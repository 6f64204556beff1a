from __future__ import annotations

from decimal import Decimal

import pytest
from rest_framework.test import APIClient

from brokercrm.accounts.tests.factories import UserFactory, grant
from identity.services import profile_update
from identity.tests.factories import register
from wallets.models import JournalEntry, LedgerAccount
from wallets.services import fx_rate_record, wallet_open

from .factories import assert_ledger_sound, fund


def staff(user) -> APIClient:
    client = APIClient()
    client.force_authenticate(user)
    return client


@pytest.fixture
def finance(world):
    users = {}
    for name, entity in (("eu", world.eu), ("uk", world.uk)):
        users[name] = UserFactory(username=f"finance.{name}")
        grant(users[name], "finance", entity=entity)
    return users


@pytest.fixture
def wallets(world):
    profile = register(world.eu_brand).profile
    eur, usd = (
        wallet_open(profile=profile, currency="EUR"),
        wallet_open(profile=profile, currency="USD"),
    )
    fund(eur, "500")
    fx_rate_record(base="EUR", quote="USD", rate="1.10", source="test")
    return eur, usd


def test_wallets_are_scoped(world, finance, wallets):
    eur, _ = wallets
    assert staff(finance["eu"]).get("/api/v1/wallets").json()["count"] == 2
    assert staff(finance["uk"]).get("/api/v1/wallets").json()["count"] == 0
    assert staff(finance["uk"]).get(f"/api/v1/wallets/{eur.pk}").status_code == 404
    assert staff(world.eu_support).get("/api/v1/wallets").json()["count"] == 0
    body = staff(finance["eu"]).get(f"/api/v1/wallets/{eur.pk}").json()
    assert (body["balance"], body["available"]) == ("500.00000000", "500.00000000")
    statement = staff(finance["eu"]).get(f"/api/v1/wallets/{eur.pk}/statement").json()
    assert [(line["amount"], line["balance_after"]) for line in statement] == [
        ("500.00000000", "500.00000000")
    ]


def test_transfer_needs_a_key_is_idempotent_and_scoped(world, finance, wallets):
    eur, usd = wallets
    body = {"source": eur.pk, "target": usd.pk, "amount": "100"}
    missing = staff(finance["eu"]).post("/api/v1/transfers", body, format="json")
    assert missing.status_code == 400
    assert missing.json()["code"] == "idempotency_key_invalid"
    first = staff(finance["eu"]).post(
        "/api/v1/transfers", body, format="json", HTTP_IDEMPOTENCY_KEY="k-1"
    )
    assert first.status_code == 201, first.content
    again = staff(finance["eu"]).post(
        "/api/v1/transfers", body, format="json", HTTP_IDEMPOTENCY_KEY="k-1"
    )
    assert again.json()["id"] == first.json()["id"]
    changed = staff(finance["eu"]).post(
        "/api/v1/transfers", {**body, "amount": "101"}, format="json", HTTP_IDEMPOTENCY_KEY="k-1"
    )
    assert changed.status_code == 409
    assert changed.json()["code"] == "idempotency_key_reused"
    assert LedgerAccount.objects.unscoped().get(pk=eur.pk).balance == Decimal("400")
    # Someone who can see wallets but not move money, and someone of another entity.
    assert (
        staff(world.eu_compliance)
        .post("/api/v1/transfers", body, format="json", HTTP_IDEMPOTENCY_KEY="k-2")
        .status_code
        == 403
    )
    assert (
        staff(finance["uk"])
        .post("/api/v1/transfers", body, format="json", HTTP_IDEMPOTENCY_KEY="k-3")
        .status_code
        == 404
    )
    assert JournalEntry.objects.unscoped().filter(type="fx_transfer").count() == 1
    assert_ledger_sound(world.eu)


@pytest.mark.parametrize(
    ("amount", "status", "code"),
    [
        ("1e5", 400, "invalid"),
        ("-1", 400, "invalid"),
        ("0", 400, "amount_invalid"),
        ("600", 409, "insufficient_funds"),
        (10.5, 400, "invalid"),
        ("1.123456789", 400, "invalid"),
    ],
)
def test_bad_transfer_amounts(world, finance, wallets, amount, status, code):
    eur, usd = wallets
    response = staff(finance["eu"]).post(
        "/api/v1/transfers",
        {"source": eur.pk, "target": usd.pk, "amount": amount},
        format="json",
        HTTP_IDEMPOTENCY_KEY="bad",
    )
    assert response.status_code == status, response.content
    assert response.json()["code"] == code
    assert LedgerAccount.objects.unscoped().get(pk=eur.pk).balance == Decimal("500")
    assert_ledger_sound(world.eu)


def test_trial_balance_per_visible_entity(world, finance, wallets):
    body = staff(finance["eu"]).get("/api/v1/ledger/trial-balance").json()
    assert list(body) == ["EU"]
    assert body["EU"]["EUR"]["net"] == "0E-8" or Decimal(body["EU"]["EUR"]["net"]) == 0
    assert Decimal(body["EU"]["EUR"]["client_wallet"]) == Decimal("500")


def test_activation_opens_the_base_currency_wallet(world):
    profile = register(world.eu_brand).profile
    assert not LedgerAccount.objects.unscoped().filter(profile=profile).exists()
    profile_update(
        actor=world.eu_compliance, profile=profile, status="active", reason="KYC approved"
    )
    wallet = LedgerAccount.objects.unscoped().get(profile=profile)
    assert (wallet.currency, wallet.balance) == ("EUR", 0)


def test_reconcile_command_and_task(world, wallets, capsys):
    from django.core.management import call_command

    from wallets.tasks import ledger_reconcile_all

    call_command("ledger_reconcile")
    assert "ledger reconciled" in capsys.readouterr().out
    assert ledger_reconcile_all.apply().get() == {"differences": 0, "unbalanced_journals": 0}


def test_admin_shows_the_statement_to_the_right_entity_only(world, finance, wallets):
    from django.test import Client

    eur, _ = wallets
    client = Client()
    client.force_login(finance["eu"])
    page = client.get(f"/admin/wallets/ledgeraccount/{eur.pk}/change/")
    assert page.status_code == 200
    # The statement and the balances at the currency's minor units, with its code.
    assert b"500.00 EUR" in page.content
    assert b"500.00000000" not in page.content
    other = Client()
    other.force_login(finance["uk"])
    assert other.get(f"/admin/wallets/ledgeraccount/{eur.pk}/change/").status_code == 404
