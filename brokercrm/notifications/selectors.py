"""What the client's own pages read about their notifications, scoped to entity and profile."""

from __future__ import annotations

from django.db.models import QuerySet

from .models import Notification


def client_notifications(*, entity_id: int, profile_id: int) -> QuerySet[Notification]:
    """The client's notifications, newest first."""
    return (
        Notification.objects.in_entity(entity_id)
        .filter(profile_id=profile_id)
        .order_by("-created_at", "-pk")
    )


def client_notification(
    *, entity_id: int, profile_id: int, notification_id: int
) -> Notification | None:
    """One of the client's notifications, or None (another client's reads as none)."""
    return (
        client_notifications(entity_id=entity_id, profile_id=profile_id)
        .filter(pk=notification_id)
        .first()
    )
