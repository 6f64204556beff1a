"""Payments' dashboard figures: net deposits per currency, how often each PSP route accepts
a deposit, and where withdrawals stand."""

from __future__ import annotations

from datetime import date, timedelta
from decimal import Decimal

from django.db.models import Case, CharField, Count, Q, Sum, Value, When
from django.utils import timezone

from brokercrm.backoffice.dashboard import percent, period_bounds
from brokercrm.backoffice.registry import Figure, FigureData, Series, figure_register
from brokercrm.backoffice.templatetags.backoffice import money_text
from brokercrm.scoping import Scope

from ..models import Deposit, DepositAttempt, Withdrawal, WithdrawalLeg

CREDITED = (Deposit.Status.CREDITED, Deposit.Status.PARKED)
# Attempts the PSP answered or let time out; one still waiting for its answer is not counted.
ANSWERED = (
    DepositAttempt.Status.APPROVED,
    DepositAttempt.Status.DECLINED,
    DepositAttempt.Status.UNKNOWN,
)
OPEN_WITHDRAWALS = (Withdrawal.Status.PENDING_APPROVAL, Withdrawal.Status.APPROVED)
AGE_BUCKETS = {"day": "Open < 1 day", "days": "Open 1-3 days", "older": "Open > 3 days"}
CLOSED = "closed"


def net_deposits(scope: Scope, since: date, until: date) -> FigureData:
    """Per wallet currency: deposits credited (parked ones too: the money is on the ledger),
    withdrawal legs paid, and the difference, over the period."""
    start, end = period_bounds(since, until)
    credited = dict(
        Deposit.objects.within(scope)
        .filter(status__in=CREDITED, journal__created_at__gte=start, journal__created_at__lt=end)
        .values("currency")
        .annotate(total=Sum("amount"))
        .order_by()
        .values_list("currency", "total")
    )
    # A leg is paid when its hold is posted: that moment is when the money left.
    paid = dict(
        WithdrawalLeg.objects.within(scope)
        .filter(
            status=WithdrawalLeg.Status.PAID,
            hold__resolved_at__gte=start,
            hold__resolved_at__lt=end,
        )
        .values("withdrawal__currency")
        .annotate(total=Sum("amount"))
        .order_by()
        .values_list("withdrawal__currency", "total")
    )
    currencies = sorted(set(credited) | set(paid))
    zero = Decimal(0)
    net = {code: credited.get(code, zero) - paid.get(code, zero) for code in currencies}
    return FigureData(
        labels=currencies,
        series=[
            Series("Deposits credited", [float(credited.get(code, zero)) for code in currencies]),
            Series("Withdrawals paid", [float(paid.get(code, zero)) for code in currencies]),
            Series("Net", [float(net[code]) for code in currencies]),
        ],
        summary=(
            "Net " + " · ".join(money_text(net[code], code) for code in currencies)
            if currencies
            else "No money in or out in this period"
        ),
    )


def psp_acceptance(scope: Scope, since: date, until: date) -> FigureData:
    """Per route (the PSP and the merchant account the attempt went through): approved
    attempts out of those answered, in percent."""
    start, end = period_bounds(since, until)
    rows = list(
        DepositAttempt.objects.within(scope)
        .filter(status__in=ANSWERED, created_at__gte=start, created_at__lt=end)
        .values("merchant_account_id", "merchant_account__provider__name", "merchant_account__code")
        .annotate(
            attempts=Count("pk"),
            accepted=Count("pk", filter=Q(status=DepositAttempt.Status.APPROVED)),
        )
        .order_by("merchant_account__provider__name", "merchant_account__code")
    )
    attempts = sum(row["attempts"] for row in rows)
    accepted = sum(row["accepted"] for row in rows)
    return FigureData(
        labels=[
            f"{row['merchant_account__provider__name']} · {row['merchant_account__code']}"
            for row in rows
        ],
        series=[
            Series("Accepted (%)", [percent(row["accepted"], row["attempts"]) for row in rows])
        ],
        summary=(
            f"{percent(accepted, attempts):.1f}% of {attempts} attempts accepted"
            if attempts
            else "No deposit attempt in this period"
        ),
    )


def withdrawals_by_status(scope: Scope, since: date, until: date) -> FigureData:
    """Every open withdrawal, by how long it has waited, and the withdrawals requested in the
    period that are closed, per status."""
    start, end = period_bounds(since, until)
    # Ages count to now, or to the period's end when that is earlier.
    moment = min(timezone.now(), end)
    bucket = Case(
        When(~Q(status__in=OPEN_WITHDRAWALS), then=Value(CLOSED)),
        When(created_at__gt=moment - timedelta(days=1), then=Value("day")),
        When(created_at__gt=moment - timedelta(days=3), then=Value("days")),
        default=Value("older"),
        output_field=CharField(),
    )
    counts = {
        (row["status"], row["bucket"]): row["n"]
        for row in Withdrawal.objects.within(scope)
        .filter(Q(status__in=OPEN_WITHDRAWALS) | Q(created_at__gte=start, created_at__lt=end))
        .annotate(bucket=bucket)
        .values("status", "bucket")
        .annotate(n=Count("pk"))
        .order_by()
    }
    statuses = Withdrawal.Status.values
    names = {**AGE_BUCKETS, CLOSED: "Requested in the period, closed"}
    series = [
        Series(name, [float(counts.get((status, key), 0)) for status in statuses])
        for key, name in names.items()
    ]
    still_open = sum(n for (status, _), n in counts.items() if status in OPEN_WITHDRAWALS)
    late = sum(n for (_, key), n in counts.items() if key == "older")
    return FigureData(
        labels=list(Withdrawal.Status.labels),
        series=series,
        summary=f"{still_open} open, {late} of them waiting more than 3 days",
    )


def register() -> None:
    figure_register(
        Figure(
            key="payments.net_deposits",
            label="Net deposits by currency",
            perm="payments.view_deposit",
            chart="bar",
            compute=net_deposits,
            order=50,
            description="Deposits credited minus withdrawals paid, per wallet currency.",
        )
    )
    figure_register(
        Figure(
            key="payments.psp_acceptance",
            label="PSP acceptance rate by route",
            perm="payments.view_depositattempt",
            chart="bar",
            compute=psp_acceptance,
            order=60,
            description="Approved deposit attempts out of those answered or timed out.",
        )
    )
    figure_register(
        Figure(
            key="payments.withdrawals",
            label="Withdrawals by status and age",
            perm="payments.view_withdrawal",
            chart="stacked",
            compute=withdrawals_by_status,
            order=70,
        )
    )
