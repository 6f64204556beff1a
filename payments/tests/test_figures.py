"""Payments' dashboard figures on a known set of deposits, attempts and withdrawals."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest
import time_machine

from brokercrm.backoffice.tests.figure_rows import (
    NOW,
    TODAY,
    credited_deposit,
    deposit_attempt,
    merchant_of,
    on,
    paid_withdrawal,
    profile_of,
    withdrawal,
)
from brokercrm.scoping import scope_for
from payments.backoffice.figures import net_deposits, psp_acceptance, withdrawals_by_status

pytestmark = pytest.mark.django_db

SINCE = TODAY - timedelta(days=6)  # 2027-03-25 .. 2027-03-31


@pytest.fixture(autouse=True)
def frozen() -> Any:
    with time_machine.travel(NOW, tick=False):
        yield


def test_net_deposits_per_currency(world: Any) -> None:
    # Given EU deposits and payouts in EUR and USD in the period, one deposit before it, and UK
    eu, uk = profile_of(world.eu_brand), profile_of(world.uk_brand)
    credited_deposit(eu, "1000.50", "EUR", on(26))
    credited_deposit(eu, "200", "EUR", on(30))
    credited_deposit(eu, "300", "USD", on(27))
    credited_deposit(eu, "5000", "EUR", on(20))  # before the period
    paid_withdrawal(eu, "150.25", "EUR", on(28))
    paid_withdrawal(eu, "400", "USD", on(29))
    credited_deposit(uk, "700", "GBP", on(26))

    scope = scope_for(world.eu_compliance, "payments.view_deposit")
    data = net_deposits(scope, SINCE, TODAY)

    assert data.labels == ["EUR", "USD"]
    by_name = {series.name: series.values for series in data.series}
    # The money the payouts were funded with is a ledger journal, not a deposit: not counted.
    assert by_name == {
        "Deposits credited": [1200.5, 300.0],
        "Withdrawals paid": [150.25, 400.0],
        "Net": [1050.25, -100.0],
    }
    assert data.summary == "Net 1,050.25 EUR · -100.00 USD"


def test_acceptance_rate_per_route(world: Any) -> None:
    eu = profile_of(world.eu_brand)
    cards, bank = merchant_of(world.eu, "eu-cards"), merchant_of(world.eu, "eu-bank")
    for status in ("approved", "approved", "approved", "declined"):
        deposit_attempt(cards, eu, status, on(27))
    deposit_attempt(bank, eu, "approved", on(28))
    deposit_attempt(bank, eu, "unknown", on(28))
    deposit_attempt(bank, eu, "sent", on(31))  # no answer yet: not counted
    deposit_attempt(cards, eu, "declined", on(2))  # before the period
    uk = profile_of(world.uk_brand)
    deposit_attempt(merchant_of(world.uk, "uk-cards"), uk, "declined", on(27))

    scope = scope_for(world.eu_compliance, "payments.view_depositattempt")
    data = psp_acceptance(scope, SINCE, TODAY)

    assert data.labels == ["FigPay · eu-bank", "FigPay · eu-cards"]
    assert data.series[0].values == [50.0, 75.0]
    assert data.summary == "66.7% of 6 attempts accepted"


def test_withdrawals_by_status_and_age_of_the_open_ones(world: Any) -> None:
    eu = profile_of(world.eu_brand)
    # Open, at NOW (31 March 15:00): 5 hours, 2 days, and 20 days old (requested before the
    # period: an open one counts whatever its age).
    withdrawal(eu, "10", "EUR", "pending_approval", NOW - timedelta(hours=5))
    withdrawal(eu, "10", "EUR", "pending_approval", NOW - timedelta(days=2))
    withdrawal(eu, "10", "EUR", "approved", NOW - timedelta(days=20))
    # Closed, requested in the period; and one closed before it.
    withdrawal(eu, "10", "EUR", "rejected", on(26))
    withdrawal(eu, "10", "EUR", "failed", on(27))
    withdrawal(eu, "10", "EUR", "rejected", on(3))
    withdrawal(profile_of(world.uk_brand), "10", "GBP", "pending_approval", on(30))

    scope = scope_for(world.eu_compliance, "payments.view_withdrawal")
    data = withdrawals_by_status(scope, SINCE, TODAY)

    assert data.labels == [
        "Waiting for approval",
        "Approved, paying out",
        "Paid",
        "Partly paid, rest returned to the wallet",
        "Payout failed, returned to the wallet",
        "Rejected",
    ]
    by_name = {series.name: series.values for series in data.series}
    assert by_name == {
        "Open < 1 day": [1, 0, 0, 0, 0, 0],
        "Open 1-3 days": [1, 0, 0, 0, 0, 0],
        "Open > 3 days": [0, 1, 0, 0, 0, 0],
        "Requested in the period, closed": [0, 0, 0, 0, 1, 1],
    }
    assert data.summary == "3 open, 1 of them waiting more than 3 days"


def test_payment_figures_read_in_a_bounded_number_of_queries(
    world: Any, django_assert_num_queries: Any
) -> None:
    eu = profile_of(world.eu_brand)
    merchant = merchant_of(world.eu, "eu-cards")
    for day in range(25, 31):
        credited_deposit(eu, "10", "EUR", on(day))
        deposit_attempt(merchant, eu, "approved", on(day))
        withdrawal(eu, "10", "EUR", "pending_approval", on(day))
    scope = scope_for(world.superuser, "payments.view_deposit")

    with django_assert_num_queries(4):
        net_deposits(scope, SINCE, TODAY)
        psp_acceptance(scope, SINCE, TODAY)
        withdrawals_by_status(scope, SINCE, TODAY)
