"""What tells the client something, and who the client is: the two registries apps fill.

Kept free of models so an app's `notifications.py` can import it while apps are loading."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

from django.core.exceptions import ImproperlyConfigured

from brokercrm.events.registry import EventType, subscribe

# The context for the texts from the stored event (type, entity_id, profile_id, payload), or
# None when this event tells the client nothing of this kind.
Build = Callable[[Any], Mapping[str, Any] | None]


@dataclass(frozen=True)
class NotificationKind:
    event_type: str
    # A stable code a front end may branch on ("kyc_approved").
    kind: str
    # gettext messages (English source) with %(name)s placeholders filled from build().
    title: str
    body: str
    build: Build


@dataclass(frozen=True)
class Recipient:
    """Who a client profile is, as far as telling them something goes."""

    profile_id: int
    entity_id: int
    email: str
    language: str
    name: str
    email_verified: bool
    # The brand the client came through: its name signs the e-mail, its address sends it.
    brand_name: str = ""
    from_email: str = ""


_kinds: dict[str, list[NotificationKind]] = {}
_recipient: Callable[[int], Recipient | None] | None = None


def _no_context(event: Any) -> Mapping[str, Any]:
    return {}


def subscriber_name(event_type: str) -> str:
    return f"notifications.{event_type}"


def _deliver(event: Any) -> None:
    from .services import notifications_for_event

    notifications_for_event(event)


def register(
    event_type: EventType,
    *,
    kind: str,
    title: str,
    body: str,
    build: Build | None = None,
) -> NotificationKind:
    """Tell the client `title` / `body` when `event_type` is announced about their profile.

    Safe to call twice with the same kind (ready() may run again in tests and reloads)."""
    if not kind or len(kind) > 40 or not kind.replace("_", "").isalnum():
        raise ValueError(f"Notification kind {kind!r} is not a stable code.")
    existing = [k for k in _kinds.get(event_type.name, ()) if k.kind == kind]
    spec = NotificationKind(event_type.name, kind, title, body, build or _no_context)
    if existing:
        return existing[0]
    for other in _kinds.values():
        if any(k.kind == kind for k in other):
            raise ValueError(f"Notification kind {kind!r} is registered for another event.")
    _kinds.setdefault(event_type.name, []).append(spec)
    subscribe(event_type, _deliver, name=subscriber_name(event_type.name))
    return spec


def kinds_for(event_type: str) -> list[NotificationKind]:
    return list(_kinds.get(event_type, ()))


def kinds() -> list[NotificationKind]:
    """Every registered kind, by event type."""
    return [spec for name in sorted(_kinds) for spec in _kinds[name]]


def unregister(event_type: str, kind: str) -> None:
    """Remove a kind (tests that register their own clean up with it). The subscription stays:
    with no kinds left for the event type, its deliveries tell nobody anything."""
    _kinds[event_type] = [k for k in _kinds.get(event_type, ()) if k.kind != kind]


def recipient_register(lookup: Callable[[int], Recipient | None]) -> None:
    """Identity's answer to "who is profile N" (None: no such profile)."""
    global _recipient
    _recipient = lookup


def recipient(profile_id: int) -> Recipient | None:
    if _recipient is None:
        raise ImproperlyConfigured("No notification recipient lookup: identity must register one.")
    return _recipient(profile_id)
