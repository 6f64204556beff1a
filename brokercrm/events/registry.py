"""Event types and who subscribes to them.

An app that announces declares its event types as constants in its own `events.py`
(`PROFILE_ACTIVATED = EventType("identity.profile_activated", ...)`). An app that reacts
subscribes a handler in its `AppConfig.ready()`:

- `in_transaction=True`: the handler runs inside the announcing transaction, before it commits;
  if it raises, the whole change rolls back. For steps that must be atomic with the change.
  It may return a dict of replies, which the announcer receives (see each type's doc).
- otherwise the handler is delivered after commit from the outbox by a worker, at least once:
  it must be idempotent, and it owns its own transaction.

A handler takes the stored `Event` row (type, entity_id, person_id, profile_id, payload).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

Handler = Callable[[Any], dict[str, Any] | None]


@dataclass(frozen=True)
class EventType:
    name: str
    doc: str = ""

    def __str__(self) -> str:
        return self.name


@dataclass(frozen=True)
class Subscription:
    event_type: str
    name: str
    handler: Handler
    in_transaction: bool


_subscriptions: dict[str, list[Subscription]] = {}
_by_name: dict[str, Subscription] = {}


def subscribe(
    event_type: EventType, handler: Handler, *, name: str, in_transaction: bool = False
) -> None:
    """Subscribe `handler` to `event_type` under a stable `name` ("app.what_it_does"): the
    outbox stores the name, so renaming it strands the deliveries still pending."""
    existing = _by_name.get(name)
    if existing is not None:
        if existing.event_type != event_type.name or existing.in_transaction != in_transaction:
            raise ValueError(f"Subscriber {name!r} is already subscribed differently.")
        return  # ready() ran twice (tests, reloads): the first registration stands
    subscription = Subscription(event_type.name, name, handler, in_transaction)
    _subscriptions.setdefault(event_type.name, []).append(subscription)
    _by_name[name] = subscription


def subscribers(event_type: str) -> list[Subscription]:
    return list(_subscriptions.get(event_type, ()))


def subscriber(name: str) -> Subscription | None:
    return _by_name.get(name)


def unsubscribe(name: str) -> None:
    """Remove a subscription (tests that subscribe their own handlers clean up with it)."""
    subscription = _by_name.pop(name, None)
    if subscription is not None:
        _subscriptions[subscription.event_type].remove(subscription)
