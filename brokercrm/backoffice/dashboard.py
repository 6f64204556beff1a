"""The dashboard home: the user's work queues with their counts, then each registered figure
computed over the rows the user's scope covers, for one period and, when they choose one, one
entity of that scope.

The helpers at the top are what the apps' figures (`<app>/backoffice/figures.py`) build their
data with: the period's bounds and days, per-day series with every day present, PostgreSQL's
percentiles, and durations in words.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import replace
from datetime import date, datetime, time, timedelta
from typing import Any
from urllib.parse import urlencode

from django.apps import apps
from django.db.models import Aggregate, FloatField, Func
from django.http import HttpRequest, HttpResponse
from django.template.response import TemplateResponse
from django.urls import reverse
from django.utils import timezone

from brokercrm.scoping import Scope, scope_for

from . import registry, work

PERIODS = (7, 30, 90)
DEFAULT_DAYS = 30


# --- what figures build their data with ----------------------------------------------------


def period_bounds(since: date, until: date) -> tuple[datetime, datetime]:
    """[start, end): from the first moment of `since` to the first moment after `until`, in
    the current time zone, so that a row's day (TruncDate) and the bounds agree."""
    zone = timezone.get_current_timezone()
    start = datetime.combine(since, time.min, tzinfo=zone)
    end = datetime.combine(until + timedelta(days=1), time.min, tzinfo=zone)
    return start, end


def period_days(since: date, until: date) -> list[date]:
    return [since + timedelta(days=offset) for offset in range((until - since).days + 1)]


def day_labels(since: date, until: date) -> list[str]:
    return [day.isoformat() for day in period_days(since, until)]


def daily_series(
    rows: Iterable[Mapping[str, Any]],
    since: date,
    until: date,
    *,
    key: str,
    names: Mapping[Any, str],
    value: str = "n",
) -> list[registry.Series]:
    """One series per entry of `names` ({key value: series name}), one value per day of the
    period, 0 on days without a row. `rows` are aggregates ({"day", key, value}), a few per
    day: the database grouped them, this only lays them out."""
    days = {day: index for index, day in enumerate(period_days(since, until))}
    values = {name_key: [0.0] * len(days) for name_key in names}
    for row in rows:
        index = days.get(row["day"])
        if index is not None and row[key] in values:
            values[row[key]][index] += float(row[value] or 0)
    return [registry.Series(name, values[name_key]) for name_key, name in names.items()]


def percent(part: float, whole: float) -> float:
    return round(100 * part / whole, 1) if whole else 0.0


class Epoch(Func):
    """Seconds in an interval (`decided_at - submitted_at`), as a double."""

    template = "EXTRACT(EPOCH FROM %(expressions)s)::double precision"
    output_field = FloatField()


class Percentile(Aggregate):
    """PostgreSQL's `percentile_cont(fraction) WITHIN GROUP (ORDER BY expression)`: the
    interpolated percentile, computed where the rows are."""

    function = "percentile_cont"
    name = "Percentile"
    template = "%(function)s(%(fraction)s) WITHIN GROUP (ORDER BY %(expressions)s)"
    output_field = FloatField()

    def __init__(self, expression: Any, fraction: float, **extra: Any) -> None:
        fraction = float(fraction)
        if not 0 <= fraction <= 1:
            raise ValueError("A percentile's fraction lies between 0 and 1.")
        super().__init__(expression, fraction=repr(fraction), **extra)


def duration_text(seconds: float | None) -> str:
    """`42 s`, `12 min`, `3.5 h`, `2.1 d`: a time to decision in words."""
    if seconds is None:
        return "—"
    if seconds < 90:
        return f"{seconds:.0f} s"
    if seconds < 90 * 60:
        return f"{seconds / 60:.0f} min"
    if seconds < 48 * 3600:
        return f"{seconds / 3600:.1f} h"
    return f"{seconds / 86400:.1f} d"


def number_text(value: float) -> str:
    return f"{value:,.0f}" if float(value).is_integer() else f"{value:,.2f}"


# --- the page ---------------------------------------------------------------------------------


def scope_in_entity(scope: Scope, entity_id: int | None, desk_entity: Mapping[int, int]) -> Scope:
    """The part of `scope` inside one entity: never more than `scope`. A whole-entity grant
    (or everything) keeps that entity; desk grants keep that entity's desks; an entity the
    scope does not reach leaves nothing. Rows of no entity belong to no chosen entity."""
    if entity_id is None:
        return scope
    if scope.everything or entity_id in scope.entity_ids:
        return replace(
            scope,
            entity_ids=frozenset({entity_id}),
            desk_ids=frozenset(),
            desk_entity_ids=frozenset(),
            everything=False,
            group_wide=False,
        )
    desks = frozenset(desk for desk in scope.desk_ids if desk_entity.get(desk) == entity_id)
    return replace(
        scope,
        entity_ids=frozenset(),
        desk_ids=desks,
        desk_entity_ids=frozenset({entity_id}) if desks else frozenset(),
        everything=False,
        group_wide=False,
    )


def _days(request: HttpRequest) -> int:
    try:
        days = int(request.GET.get("days", DEFAULT_DAYS))
    except ValueError:
        return DEFAULT_DAYS
    return days if days in PERIODS else DEFAULT_DAYS


def _entity_choices(scopes: list[Scope]) -> list[dict[str, Any]]:
    legal_entity = apps.get_model("entities", "LegalEntity")
    entities = legal_entity.objects.order_by("code")
    if not any(scope.everything for scope in scopes):
        entities = entities.filter(pk__in=set().union(*(scope.any_entity_ids for scope in scopes)))
    return [
        {"id": pk, "code": code, "name": name}
        for pk, code, name in entities.values_list("pk", "code", "legal_name")
    ]


def _desk_entities(scopes: list[Scope]) -> dict[int, int]:
    desk_ids = set().union(*(scope.desk_ids for scope in scopes))
    if not desk_ids:
        return {}
    desk = apps.get_model("entities", "Desk")
    return dict(desk.objects.unscoped().filter(pk__in=desk_ids).values_list("pk", "entity_id"))


def _chosen_entity(request: HttpRequest, choices: list[dict[str, Any]]) -> int | None:
    """The entity asked for, if it is one the user may see; otherwise all they may see."""
    try:
        wanted = int(request.GET.get("entity") or 0)
    except ValueError:
        return None
    return wanted if any(choice["id"] == wanted for choice in choices) else None


def _table(data: registry.FigureData) -> list[dict[str, Any]]:
    return [
        {"label": label, "cells": [number_text(series.values[index]) for series in data.series]}
        for index, label in enumerate(data.labels)
    ]


def dashboard_view(request: HttpRequest, context: dict[str, Any]) -> HttpResponse:
    user = request.user
    days = _days(request)
    until = timezone.localdate()
    since = until - timedelta(days=days - 1)
    visible = [
        (figure, scope)
        for figure in registry.figures()
        if not (scope := scope_for(user, figure.perm)).is_empty
    ]
    scopes = [scope for _, scope in visible]
    choices = _entity_choices(scopes) if scopes else []
    entity_id = _chosen_entity(request, choices)
    desk_entity = _desk_entities(scopes) if entity_id is not None else {}
    oversight = any(scope.everything or scope.group_wide for scope in scopes)
    figures = []
    for figure, scope in visible:
        narrowed = scope_in_entity(scope, entity_id, desk_entity)
        if narrowed.is_empty:
            continue
        data = figure.compute(narrowed, since, until)
        element_id = f"figure-data-{figure.key}".replace(".", "-")
        figures.append(
            {
                "figure": figure,
                "data": data,
                "element_id": element_id,
                "config": {
                    "chart": figure.chart,
                    "label": figure.label,
                    "labels": data.labels,
                    "series": [{"name": s.name, "values": s.values} for s in data.series],
                },
                "table": _table(data),
            }
        )
    counts = work.queue_counts(user)
    work_url = reverse("admin:work")
    tiles = [
        {
            "queue": queue,
            "count": counts.get(queue.key, 0),
            "url": f"{work_url}?{urlencode({'queue': queue.key})}",
        }
        for queue in work.queues_for(user)
    ]
    context = {
        **context,
        "title": "Dashboard",
        "figures": figures,
        "tiles": tiles,
        "days": days,
        "periods": PERIODS,
        "since": since,
        "until": until,
        "entities": choices,
        "entity_id": entity_id,
        "all_label": "Group-wide" if oversight else "All my entities",
    }
    return TemplateResponse(request, "backoffice/dashboard.html", context)
