"""KYC's dashboard figures on a known set of files."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest
import time_machine

from brokercrm.backoffice.tests.figure_rows import NOW, TODAY, kyc_decision, on
from brokercrm.scoping import scope_for
from kyc.backoffice.figures import decided_by, time_to_decision

pytestmark = pytest.mark.django_db

SINCE = TODAY - timedelta(days=6)  # 2027-03-25 .. 2027-03-31


@pytest.fixture(autouse=True)
def frozen() -> Any:
    with time_machine.travel(NOW, tick=False):
        yield


@pytest.fixture
def files(world: Any) -> None:
    eu = world.eu_brand
    # 26 March: decisions after 1, 2 and 6 hours (staff) ; 30 March: after 10 minutes (the
    # checks alone) and 4 hours (staff, a rejection).
    for hours in (1, 2, 6):
        kyc_decision(eu, submitted=on(26, 8), decided=on(26, 8) + timedelta(hours=hours))
    kyc_decision(eu, submitted=on(30, 9), decided=on(30, 9) + timedelta(minutes=10), auto=True)
    kyc_decision(eu, submitted=on(30, 9), decided=on(30, 13), status="rejected")
    # Not counted: in review, decided before the period, and another entity's.
    kyc_decision(eu, submitted=on(29), decided=None, status="in_review")
    kyc_decision(eu, submitted=on(1), decided=on(2))
    kyc_decision(world.uk_brand, submitted=on(26, 8), decided=on(28, 8))


def test_time_to_decision_median_per_day_and_percentiles(world: Any, files: None) -> None:
    scope = scope_for(world.eu_compliance, "kyc.view_kycfile")

    data = time_to_decision(scope, SINCE, TODAY)

    assert data.labels == [f"2027-03-{day}" for day in range(25, 32)]
    # p90 of 10 min, 1 h, 2 h, 4 h, 6 h is 5.2 h: the series reads in hours.
    assert [series.name for series in data.series] == ["Median (hours)"]
    # 26th: median of 1, 2, 6 h; 30th: median of 10 min and 4 h = 2 h 5 min.
    assert data.series[0].values == [0, 2.0, 0, 0, 0, 2.08, 0]
    assert data.summary == "5 decided: median 2.0 h, p90 5.2 h"


def test_time_to_decision_of_no_file(world: Any) -> None:
    scope = scope_for(world.eu_compliance, "kyc.view_kycfile")

    data = time_to_decision(scope, SINCE, TODAY)

    assert data.series[0].name == "Median (minutes)"
    assert data.series[0].values == [0.0] * 7
    assert data.summary == "No file decided in this period"


def test_automatic_and_staff_decisions(world: Any, files: None) -> None:
    scope = scope_for(world.eu_compliance, "kyc.view_kycfile")

    data = decided_by(scope, SINCE, TODAY)

    assert data.labels == ["Decided by the system", "Decided by staff"]
    assert data.series[0].values == [1, 4]
    assert data.summary == "20.0% of 5 decisions automatic"


def test_uk_compliance_counts_only_uk_files(world: Any, files: None) -> None:
    scope = scope_for(world.uk_compliance, "kyc.view_kycfile")

    assert decided_by(scope, SINCE, TODAY).series[0].values == [0, 1]
    assert time_to_decision(scope, SINCE, TODAY).summary == "1 decided: median 2.0 d, p90 2.0 d"
