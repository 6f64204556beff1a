"""Opening trading accounts through the service, against the simulator, for both connectors."""

from __future__ import annotations

from typing import Any

import pytest

from audit.models import AuditEvent
from brokercrm.errors import PermissionDenied, ValidationFailed
from brokercrm.gate import SYSTEM
from platforms.connectors import PlatformTimeout
from platforms.models import TradingAccount
from platforms.services import (
    NoGroupMapping,
    ServerOfAnotherEntity,
    TradingNotAllowed,
    account_comment,
    trading_account_open,
    trading_accounts_pending_resolve,
)
from platforms.services import accounts as accounts_module

from .conftest import Desk, make_desk
from .factories import client_of, sim_user_count


def test_an_approved_client_gets_a_login_in_the_mapped_group_of_its_entitys_server(
    desk: Desk, shared_sim: Any
) -> None:
    # Given a KYC-approved client of the entity
    profile = client_of(desk.brand)

    # When retention opens a live pro account in USD
    account = trading_account_open(
        actor=desk.retention, profile=profile, account_type="pro", currency="USD"
    )

    # Then the login exists on that entity's server, in the mapped group, carrying our reference
    remote = desk.platform.user_get(account.login)
    assert (remote.group, remote.currency, remote.rights) == (desk.groups["pro"], "USD", "enabled")
    assert remote.comment == account_comment(account.reference)
    assert (account.entity_id, account.server_id, account.profile_id) == (
        desk.entity.pk,
        desk.server.pk,
        profile.pk,
    )
    assert (account.status, account.server_rights, account.group, account.currency) == (
        "enabled",
        "enabled",
        desk.groups["pro"],
        "USD",
    )
    assert account.leverage == remote.leverage > 0
    actions = list(
        AuditEvent.objects.filter(
            object_type="platforms.TradingAccount", object_id=str(account.pk)
        ).values_list("action", flat=True)
    )
    assert sorted(actions) == ["platforms.account_opened", "platforms.account_requested"]


def test_a_client_without_approved_kyc_is_refused_and_nothing_is_created(
    desk: Desk, shared_sim: Any
) -> None:
    profile = client_of(desk.brand, approved=False)
    users_before = sim_user_count(shared_sim.url, desk.server.server_name)
    audit_before = AuditEvent.objects.count()

    with pytest.raises(TradingNotAllowed) as refused:
        trading_account_open(
            actor=desk.retention, profile=profile, account_type="standard", currency="USD"
        )

    assert refused.value.code == "kyc_not_approved"
    assert TradingAccount.objects.unscoped().count() == 0
    assert sim_user_count(shared_sim.url, desk.server.server_name) == users_before
    assert AuditEvent.objects.count() == audit_before


def test_a_demo_account_needs_no_kyc(desk: Desk) -> None:
    profile = client_of(desk.brand, approved=False)
    account = trading_account_open(
        actor=desk.retention, profile=profile, account_type="demo", currency="USD"
    )
    assert (account.status, account.group) == ("enabled", desk.groups["demo"])


def test_refusals_name_their_reason(world: Any, shared_sim: Any) -> None:
    eu = make_desk(world, "mt5", shared_sim.url)
    uk = make_desk(world, "mt4", shared_sim.url)
    profile = client_of(eu.brand)

    with pytest.raises(ServerOfAnotherEntity) as foreign:
        trading_account_open(
            actor=SYSTEM, profile=profile, account_type="pro", currency="USD", server=uk.server
        )
    assert foreign.value.code == "server_of_another_entity"
    with pytest.raises(NoGroupMapping) as unmapped:
        trading_account_open(actor=SYSTEM, profile=profile, account_type="pro", currency="EUR")
    assert unmapped.value.code == "no_group_mapping"
    with pytest.raises(ValidationFailed) as too_high:  # the EU standard group allows 30
        trading_account_open(
            actor=SYSTEM, profile=profile, account_type="standard", currency="USD", leverage=100
        )
    assert too_high.value.code == "leverage_too_high"
    with pytest.raises(PermissionDenied):
        trading_account_open(
            actor=uk.retention, profile=profile, account_type="pro", currency="USD"
        )
    assert TradingAccount.objects.unscoped().count() == 0


def test_the_same_idempotency_key_opens_one_account(desk: Desk, shared_sim: Any) -> None:
    profile = client_of(desk.brand)
    first = trading_account_open(
        actor=desk.retention,
        profile=profile,
        account_type="standard",
        currency="USD",
        idempotency_key="open-1",
    )
    users = sim_user_count(shared_sim.url, desk.server.server_name)
    again = trading_account_open(
        actor=desk.retention,
        profile=profile,
        account_type="standard",
        currency="USD",
        idempotency_key="open-1",
    )
    assert (again.pk, again.login) == (first.pk, first.login)
    assert sim_user_count(shared_sim.url, desk.server.server_name) == users


class _LosesCreateAnswers:
    """A connector whose first user_create is applied on the server but answered by a
    timeout, as when the connection drops after the server acted."""

    def __init__(self, real: Any, lose: int = 1) -> None:
        self.real = real
        self.lose = lose

    def __getattr__(self, name: str) -> Any:
        return getattr(self.real, name)

    def user_create(self, **kwargs: Any) -> Any:
        created = self.real.user_create(**kwargs)
        if self.lose:
            self.lose -= 1
            raise PlatformTimeout("lost after apply")
        return created


def test_a_create_whose_answer_is_lost_is_found_by_its_reference_not_created_twice(
    desk: Desk, shared_sim: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    real = accounts_module.server_connector
    monkeypatch.setattr(
        accounts_module, "server_connector", lambda server: _LosesCreateAnswers(real(server))
    )
    profile = client_of(desk.brand)
    users = sim_user_count(shared_sim.url, desk.server.server_name)

    account = trading_account_open(
        actor=desk.retention, profile=profile, account_type="pro", currency="USD"
    )

    assert account.status == "enabled"
    assert sim_user_count(shared_sim.url, desk.server.server_name) == users + 1
    assert [
        a.login for a in desk.platform.users_by_comment(account_comment(account.reference))
    ] == [account.login]


def test_a_create_left_pending_is_finished_by_the_pending_job(
    desk: Desk, shared_sim: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    class Unreachable(_LosesCreateAnswers):
        def users_by_comment(self, comment: str) -> Any:
            raise PlatformTimeout("lookup lost too")

    real = accounts_module.server_connector
    monkeypatch.setattr(
        accounts_module, "server_connector", lambda server: Unreachable(real(server))
    )
    profile = client_of(desk.brand)
    account = trading_account_open(
        actor=desk.retention, profile=profile, account_type="pro", currency="USD"
    )
    assert (account.status, account.login) == ("pending", None)

    monkeypatch.setattr(accounts_module, "server_connector", real)
    assert trading_accounts_pending_resolve(older_than_seconds=0) == {"resolved": 1, "pending": 0}
    account.refresh_from_db()
    assert account.status == "enabled"
    assert desk.platform.user_get(account.login).comment == account_comment(account.reference)
