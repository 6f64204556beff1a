"""The dashboard page: who sees which figures, the entity and period choice, the vendored
chart file, and a number of queries that does not grow with the rows."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest
import time_machine
from django.test import Client

from brokercrm.backoffice.dashboard import scope_in_entity
from brokercrm.backoffice.tests.figure_rows import (
    NOW,
    credited_deposit,
    kyc_decision,
    match_decision,
    on,
    profile_of,
)
from brokercrm.scoping import Scope, scope_for

pytestmark = pytest.mark.django_db

CHART_SCRIPT = "/static/backoffice/vendor/chart.umd.min.js"


@pytest.fixture(autouse=True)
def frozen() -> Any:
    with time_machine.travel(NOW, tick=False):
        yield


def _page(user: Any, **params: Any) -> Any:
    client = Client()
    client.force_login(user)
    return client.get("/admin/", params)


def _rows(world: Any, n: int) -> None:
    for index in range(n):
        brand = world.eu_brand if index % 2 else world.uk_brand
        match_decision(brand, "new", on(25 + index % 7))
        kyc_decision(brand, submitted=on(26), decided=on(26) + timedelta(hours=1 + index))
    credited_deposit(profile_of(world.eu_brand), "10", "EUR", on(27))


@pytest.mark.parametrize("persona", ["superuser", "eu_compliance", "group_compliance"])
def test_the_dashboard_renders_with_its_charts(world: Any, persona: str) -> None:
    _rows(world, 4)

    response = _page(getattr(world, persona))

    assert response.status_code == 200
    html = response.content.decode()
    assert f'<script src="{CHART_SCRIPT}" defer></script>' in html
    assert '<script src="/static/backoffice/dashboard.js" defer></script>' in html
    assert "unfold/js/chart" not in html.split("backoffice/dashboard.js")[1]
    assert 'id="figure-data-identity-registrations" type="application/json"' in html
    assert 'data-figure="figure-data-identity-registrations"' in html
    assert "Figures as a table" in html
    assert "<script>" not in html.split('id="dashboard"')[1]


def test_eu_compliance_sees_eu_figures_only(world: Any) -> None:
    _rows(world, 4)

    response = _page(world.eu_compliance)

    entries = {entry["figure"].key: entry for entry in response.context["figures"]}
    registrations = entries["identity.registrations"]["data"]
    # Two EU decisions (odd rows) in the week.
    assert sum(registrations.series[0].values[-7:]) == 2
    assert [choice["code"] for choice in response.context["entities"]] == ["EU"]
    assert response.context["all_label"] == "All my entities"
    # Compliance holds no IB permission: no IB figure.
    assert "ib.payouts" not in entries


def test_group_compliance_chooses_one_entity(world: Any) -> None:
    _rows(world, 4)

    everything = _page(world.group_compliance, days=7)
    uk_only = _page(world.group_compliance, days=7, entity=world.uk.pk)

    assert everything.context["all_label"] == "Group-wide"
    assert [choice["code"] for choice in everything.context["entities"]] == ["EU", "UK"]

    def registered(response: Any) -> float:
        entry = next(
            e for e in response.context["figures"] if e["figure"].key == "identity.registrations"
        )
        assert len(entry["data"].labels) == 7
        return sum(entry["data"].series[0].values)

    assert registered(everything) == 4
    assert registered(uk_only) == 2
    assert uk_only.context["entity_id"] == world.uk.pk


def test_an_entity_outside_the_scope_gives_the_users_own_scope(world: Any) -> None:
    _rows(world, 4)

    response = _page(world.eu_compliance, entity=world.uk.pk, days="bogus")

    assert response.status_code == 200
    assert response.context["entity_id"] is None
    assert response.context["days"] == 30
    registrations = next(
        e for e in response.context["figures"] if e["figure"].key == "identity.registrations"
    )
    assert sum(registrations["data"].series[0].values) == 2


def test_narrowing_a_scope_never_widens_it(world: Any) -> None:
    eu, uk = world.eu.pk, world.uk.pk
    everything = scope_for(world.superuser, "kyc.view_kycfile")
    eu_scope = scope_for(world.eu_compliance, "kyc.view_kycfile")
    desk_scope = scope_for(world.eu_desk_sales, "identity.view_clientprofile")
    desks = {world.eu_desk.pk: eu}

    assert scope_in_entity(everything, uk, desks) == Scope(
        perm="kyc.view_kycfile", entity_ids=frozenset({uk})
    )
    assert scope_in_entity(eu_scope, eu, desks).entity_ids == frozenset({eu})
    assert scope_in_entity(eu_scope, uk, desks).is_empty
    assert scope_in_entity(desk_scope, eu, desks).desk_ids == frozenset({world.eu_desk.pk})
    assert scope_in_entity(desk_scope, eu, desks).entity_ids == frozenset()
    assert scope_in_entity(desk_scope, uk, desks).is_empty
    assert scope_in_entity(eu_scope, None, desks) is eu_scope


def test_queue_tiles_link_to_the_work_page(world: Any) -> None:
    from brokercrm.backoffice import registry

    queue = registry.Queue(
        key="test.dashboard",
        label="Test queue",
        perm="kyc.view_kycfile",
        fetch=lambda scope, limit: registry.QueueFetch(count=3, items=[]),
        item=lambda scope, object_id: None,
    )
    registry.queue_register(queue)
    try:
        response = _page(world.eu_compliance)
    finally:
        registry._queues.pop(queue.key)

    html = response.content.decode()
    assert 'href="/admin/work/?queue=test.dashboard"' in html
    assert '<span class="bo-tile-count">3</span><span class="bo-tile-label">Test queue' in html


@pytest.mark.parametrize("persona", ["superuser", "group_compliance"])
def test_queries_do_not_grow_with_rows(
    world: Any, persona: str, django_assert_max_num_queries: Any
) -> None:
    user = getattr(world, persona)
    _rows(world, 5)
    _page(user)  # warm the per-process caches (content types, permissions)
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    with CaptureQueriesContext(connection) as few:
        _page(user)
    _rows(world, 30)
    with django_assert_max_num_queries(len(few.captured_queries)):
        _page(user)
