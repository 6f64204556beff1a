"""Control failures as a work queue on "My work": who sees them, their order, deadlines and
what fetching them costs."""

from __future__ import annotations

import itertools
from datetime import timedelta

import pytest
from django.test import Client
from django.utils import timezone

from brokercrm.backoffice import registry
from brokercrm.backoffice.work import queues_for
from brokercrm.gate import SYSTEM
from brokercrm.scoping import scope_for
from entities.services import ruleset_publish
from platforms.backoffice.queues import CONTROL_FAILURE
from platforms.models import ControlFailure, TradingAccount
from platforms.services import control_failure_resolve
from platforms.services.drift import Drift, drifts_record

from .factories import client_of, trading_server

DEAD_URL = "http://127.0.0.1:9"  # nothing is called: the failures are recorded directly
_logins = itertools.count(70_001)


def _fetch(user, limit: int = 50) -> registry.QueueFetch:
    queue = registry.queue(CONTROL_FAILURE)
    return queue.fetch(scope_for(user, queue.perm), limit)


def _item(user, object_id) -> registry.WorkItem | None:
    queue = registry.queue(CONTROL_FAILURE)
    return queue.item(scope_for(user, queue.perm), str(object_id))


def _accounts(server, brand, count: int) -> list[TradingAccount]:
    profile = client_of(brand)
    return [
        TradingAccount.objects.create(
            entity=server.entity,
            profile=profile,
            server=server,
            login=next(_logins),
            account_type="standard",
            group="real\\standard",
            currency="USD",
            leverage=30,
            status=TradingAccount.Status.ENABLED,
        )
        for _ in range(count)
    ]


def _drifts(server, accounts, *, status: str, rights: str, desired: str) -> list:
    """Recorded as a reconcile records what it finds: one open failure per account and kind."""
    drifts = [
        Drift(
            account_id=account.pk,
            login=account.login,
            status=status,
            server_rights=rights,
            desired=desired,
        )
        for account in accounts
    ]
    drifts_record(server=server, drifts=drifts, now=timezone.now())
    return [ControlFailure.objects.unscoped().get(account=a) for a in accounts]


@pytest.fixture
def failures(world):
    eu_server = trading_server(world.eu, "mt5", DEAD_URL)
    uk_server = trading_server(world.uk, "mt4", DEAD_URL)
    less, more = _accounts(eu_server, world.eu_brand, 2)
    (uk_account,) = _accounts(uk_server, world.uk_brand, 1)
    world.less = _drifts(eu_server, [less], status="enabled", rights="read_only", desired="enabled")
    world.more = _drifts(
        eu_server, [more], status="read_only", rights="enabled", desired="read_only"
    )
    world.uk_failure = _drifts(
        uk_server, [uk_account], status="enabled", rights="disabled", desired="enabled"
    )
    world.eu_server = eu_server
    return world


def test_compliance_sees_its_entitys_control_failures_most_dangerous_first(failures):
    world = failures
    (less,), (more,) = world.less, world.more
    fetched = _fetch(world.eu_compliance)
    assert fetched.count == 2
    # The server lets a restricted client trade and nothing corrected it yet: critical.
    assert [(item.object_id, item.priority) for item in fetched.items] == [
        (str(more.pk), registry.PRIORITY_CRITICAL),
        (str(less.pk), registry.PRIORITY_NORMAL),
    ]
    item = fetched.items[1]
    profile = less.account.profile
    assert item.title == (
        f"{profile.given_name} {profile.family_name}: Restricted on the server while enabled "
        f"in the CRM (login {less.account.login} on EU mt5)"
    )
    assert item.detail == "CRM enabled, server read_only"
    assert (item.entity_id, item.person_id) == (world.eu.pk, profile.person_id)
    assert item.opened_at == less.detected_at
    assert item.due_at == less.detected_at + timedelta(hours=4)  # the product default
    assert item.url == f"/admin/platforms/controlfailure/{less.pk}/change/"


def test_other_entities_support_and_oversight_see_none_of_them(failures):
    world = failures
    (less,) = world.less
    (uk_failure,) = world.uk_failure
    uk = _fetch(world.uk_compliance)
    assert [item.object_id for item in uk.items] == [str(uk_failure.pk)]
    assert _item(world.uk_compliance, less.pk) is None
    assert _item(world.eu_compliance, uk_failure.pk) is None
    # Resolving is compliance's: support and group oversight (view only) have no such queue.
    for user in (world.eu_support, world.group_compliance):
        assert CONTROL_FAILURE not in {queue.key for queue in queues_for(user)}
    assert _fetch(world.superuser).count == 3


def test_a_resolved_failure_leaves_the_queue(failures):
    world = failures
    (less,) = world.less
    control_failure_resolve(
        actor=world.eu_compliance, failure=less, resolution="dealer restored the rights"
    )
    assert _item(world.eu_compliance, less.pk) is None
    assert _fetch(world.eu_compliance).count == 1


def test_due_times_follow_the_entitys_sla_rule_set(failures):
    world = failures
    ruleset_publish(
        actor=SYSTEM,
        entity=world.eu,
        kind="sla",
        document={"default_hours": 48, "hours": {CONTROL_FAILURE: 1}},
        effective_from=timezone.now() - timedelta(minutes=1),
    )
    (less,) = world.less
    (uk_failure,) = world.uk_failure
    assert _item(world.eu_compliance, less.pk).due_at == less.detected_at + timedelta(hours=1)
    uk = _item(world.uk_compliance, uk_failure.pk)
    assert uk.due_at == uk_failure.detected_at + timedelta(hours=4)


@pytest.mark.parametrize("rows", [5, 30])
def test_fetching_takes_the_same_few_queries_whatever_the_number_of_failures(
    world, rows, django_assert_max_num_queries
):
    server = trading_server(world.eu, "mt5", DEAD_URL)
    accounts = _accounts(server, world.eu_brand, rows)
    _drifts(server, accounts, status="enabled", rights="disabled", desired="enabled")
    scope = scope_for(world.eu_compliance, "platforms.resolve_controlfailure")
    queue = registry.queue(CONTROL_FAILURE)
    with django_assert_max_num_queries(3):
        fetched = queue.fetch(scope, 50)
    assert (fetched.count, len(fetched.items)) == (rows, rows)
    with django_assert_max_num_queries(1):
        assert queue.fetch(scope, 0) == registry.QueueFetch(rows, [])


def test_my_work_lists_control_failures_for_compliance(failures):
    world = failures
    (more,) = world.more
    client = Client()
    client.force_login(world.eu_compliance)
    response = client.get("/admin/work/", {"queue": CONTROL_FAILURE})
    assert response.status_code == 200
    page = response.content.decode()
    assert "Enabled on the server while restricted in the CRM" in page
    assert f"/admin/platforms/controlfailure/{more.pk}/change/" in page
