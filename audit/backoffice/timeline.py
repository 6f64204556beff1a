"""The audit log's entries about a person, for the client 360's timeline: what staff, the
client and the system did, in the entities the viewer may read the audit log of."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from django.db.models import Q

from brokercrm.backoffice.registry import (
    ClientSubject,
    TimelineEntry,
    TimelineSource,
    timeline_source_register,
)

from ..selectors import audit_events_visible_to


def _title(action: str) -> str:
    app, _, what = action.partition(".")
    return f"{what.replace('_', ' ').replace('.', ' ')} ({app})" if what else action


def audit_entries(
    user: Any, subject: ClientSubject, before: datetime | None, limit: int
) -> list[TimelineEntry]:
    rows = (
        audit_events_visible_to(user)
        .filter(person_id=subject.person_id)
        # Rows of the entities whose profile the viewer sees, and the person's group-level rows
        # (a merge, an AML block) where the viewer may read those.
        .filter(Q(entity_id__in=subject.visible_entity_ids) | Q(entity__isnull=True))
        .select_related("entity")
        .order_by("-created_at")
    )
    if before is not None:
        rows = rows.filter(created_at__lt=before)
    return [
        TimelineEntry(
            at=row.created_at,
            kind="audit",
            title=_title(row.action),
            detail=row.reason if isinstance(row.reason, str) else "",
            entity_code=row.entity.code if row.entity_id else "",
            actor=row.actor_label,
        )
        for row in rows[:limit]
    ]


def register() -> None:
    timeline_source_register(TimelineSource("audit", "Audit log", audit_entries))
