"""KYC's dashboard figures: how long a file waits for its decision, and who decides."""

from __future__ import annotations

from datetime import date

from django.db.models import Count, F, Q, QuerySet
from django.db.models.functions import TruncDate

from brokercrm.backoffice.dashboard import (
    Epoch,
    Percentile,
    daily_series,
    day_labels,
    duration_text,
    percent,
    period_bounds,
)
from brokercrm.backoffice.registry import Figure, FigureData, Series, figure_register
from brokercrm.scoping import Scope

from ..models import KycFile

DECIDED = (KycFile.Status.APPROVED, KycFile.Status.REJECTED)
# Per-day medians read in minutes while decisions come within hours, in hours beyond.
HOURS_FROM_SECONDS = 3 * 3600


def _decided(scope: Scope, since: date, until: date) -> QuerySet[KycFile]:
    start, end = period_bounds(since, until)
    return KycFile.objects.within(scope).filter(
        status__in=DECIDED,
        decided_at__gte=start,
        decided_at__lt=end,
        submitted_at__isnull=False,
    )


def time_to_decision(scope: Scope, since: date, until: date) -> FigureData:
    """Submission to approval or rejection, for files decided in the period: the median per
    day, and the period's median and 90th percentile in the summary."""
    decided = _decided(scope, since, until)
    wait = Epoch(F("decided_at") - F("submitted_at"))
    overall = decided.aggregate(
        n=Count("pk"), median=Percentile(wait, 0.5), p90=Percentile(wait, 0.9)
    )
    in_hours = (overall["p90"] or 0) >= HOURS_FROM_SECONDS
    unit, divisor = ("hours", 3600) if in_hours else ("minutes", 60)
    rows = (
        decided.annotate(day=TruncDate("decided_at"))
        .values("day")
        .annotate(median=Percentile(wait, 0.5))
        .order_by()
    )
    per_day = [
        {"day": row["day"], "all": "all", "n": round((row["median"] or 0) / divisor, 2)}
        for row in rows
    ]
    series = daily_series(per_day, since, until, key="all", names={"all": f"Median ({unit})"})
    summary = (
        f"{overall['n']} decided: median {duration_text(overall['median'])}, "
        f"p90 {duration_text(overall['p90'])}"
        if overall["n"]
        else "No file decided in this period"
    )
    return FigureData(labels=day_labels(since, until), series=series, summary=summary)


def decided_by(scope: Scope, since: date, until: date) -> FigureData:
    """Files decided in the period: approved by the checks alone, or decided by staff."""
    counts = _decided(scope, since, until).aggregate(
        system=Count("pk", filter=Q(auto_approved=True)),
        staff=Count("pk", filter=Q(auto_approved=False)),
    )
    total = counts["system"] + counts["staff"]
    return FigureData(
        labels=["Decided by the system", "Decided by staff"],
        series=[Series("Files", [float(counts["system"]), float(counts["staff"])])],
        summary=(
            f"{percent(counts['system'], total):.1f}% of {total} decisions automatic"
            if total
            else "No file decided in this period"
        ),
    )


def register() -> None:
    figure_register(
        Figure(
            key="kyc.time_to_decision",
            label="KYC time to decision",
            perm="kyc.view_kycfile",
            chart="line",
            compute=time_to_decision,
            order=30,
            description="From submission to approval or rejection, files decided each day.",
        )
    )
    figure_register(
        Figure(
            key="kyc.decided_by",
            label="KYC decisions: automatic or by staff",
            perm="kyc.view_kycfile",
            chart="doughnut",
            compute=decided_by,
            order=40,
        )
    )
