"""The trading back office: scoped pages, and accounts opened and funded through services."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

import pytest
from django.test import Client

from brokercrm.accounts.tests.factories import PASSWORD
from brokercrm.gate import SYSTEM
from platforms.models import TradingAccount, TradingTransfer
from platforms.services import trading_account_open
from wallets.services import wallet_open
from wallets.tests.factories import fund

from .conftest import Desk, make_desk
from .factories import client_of


def login(user: Any) -> Client:
    client = Client()
    assert client.login(username=user.username, password=PASSWORD)
    return client


@pytest.fixture
def desks(world: Any, shared_sim: Any) -> tuple[Desk, Desk]:
    return make_desk(world, "mt5", shared_sim.url), make_desk(world, "mt4", shared_sim.url)


def test_accounts_are_listed_per_entity_and_foreign_ones_are_404(
    world: Any, desks: tuple[Desk, Desk]
) -> None:
    eu, uk = desks
    eu_account = trading_account_open(
        actor=SYSTEM, profile=client_of(eu.brand), account_type="pro", currency="USD"
    )
    uk_account = trading_account_open(
        actor=SYSTEM, profile=client_of(uk.brand), account_type="pro", currency="USD"
    )
    client = login(world.eu_compliance)
    page = client.get("/admin/platforms/tradingaccount/")
    assert page.status_code == 200
    assert str(eu_account.login).encode() in page.content
    assert str(uk_account.login).encode() not in page.content
    assert client.get(f"/admin/platforms/tradingaccount/{uk_account.pk}/change/").status_code == 404
    assert client.get(f"/admin/platforms/tradingaccount/{eu_account.pk}/change/").status_code == 200
    assert client.get(f"/admin/platforms/tradingaccount/{uk_account.pk}/fund/").status_code == 404
    # Compliance sees the account but moves no money.
    assert client.get(f"/admin/platforms/tradingaccount/{eu_account.pk}/fund/").status_code == 403


def test_an_account_is_opened_and_funded_from_the_back_office(desks: tuple[Desk, Desk]) -> None:
    eu, _ = desks
    profile = client_of(eu.brand)
    fund(wallet_open(profile=profile, currency="USD"), "200.00")

    form = login(eu.retention).get("/admin/platforms/tradingaccount/add/")
    assert form.status_code == 200
    key = form.context["form"]["idempotency_key"].value()
    opened = login(eu.retention).post(
        "/admin/platforms/tradingaccount/add/",
        {
            "profile_id": profile.pk,
            "account_type": "pro",
            "currency": "USD",
            "idempotency_key": key,
        },
    )
    assert opened.status_code == 302, opened.content[:2000]
    account = TradingAccount.objects.unscoped().get(profile=profile)
    assert account.status == "enabled"

    moved = login(eu.finance).post(
        f"/admin/platforms/tradingaccount/{account.pk}/fund/",
        {"direction": "deposit", "amount": "75.00", "idempotency_key": "form-1"},
    )
    assert moved.status_code == 302
    assert TradingTransfer.objects.unscoped().get().status == "completed"
    assert eu.platform.user_get(account.login).balance == Decimal("75.00")
