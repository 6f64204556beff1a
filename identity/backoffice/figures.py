"""Identity's dashboard figures: what registration decided, and the duplicates it caught."""

from __future__ import annotations

from datetime import date

from django.db.models import Count
from django.db.models.functions import TruncDate

from brokercrm.backoffice.dashboard import daily_series, day_labels, period_bounds
from brokercrm.backoffice.registry import Figure, FigureData, Series, figure_register
from brokercrm.scoping import Scope

from ..models import DuplicateCase, MatchDecision


def registrations_by_outcome(scope: Scope, since: date, until: date) -> FigureData:
    """Registration attempts per day, one series per outcome of the match engine."""
    start, end = period_bounds(since, until)
    rows = (
        MatchDecision.objects.within(scope)
        .filter(created_at__gte=start, created_at__lt=end)
        .annotate(day=TruncDate("created_at"))
        .values("day", "outcome")
        .annotate(n=Count("pk"))
        # Without this the model's ordering would join the GROUP BY.
        .order_by()
    )
    series = daily_series(
        rows, since, until, key="outcome", names=dict(MatchDecision.Outcome.choices)
    )
    total = sum(sum(one.values) for one in series)
    held = sum(
        sum(one.values)
        for one, outcome in zip(series, MatchDecision.Outcome.values, strict=True)
        if outcome in (MatchDecision.Outcome.REVIEW, MatchDecision.Outcome.BLOCK)
    )
    return FigureData(
        labels=day_labels(since, until),
        series=series,
        summary=f"{total:.0f} registrations, {held:.0f} held for review or blocked",
    )


def duplicate_cases(scope: Scope, since: date, until: date) -> FigureData:
    """Duplicate cases raised in the period, by where their decision stands."""
    start, end = period_bounds(since, until)
    counts = dict(
        DuplicateCase.objects.within(scope)
        .filter(created_at__gte=start, created_at__lt=end)
        .values("status")
        .annotate(n=Count("pk"))
        .order_by()
        .values_list("status", "n")
    )
    statuses = DuplicateCase.Status
    values = [float(counts.get(status, 0)) for status in statuses.values]
    total = sum(values)
    decided = total - counts.get(statuses.OPEN, 0)
    return FigureData(
        labels=list(statuses.labels),
        series=[Series("Cases", values)],
        summary=f"{total:.0f} duplicates caught, {decided:.0f} decided",
    )


def register() -> None:
    figure_register(
        Figure(
            key="identity.registrations",
            label="Registrations by outcome",
            perm="identity.view_matchdecision",
            chart="stacked",
            compute=registrations_by_outcome,
            order=10,
            description="What the match engine decided for each registration attempt.",
        )
    )
    figure_register(
        Figure(
            key="identity.duplicates",
            label="Duplicates caught and their decisions",
            perm="identity.view_duplicatecase",
            chart="doughnut",
            compute=duplicate_cases,
            order=20,
        )
    )
