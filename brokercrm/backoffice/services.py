"""Claiming, assigning and releasing work items. Each change is audited in its transaction;
the item must be one the actor sees in that queue (else 404), and an assignee must be able to
work the queue in the item's entity."""

from __future__ import annotations

from typing import Any

from django.db import transaction
from django.utils import timezone

from brokercrm.auditing import audit
from brokercrm.errors import NotFound, ValidationFailed
from brokercrm.gate import require
from brokercrm.scoping import scope_for

from . import audit_actions, registry
from .models import Assignment


def _visible_item(
    actor: Any, queue_key: str, object_id: str
) -> tuple[registry.Queue, registry.WorkItem]:
    queue = registry.queue(queue_key)
    if queue is None:
        raise NotFound("No such queue.", code="queue_unknown")
    item = queue.item(scope_for(actor, queue.perm), str(object_id))
    if item is None:
        raise NotFound("No such work item.", code="not_found")
    return queue, item


def _current(queue_key: str, object_id: str) -> Assignment | None:
    return (
        Assignment.objects.unscoped()
        .select_for_update()
        .filter(queue=queue_key, object_id=str(object_id))
        .select_related("assignee")
        .first()
    )


def _record(actor: Any, action: str, item: registry.WorkItem, before: Any, after: Any) -> None:
    audit(
        actor=actor,
        action=action,
        entity=item.entity_id,
        object_type=f"work:{item.queue}",
        object_id=item.object_id,
        before={"assignee": before.get_username() if before else None},
        after={"assignee": after.get_username() if after else None},
        person=item.person_id,
    )


def work_item_assign(
    *, actor: Any, queue_key: str, object_id: str, assignee: Any | None = None
) -> Assignment:
    """Give the item to `assignee` (the actor themselves when None: a claim). Taking an item
    someone else holds is a reassignment: it needs the queue's permission in that entity, as
    any assignment does, and is audited with the previous holder."""
    queue, item = _visible_item(actor, queue_key, object_id)
    require(actor, queue.perm, item.entity_id)
    assignee = assignee or actor
    if item.informational and assignee != actor:
        raise ValidationFailed("Informational items are not assigned.", code="not_assignable")
    if not getattr(assignee, "is_active", False) or not scope_for(
        assignee, queue.perm
    ).allows_entity(item.entity_id):
        raise ValidationFailed(
            f"{assignee} cannot work this queue in the item's entity.", code="assignee_not_allowed"
        )
    with transaction.atomic(durable=True):
        current = _current(queue.key, item.object_id)
        previous = current.assignee if current else None
        if previous == assignee:
            return current  # type: ignore[return-value]
        if current is None:
            current = Assignment(
                queue=queue.key, object_id=item.object_id, entity_id=item.entity_id
            )
        current.assignee = assignee
        current.assigned_by = actor
        current.assigned_at = timezone.now()
        current.save()
        action = (
            audit_actions.WORK_CLAIMED
            if assignee == actor and previous is None
            else (audit_actions.WORK_ASSIGNED)
        )
        _record(actor, action, item, previous, assignee)
    return current


def work_item_release(*, actor: Any, queue_key: str, object_id: str) -> None:
    """Hand the item back to its queue: the holder, or a colleague freeing the work of someone
    away; either needs the queue's permission in the item's entity."""
    queue, item = _visible_item(actor, queue_key, object_id)
    require(actor, queue.perm, item.entity_id)
    with transaction.atomic(durable=True):
        current = _current(queue.key, item.object_id)
        if current is None:
            return
        previous = current.assignee
        current.delete()
        _record(actor, audit_actions.WORK_RELEASED, item, previous, None)


def assignees_for(queue_key: str, object_ids: list[str]) -> dict[str, Any]:
    """The assignee of each of these items (one query for a page of items)."""
    rows = (
        Assignment.objects.unscoped()
        .filter(queue=queue_key, object_id__in=object_ids)
        .select_related("assignee")
    )
    return {row.object_id: row.assignee for row in rows}


def assignments_of(user: Any) -> dict[str, set[str]]:
    """The items a user holds, by queue."""
    held: dict[str, set[str]] = {}
    for queue_key, object_id in (
        Assignment.objects.unscoped().filter(assignee=user).values_list("queue", "object_id")
    ):
        held.setdefault(queue_key, set()).add(object_id)
    return held
