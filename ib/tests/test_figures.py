"""IB's dashboard figure on a known set of paid commission lines."""

from __future__ import annotations

import datetime as dt
from datetime import timedelta
from decimal import Decimal
from typing import Any

import pytest
import time_machine

from brokercrm.backoffice.tests.figure_rows import NOW, TODAY, journal_at, on
from brokercrm.scoping import scope_for
from ib.backoffice.figures import ib_payouts
from ib.models import CommissionLine
from wallets.choices import AccountKind
from wallets.services import system_account

pytestmark = pytest.mark.django_db

SINCE = TODAY - timedelta(days=6)  # 2027-03-25 .. 2027-03-31
_deals = iter(range(1, 10_000))


def _paid(entity: Any, amount: str, currency: str, at: dt.datetime, status: str = "paid") -> None:
    """A commission line paid by a payout journal of `at`. Lines name their deal, IB and plan
    version without a database check (the batch writes millions): the figure reads only the
    line and its payout journal, so those are all this writes."""
    journal = None
    if status == "paid":
        accounts = [
            system_account(entity=entity, kind=kind, currency=currency)
            for kind in (AccountKind.IB_PAYABLE, AccountKind.FEE_REVENUE)
        ]
        journal = journal_at(entity.pk, "commission", *accounts, amount, at)
    CommissionLine.objects.create(
        entity=entity,
        deal_id=next(_deals),
        ib_id=1,
        tier=1,
        kind="commission",
        deal_time=at - timedelta(hours=1),
        lots=Decimal("1"),
        amount=Decimal(amount),
        currency=currency,
        plan_version_id=1,
        status=status,
        paid_amount=Decimal(amount) if journal else None,
        payout_journal=journal,
    )


def test_payouts_per_currency_per_day(world: Any) -> None:
    _paid(world.eu, "10.50", "USD", on(26))
    _paid(world.eu, "4.50", "USD", on(26))
    _paid(world.eu, "7", "EUR", on(30))
    _paid(world.eu, "99", "USD", on(26), status="computed")  # not paid yet
    _paid(world.eu, "50", "USD", on(1))  # paid before the period
    _paid(world.uk, "20", "USD", on(26))

    with time_machine.travel(NOW, tick=False):
        scope = scope_for(world.group_compliance, "ib.view_commissionline")
        everything = ib_payouts(scope, SINCE, TODAY)
        eu_only = ib_payouts(scope_for(world.eu_admin, "ib.view_commissionline"), SINCE, TODAY)

    assert everything.labels == [f"2027-03-{day}" for day in range(25, 32)]
    assert {series.name: series.values for series in everything.series} == {
        "EUR": [0, 0, 0, 0, 0, 7.0, 0],
        "USD": [0, 35.0, 0, 0, 0, 0, 0],
    }
    assert everything.summary == "Paid 7.00 EUR · 35.00 USD"
    # An entity administrator holds no IB permission: no figure, nothing counted.
    assert eu_only.series == []
    assert eu_only.summary == "No commission paid in this period"
