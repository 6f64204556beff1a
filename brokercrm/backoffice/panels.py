"""What the client-360 tabs of every app share: whether the viewer may see any of a person's
profiles under a permission, and a capped list of the newest rows with the full count."""

from __future__ import annotations

from typing import Any

from django.db.models import QuerySet

from brokercrm.scoping import Scope

from .registry import ClientSubject

# Rows shown per list, newest first; the panel says how many there are in all.
PANEL_ROWS = 50


def subject_in_scope(scope: Scope, subject: ClientSubject) -> bool:
    """May the scope's holder see rows of any of the subject's profiles they see?"""
    if scope.everything:
        return True
    return any(entity in scope.any_entity_ids for entity in subject.visible_entity_ids)


def newest_rows(queryset: QuerySet, limit: int = PANEL_ROWS) -> tuple[list[Any], int]:
    """The first `limit` rows and how many there are: one query when they all fit."""
    rows = list(queryset[: limit + 1])
    total = len(rows) if len(rows) <= limit else queryset.count()
    return rows[:limit], total
