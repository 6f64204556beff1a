"""Identity's dashboard figures on a known set of rows."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest
import time_machine

from brokercrm.backoffice.tests.figure_rows import NOW, TODAY, duplicate_case, match_decision, on
from brokercrm.scoping import scope_for
from identity.backoffice.figures import duplicate_cases, registrations_by_outcome

pytestmark = pytest.mark.django_db

SINCE = TODAY - timedelta(days=6)  # 2027-03-25 .. 2027-03-31


@pytest.fixture(autouse=True)
def frozen() -> Any:
    with time_machine.travel(NOW, tick=False):
        yield


def test_registrations_count_each_outcome_per_day_with_every_day_present(world: Any) -> None:
    # Given EU decisions on two days of the week, one before it, and UK decisions
    for outcome in ("new", "new", "auto_link", "review"):
        match_decision(world.eu_brand, outcome, on(26))
    match_decision(world.eu_brand, "block", on(31, hour=8))
    match_decision(world.eu_brand, "duplicate", on(31, hour=9))
    match_decision(world.eu_brand, "new", on(24))  # before the period
    match_decision(world.uk_brand, "new", on(26))

    # When the EU compliance officer's figure is computed
    scope = scope_for(world.eu_compliance, "identity.view_matchdecision")
    data = registrations_by_outcome(scope, SINCE, TODAY)

    # Then every day has a value, and only EU rows of the period count
    assert data.labels == [f"2027-03-{day}" for day in range(25, 32)]
    by_name = {series.name: series.values for series in data.series}
    assert list(by_name) == [
        "New person",
        "Linked to an existing person",
        "Held for review",
        "Blocked",
        "Refused: already a client of this entity",
    ]
    assert by_name["New person"] == [0, 2, 0, 0, 0, 0, 0]
    assert by_name["Linked to an existing person"] == [0, 1, 0, 0, 0, 0, 0]
    assert by_name["Held for review"] == [0, 1, 0, 0, 0, 0, 0]
    assert by_name["Blocked"] == [0, 0, 0, 0, 0, 0, 1]
    assert by_name["Refused: already a client of this entity"] == [0, 0, 0, 0, 0, 0, 1]
    assert data.summary == "6 registrations, 2 held for review or blocked"


def test_group_compliance_sees_every_entity(world: Any) -> None:
    match_decision(world.eu_brand, "new", on(26))
    match_decision(world.uk_brand, "new", on(26))

    scope = scope_for(world.group_compliance, "identity.view_matchdecision")
    data = registrations_by_outcome(scope, SINCE, TODAY)

    assert data.series[0].values == [0, 2, 0, 0, 0, 0, 0]


def test_duplicate_cases_by_decision(world: Any) -> None:
    # Given EU cases raised in the period, one raised before it, one UK case
    for status in ("open", "open", "linked", "distinct", "blocked"):
        duplicate_case(world.eu_brand, status, on(27))
    duplicate_case(world.eu_brand, "linked", on(1))
    duplicate_case(world.uk_brand, "open", on(27))

    scope = scope_for(world.eu_compliance, "identity.view_duplicatecase")
    data = duplicate_cases(scope, SINCE, TODAY)

    assert data.labels == ["Open", "Linked (merged)", "Distinct people", "Blocked"]
    assert data.series[0].values == [2, 1, 1, 1]
    assert data.summary == "5 duplicates caught, 3 decided"


def test_figures_read_in_a_bounded_number_of_queries(
    world: Any, django_assert_num_queries: Any
) -> None:
    for day in range(25, 32):
        match_decision(world.eu_brand, "new", on(day))
        duplicate_case(world.eu_brand, "open", on(day))
    scope = scope_for(world.superuser, "identity.view_matchdecision")

    with django_assert_num_queries(2):
        registrations_by_outcome(scope, SINCE, TODAY)
        duplicate_cases(scope, SINCE, TODAY)
