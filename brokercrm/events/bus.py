"""Announcing events and delivering them.

`announce()` runs inside the transaction of the change it announces: it stores the event, runs
the in-transaction subscribers, and queues one delivery per after-commit subscriber in the same
transaction, so the change and its consequences commit or roll back together. After commit a
worker is asked to deliver (`events.tasks.events_deliver_task`); the beat sweep delivers anything
left behind (no worker running, a worker killed mid-delivery).

Delivery is at least once. A worker claims a delivery for `LEASE` before calling the handler
outside any transaction; a worker that dies leaves the claim to run out, and the delivery is
taken again. A handler that raises is retried with exponential backoff; after `MAX_ATTEMPTS`
the delivery is parked, shown to staff in the admin, and replayed from there.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from django.db import transaction
from django.db.models import Model
from django.utils import timezone

from brokercrm.auditing import audit
from brokercrm.errors import ValidationFailed
from brokercrm.gate import is_system, require_superuser

from . import audit_actions as actions
from .models import Delivery, Event
from .registry import EventType, subscriber, subscribers

logger = logging.getLogger(__name__)

LEASE = timedelta(minutes=5)
MAX_ATTEMPTS = 8
BACKOFF_FIRST = timedelta(seconds=30)
BACKOFF_MAX = timedelta(hours=1)


@dataclass
class Announced:
    event: Event
    # Replies of the in-transaction subscribers, merged (each event type documents its keys).
    replies: dict[str, Any] = field(default_factory=dict)


def _id(value: Any) -> int | None:
    if value is None or isinstance(value, int):
        return value
    if isinstance(value, Model):
        return value.pk
    raise TypeError(f"Expected a row or an id, got {type(value).__name__}.")


def announce(
    event_type: EventType,
    *,
    entity: Any,
    person: Any = None,
    profile: Any = None,
    payload: dict[str, Any] | None = None,
    actor_label: str = "",
) -> Announced:
    """Record that `event_type` happened, in the caller's transaction (which must be open)."""
    if not transaction.get_connection().in_atomic_block:
        raise RuntimeError("announce() runs inside the transaction of the change it announces.")
    event = Event.objects.create(
        type=event_type.name,
        entity_id=_id(entity),
        person_id=_id(person),
        profile_id=_id(profile),
        payload=payload or {},
        actor_label=actor_label[:150],
        occurred_at=timezone.now(),
    )
    announced = Announced(event)
    later = []
    for subscription in subscribers(event_type.name):
        if subscription.in_transaction:
            announced.replies.update(subscription.handler(event) or {})
        else:
            later.append(
                Delivery(event=event, subscriber=subscription.name, due_at=event.occurred_at)
            )
    if later:
        Delivery.objects.bulk_create(later)
        transaction.on_commit(_ask_worker)
    return announced


def _ask_worker() -> None:
    from .tasks import events_deliver_task

    try:
        events_deliver_task.delay()
    except Exception:  # the broker is down: the beat sweep delivers once it is back
        logger.warning("Could not queue event delivery; the sweep will deliver", exc_info=True)


def _backoff(attempts: int) -> timedelta:
    return min(BACKOFF_FIRST * 2 ** max(attempts - 1, 0), BACKOFF_MAX)


def _claim(now: datetime) -> Delivery | None:
    with transaction.atomic():
        delivery = (
            Delivery.objects.select_for_update(skip_locked=True)
            .filter(status=Delivery.Status.PENDING, due_at__lte=now)
            .order_by("due_at", "pk")
            .select_related("event")
            .first()
        )
        if delivery is None:
            return None
        delivery.attempts += 1
        delivery.due_at = now + LEASE
        delivery.save(update_fields=["attempts", "due_at"])
    return delivery


def _deliver(delivery: Delivery) -> bool:
    subscription = subscriber(delivery.subscriber)
    claimed = Delivery.objects.filter(pk=delivery.pk, attempts=delivery.attempts)
    try:
        if subscription is None:
            raise LookupError(f"No subscriber {delivery.subscriber!r} is registered.")
        subscription.handler(delivery.event)
    except Exception as exc:
        logger.warning(
            "Event delivery %s to %s failed (attempt %s)",
            delivery.event_id,
            delivery.subscriber,
            delivery.attempts,
            exc_info=True,
        )
        error = f"{type(exc).__name__}: {exc}"[:2000]
        if delivery.attempts >= MAX_ATTEMPTS:
            claimed.update(status=Delivery.Status.PARKED, last_error=error)
        else:
            claimed.update(due_at=timezone.now() + _backoff(delivery.attempts), last_error=error)
        return False
    claimed.update(status=Delivery.Status.DONE, delivered_at=timezone.now(), last_error="")
    return True


def deliver_due(*, limit: int = 500) -> dict[str, int]:
    """Deliver what is due now, oldest first; returns how many succeeded and failed."""
    counts = {"delivered": 0, "failed": 0}
    for _ in range(limit):
        delivery = _claim(timezone.now())
        if delivery is None:
            break
        counts["delivered" if _deliver(delivery) else "failed"] += 1
    return counts


def delivery_replay(*, actor: Any, delivery: Delivery, reason: str) -> Delivery:
    """Staff send a parked delivery again, once its cause is fixed (audited)."""
    if is_system(actor) or not actor.has_perm("events.replay_delivery"):
        require_superuser(actor, "Only platform operators replay event deliveries.")
    if not reason.strip():
        raise ValidationFailed("Say why the delivery is sent again.", code="reason_required")
    with transaction.atomic(durable=True):
        delivery = Delivery.objects.select_for_update().get(pk=delivery.pk)
        if delivery.status != Delivery.Status.PARKED:
            raise ValidationFailed(
                "Only a parked delivery is replayed.", code="delivery_not_parked"
            )
        delivery.status = Delivery.Status.PENDING
        delivery.attempts = 0
        delivery.due_at = timezone.now()
        delivery.save(update_fields=["status", "attempts", "due_at"])
        audit(
            actor=actor,
            action=actions.DELIVERY_REPLAYED,
            entity=delivery.event.entity_id,
            obj=delivery,
            before={"status": Delivery.Status.PARKED, "last_error": delivery.last_error},
            after={"status": delivery.status},
            reason=reason,
        )
        transaction.on_commit(_ask_worker)
    return delivery
