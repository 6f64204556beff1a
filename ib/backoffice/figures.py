"""IB's dashboard figure: commissions paid out to introducing brokers."""

from __future__ import annotations

from datetime import date
from decimal import Decimal

from django.db.models import Sum
from django.db.models.functions import TruncDate

from brokercrm.backoffice.dashboard import daily_series, day_labels, period_bounds
from brokercrm.backoffice.registry import Figure, FigureData, figure_register
from brokercrm.backoffice.templatetags.backoffice import money_text
from brokercrm.scoping import Scope

from ..models import CommissionLine


def ib_payouts(scope: Scope, since: date, until: date) -> FigureData:
    """Paid commission lines per day (the day of their payout journal), one series per
    currency: amounts of different currencies are not added up."""
    start, end = period_bounds(since, until)
    rows = list(
        CommissionLine.objects.within(scope)
        .filter(
            status=CommissionLine.Status.PAID,
            payout_journal__created_at__gte=start,
            payout_journal__created_at__lt=end,
            # A line is paid after its deal: this lets the deal-time block index skip the
            # lines of deals made after the period.
            deal_time__lt=end,
        )
        .annotate(day=TruncDate("payout_journal__created_at"))
        .values("day", "currency")
        .annotate(total=Sum("paid_amount"))
        .order_by()
    )
    totals: dict[str, Decimal] = {}
    for row in rows:
        totals[row["currency"]] = totals.get(row["currency"], Decimal(0)) + row["total"]
    currencies = sorted(totals)
    series = daily_series(
        rows, since, until, key="currency", names={code: code for code in currencies}, value="total"
    )
    return FigureData(
        labels=day_labels(since, until),
        series=series,
        summary=(
            "Paid " + " · ".join(money_text(totals[code], code) for code in currencies)
            if currencies
            else "No commission paid in this period"
        ),
    )


def register() -> None:
    figure_register(
        Figure(
            key="ib.payouts",
            label="IB payouts",
            perm="ib.view_commissionline",
            chart="bar",
            compute=ib_payouts,
            order=90,
            description="Commissions paid to introducing brokers' wallets, per currency.",
        )
    )
