"""Platforms' dashboard figure: the control failures open now, by kind."""

from __future__ import annotations

from datetime import date

from django.db.models import Count

from brokercrm.backoffice.registry import Figure, FigureData, Series, figure_register
from brokercrm.scoping import Scope

from ..models import ControlFailure


def open_control_failures(scope: Scope, since: date, until: date) -> FigureData:
    """Open now, whatever the period: a failure stays on the board until it is resolved."""
    counts = dict(
        ControlFailure.objects.within(scope)
        .filter(status=ControlFailure.Status.OPEN)
        .values("kind")
        .annotate(n=Count("pk"))
        .order_by()
        .values_list("kind", "n")
    )
    values = [float(counts.get(kind, 0)) for kind in ControlFailure.Kind.values]
    return FigureData(
        labels=list(ControlFailure.Kind.labels),
        series=[Series("Open", values)],
        summary=f"{sum(values):.0f} open control failures",
    )


def register() -> None:
    figure_register(
        Figure(
            key="platforms.control_failures",
            label="Open control failures by kind",
            perm="platforms.view_controlfailure",
            chart="bar",
            compute=open_control_failures,
            order=80,
            description="Where the CRM and a trading server disagree about an account.",
        )
    )
