"""How every app's work queue reads its rows: the count, the first rows with their deadlines
from each entity's SLA rules, and one row by id — three queries at most, however many rows."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from django.db.models import QuerySet

from brokercrm.backoffice.registry import QueueFetch, WorkItem

from .selectors import WorkDeadlines, work_deadlines

Build = Callable[[Any, WorkDeadlines], WorkItem]


def _pk(object_id: Any) -> int | None:
    text = str(object_id)
    return int(text) if text.isdigit() and 0 < len(text) <= 18 and int(text) > 0 else None


def rows_fetch(queryset: QuerySet, limit: int, build: Build) -> QueueFetch:
    """The count of `queryset` and, unless `limit` is 0, its first `limit` rows as items."""
    count = queryset.count()
    if limit <= 0 or count == 0:
        return QueueFetch(count, [])
    rows = list(queryset[:limit])
    deadlines = work_deadlines({row.entity_id for row in rows})
    return QueueFetch(count, [build(row, deadlines[row.entity_id]) for row in rows])


def row_item(queryset: QuerySet, object_id: Any, build: Build) -> WorkItem | None:
    """One row of `queryset` as an item, or None when it is not there (or not a valid id)."""
    pk = _pk(object_id)
    row = queryset.filter(pk=pk).first() if pk else None
    if row is None:
        return None
    return build(row, work_deadlines([row.entity_id])[row.entity_id])
