"""The one way to write to the audit log."""

from __future__ import annotations

from typing import Any

from django.db import connection, transaction
from django.db.models import Model
from django.utils import timezone

from brokercrm import context
from brokercrm.gate import is_system
from brokercrm.masking import mask_personal, to_jsonable

from .chain import GENESIS_HASH, row_hash
from .models import AuditEvent

# pg_advisory_xact_lock key that serialises appends to the chain ("AUDIT" in ASCII).
_CHAIN_LOCK_KEY = 0x4155444954


def _person_id(person: Any, obj: Model | None) -> int | None:
    if person is not None:
        return person if isinstance(person, int) else person.pk
    if obj is None:
        return None
    if obj._meta.label == "identity.Person":
        return obj.pk
    if getattr(obj, "person_id", None) is not None:
        return obj.person_id  # type: ignore[attr-defined]
    if getattr(obj, "profile_id", None) is not None:
        profile = getattr(obj, "profile", None)
        return getattr(profile, "person_id", None)
    return None


def audit_record(
    *,
    actor: Any,
    action: str,
    entity: Any = None,
    obj: Model | None = None,
    object_type: str = "",
    object_id: str = "",
    before: dict[str, Any] | None = None,
    after: dict[str, Any] | None = None,
    reason: str = "",
    actor_label: str | None = None,
    person: Any = None,
) -> AuditEvent:
    """Append one event, in the caller's transaction, chained to the previous event.

    Call it inside the transaction that makes the change, so the change and its audit row
    commit or roll back together. `actor` is a user, `SYSTEM` / `system("job")`, or None for
    the system (then give `actor_label`, e.g. "system:audit_verify"). Personal data in
    before/after is masked. `person` (a Person or its id) names the client the row concerns;
    when not given it is read off `obj` (its `person_id`, or its profile's).
    """
    if is_system(actor):
        actor_label = actor_label or actor.label
    if actor is not None and not getattr(actor, "is_authenticated", False):
        actor = None
    if actor is None and not actor_label:
        actor_label = "system"
    if obj is not None:
        object_type = object_type or obj._meta.label
        object_id = object_id or str(obj.pk)
    entity_id = entity if isinstance(entity, int) or entity is None else entity.pk
    person_id = _person_id(person, obj)
    request = context.current()
    fields: dict[str, Any] = {
        "actor_id": actor.pk if actor is not None else None,
        "actor_label": (actor_label or actor.get_username())[:150],
        "action": action[:100],
        "entity_id": entity_id,
        "object_type": object_type[:100],
        "object_id": str(object_id)[:64],
        "before": mask_personal(to_jsonable(before)) if before is not None else None,
        "after": mask_personal(to_jsonable(after)) if after is not None else None,
        "reason": to_jsonable(reason or ""),
        "request_id": request.request_id,
        "ip": request.ip,
        "person_id": person_id,
    }
    with transaction.atomic(savepoint=False):
        with connection.cursor() as cursor:
            # Held to the end of the transaction: the next writer reads our row as the head.
            cursor.execute("SELECT pg_advisory_xact_lock(%s)", [_CHAIN_LOCK_KEY])
        head = AuditEvent.objects.order_by("-seq").values_list("seq", "hash").first()
        seq, prev_hash = (head[0] + 1, head[1]) if head else (1, GENESIS_HASH)
        created_at = timezone.now()
        digest = row_hash(seq=seq, created_at=created_at, prev_hash=prev_hash, **fields)
        return AuditEvent.objects.create(
            seq=seq, created_at=created_at, prev_hash=prev_hash, hash=digest, **fields
        )
