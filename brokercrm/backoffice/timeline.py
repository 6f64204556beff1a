"""Domain events about a person (registered, KYC approved, deposit credited...), for the client
360's timeline: the events each app announced, in the entities of the profiles the viewer sees."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from brokercrm.events.models import Event

from .registry import ClientSubject, TimelineEntry, TimelineSource, timeline_source_register


def _title(event_type: str) -> str:
    app, _, what = event_type.partition(".")
    return f"{what.replace('_', ' ')} ({app})" if what else event_type


def event_entries(
    user: Any, subject: ClientSubject, before: datetime | None, limit: int
) -> list[TimelineEntry]:
    rows = (
        Event.objects.filter(person_id=subject.person_id, entity_id__in=subject.visible_entity_ids)
        .select_related("entity")
        .order_by("-occurred_at")
    )
    if before is not None:
        rows = rows.filter(occurred_at__lt=before)
    return [
        TimelineEntry(
            at=row.occurred_at,
            kind="event",
            title=_title(row.type),
            entity_code=row.entity.code if row.entity_id else "",
            actor=row.actor_label,
        )
        for row in rows[:limit]
    ]


def register() -> None:
    timeline_source_register(TimelineSource("event", "Events", event_entries))
