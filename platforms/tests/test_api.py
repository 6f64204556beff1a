"""The trading API, persona by persona (DESIGN.md section 9): staff with the right role act,
staff without it are refused, another entity's staff get 404, oversight reads only."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

import pytest
from rest_framework.test import APIClient

from audit.models import AuditEvent
from brokercrm.gate import SYSTEM
from platforms.models import ControlFailure, TradingAccount, TradingTransfer
from platforms.services import trading_account_open
from wallets.services import wallet_open
from wallets.tests.factories import assert_ledger_sound, fund

from .conftest import Desk, make_desk
from .factories import client_of


def api(user: Any = None) -> APIClient:
    client = APIClient()
    if user is not None:
        client.force_authenticate(user)
    return client


@pytest.fixture
def eu(world: Any, shared_sim: Any) -> Desk:
    return make_desk(world, "mt5", shared_sim.url)


@pytest.fixture
def uk(world: Any, shared_sim: Any) -> Desk:
    return make_desk(world, "mt4", shared_sim.url)


@pytest.fixture
def eu_account(eu: Desk) -> TradingAccount:
    profile = client_of(eu.brand)
    fund(wallet_open(profile=profile, currency="USD"), "500.00")
    return trading_account_open(actor=SYSTEM, profile=profile, account_type="pro", currency="USD")


def test_retention_opens_an_account_and_a_repeat_returns_it(eu: Desk) -> None:
    profile = client_of(eu.brand)
    body = {"profile": profile.pk, "account_type": "standard", "currency": "USD"}

    opened = api(eu.retention).post(
        "/api/v1/trading-accounts", body, format="json", HTTP_IDEMPOTENCY_KEY="open-a"
    )
    again = api(eu.retention).post(
        "/api/v1/trading-accounts", body, format="json", HTTP_IDEMPOTENCY_KEY="open-a"
    )

    assert opened.status_code == 201, opened.content
    assert opened.json()["status"] == "enabled"
    assert opened.json()["group"] == eu.groups["standard"]
    assert eu.platform.user_get(opened.json()["login"]).group == eu.groups["standard"]
    assert again.json()["id"] == opened.json()["id"]
    listed = api(eu.retention).get(f"/api/v1/trading-accounts?profile={profile.pk}").json()
    assert [row["login"] for row in listed["results"]] == [opened.json()["login"]]


def test_a_refused_opening_answers_with_its_code(eu: Desk) -> None:
    profile = client_of(eu.brand, approved=False)
    response = api(eu.retention).post(
        "/api/v1/trading-accounts",
        {"profile": profile.pk, "account_type": "pro", "currency": "USD"},
        format="json",
    )
    assert response.status_code == 409
    assert response.json()["code"] == "kyc_not_approved"
    assert TradingAccount.objects.unscoped().count() == 0


def test_finance_moves_money_with_an_idempotency_key(eu: Desk, eu_account: TradingAccount) -> None:
    client = api(eu.finance)
    url = f"/api/v1/trading-accounts/{eu_account.pk}"

    missing = client.post(f"{url}/deposit", {"amount": "100.00"}, format="json")
    assert (missing.status_code, missing.json()["code"]) == (400, "idempotency_key_invalid")
    deposit = client.post(
        f"{url}/deposit", {"amount": "100.00"}, format="json", HTTP_IDEMPOTENCY_KEY="d-1"
    )
    repeat = client.post(
        f"{url}/deposit", {"amount": "100.00"}, format="json", HTTP_IDEMPOTENCY_KEY="d-1"
    )
    withdrawal = client.post(
        f"{url}/withdraw", {"amount": "40.00"}, format="json", HTTP_IDEMPOTENCY_KEY="w-1"
    )
    too_much = client.post(
        f"{url}/withdraw", {"amount": "60.01"}, format="json", HTTP_IDEMPOTENCY_KEY="w-2"
    )

    assert (deposit.status_code, deposit.json()["status"]) == (201, "completed")
    assert repeat.json()["id"] == deposit.json()["id"]
    assert (withdrawal.status_code, withdrawal.json()["status"]) == (201, "completed")
    assert (too_much.status_code, too_much.json()["code"]) == (409, "insufficient_margin")
    assert eu.platform.user_get(eu_account.login).balance == Decimal("60.00")
    transfers = client.get(f"/api/v1/trading-transfers?account={eu_account.pk}").json()
    assert sorted(row["status"] for row in transfers["results"]) == [
        "completed",
        "completed",
        "failed",
    ]
    assert_ledger_sound(eu.entity)


def test_another_entitys_staff_get_404_and_nothing_changes(
    world: Any, eu: Desk, uk: Desk, eu_account: TradingAccount
) -> None:
    audit_rows = AuditEvent.objects.count()
    url = f"/api/v1/trading-accounts/{eu_account.pk}"
    for user in (uk.finance, world.uk_compliance, uk.retention):
        client = api(user)
        assert client.get(url).status_code == 404
        assert (
            client.post(
                f"{url}/deposit", {"amount": "1.00"}, format="json", HTTP_IDEMPOTENCY_KEY="x"
            ).status_code
            == 404
        )
        assert (
            client.post(
                f"{url}/status", {"status": "disabled", "reason": "x"}, format="json"
            ).status_code
            == 404
        )
        assert client.get("/api/v1/trading-accounts").json()["count"] == 0
        assert client.post(f"/api/v1/trading-servers/{eu.server.pk}/sync").status_code == 404
    assert TradingTransfer.objects.unscoped().count() == 0
    assert TradingAccount.objects.unscoped().get(pk=eu_account.pk).status == "enabled"
    assert AuditEvent.objects.count() == audit_rows


def test_group_oversight_reads_every_entity_and_writes_nothing(
    world: Any, eu: Desk, uk: Desk, eu_account: TradingAccount
) -> None:
    uk_account = trading_account_open(
        actor=SYSTEM, profile=client_of(uk.brand), account_type="pro", currency="USD"
    )
    oversight = api(world.group_compliance)
    logins = {row["login"] for row in oversight.get("/api/v1/trading-accounts").json()["results"]}
    assert logins == {eu_account.login, uk_account.login}
    url = f"/api/v1/trading-accounts/{eu_account.pk}"
    assert oversight.get(url).status_code == 200
    writes = [
        oversight.post(
            f"{url}/deposit", {"amount": "1.00"}, format="json", HTTP_IDEMPOTENCY_KEY="o"
        ),
        oversight.post(f"{url}/status", {"status": "disabled", "reason": "x"}, format="json"),
        oversight.post(f"/api/v1/trading-servers/{eu.server.pk}/sync"),
        oversight.post(
            "/api/v1/trading-accounts",
            {"profile": eu_account.profile_id, "account_type": "pro", "currency": "USD"},
            format="json",
        ),
    ]
    assert [response.status_code for response in writes] == [403, 403, 403, 403]
    assert TradingTransfer.objects.unscoped().count() == 0
    assert TradingAccount.objects.unscoped().count() == 2


def test_staff_without_the_role_are_refused_and_anonymous_must_log_in(
    world: Any, eu: Desk, eu_account: TradingAccount
) -> None:
    support = api(world.eu_support)  # sees trading accounts, moves no money
    assert support.get(f"/api/v1/trading-accounts/{eu_account.pk}").status_code == 200
    refused = support.post(
        f"/api/v1/trading-accounts/{eu_account.pk}/deposit",
        {"amount": "1.00"},
        format="json",
        HTTP_IDEMPOTENCY_KEY="s",
    )
    assert (refused.status_code, refused.json()["code"]) == (403, "permission_denied")
    assert eu.platform.user_get(eu_account.login).balance == Decimal("0.00")
    assert api().get("/api/v1/trading-accounts").status_code == 401


def test_compliance_works_the_control_failure_queue(
    world: Any, eu: Desk, eu_account: TradingAccount
) -> None:
    from platforms.services import trading_server_reconcile

    eu.platform.user_set_rights(eu_account.login, "read_only")
    trading_server_reconcile(server_id=eu.server.pk)
    queue = api(world.eu_compliance).get("/api/v1/control-failures?status=open").json()
    assert [(row["login"], row["kind"]) for row in queue["results"]] == [
        (eu_account.login, "server_less_permissive")
    ]
    failure_id = queue["results"][0]["id"]
    assert api(world.uk_compliance).get(f"/api/v1/control-failures/{failure_id}").status_code == 404
    assert (
        api(world.group_compliance)
        .post(f"/api/v1/control-failures/{failure_id}/resolve", {"resolution": "x"}, format="json")
        .status_code
        == 403
    )
    resolved = api(world.eu_compliance).post(
        f"/api/v1/control-failures/{failure_id}/resolve",
        {"resolution": "Dealer set read-only on request; CRM aligned."},
        format="json",
    )
    assert (resolved.status_code, resolved.json()["status"]) == (200, "resolved")
    assert ControlFailure.objects.unscoped().get(pk=failure_id).resolved_by == world.eu_compliance


def test_servers_are_listed_and_compliance_may_start_a_sync(
    world: Any, eu: Desk, uk: Desk, django_capture_on_commit_callbacks: Any
) -> None:
    body = api(world.eu_compliance).get("/api/v1/trading-servers").json()
    assert [
        (row["server_name"], row["kind"], row["last_full_sync"]) for row in body["results"]
    ] == [("EU-MT5-Live", "mt5", None)]
    with django_capture_on_commit_callbacks(execute=False) as callbacks:
        response = api(world.eu_compliance).post(f"/api/v1/trading-servers/{eu.server.pk}/sync")
    assert (response.status_code, len(callbacks)) == (202, 2)  # reconcile and feeds, queued
    assert AuditEvent.objects.filter(action="platforms.sync_requested").count() == 1
