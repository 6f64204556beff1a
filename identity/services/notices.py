"""Cross-entity awareness: when a person who is a client of one entity gets a profile at
another, each entity where they already were a client is told, for information. The notice
says only that the other profile exists (its entity and status), which oversight allows."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from django.db import transaction
from django.utils import timezone

from audit.services import audit_record
from brokercrm.errors import Conflict, NotFound
from brokercrm.gate import require

from .. import audit_actions as actions
from ..models import ClientProfile, ProfileNotice


def profile_notices_raise(
    *, new_profile_ids: Iterable[int], told_profile_ids: Iterable[int] | None = None
) -> list[ProfileNotice]:
    """In the transaction that gave each new profile its person: a notice for every OTHER
    entity in which that person has a profile (or, given `told_profile_ids`, for those
    profiles only: a merge tells each side of the other). A pair told of is not told again."""
    new = list(ClientProfile.objects.unscoped().filter(pk__in=list(new_profile_ids)))
    candidates = ClientProfile.objects.unscoped().filter(
        person_id__in={profile.person_id for profile in new}
    )
    if told_profile_ids is not None:
        candidates = candidates.filter(pk__in=list(told_profile_ids))
    by_person: dict[int, list[ClientProfile]] = {}
    for other in candidates.only("pk", "entity_id", "person_id"):
        by_person.setdefault(other.person_id, []).append(other)
    notices = [
        ProfileNotice(entity_id=other.entity_id, profile=other, other_profile=profile)
        for profile in new
        for other in by_person.get(profile.person_id, [])
        if other.entity_id != profile.entity_id
    ]
    # A merge undone and done again finds the notices it raised the first time.
    return ProfileNotice.objects.bulk_create(notices, ignore_conflicts=True)


def profile_notice_acknowledge(*, actor: Any, notice_id: int) -> ProfileNotice:
    """Compliance of the notice's entity took note: the notice leaves the work queue."""
    notice = ProfileNotice.objects.unscoped().filter(pk=notice_id).first()
    if notice is None:
        raise NotFound("No such notice.", code="not_found")
    require(
        actor,
        "identity.change_profilenotice",
        notice,
        detail="You may not acknowledge this entity's notices.",
    )
    with transaction.atomic():
        notice = ProfileNotice.objects.unscoped().select_for_update().get(pk=notice_id)
        if notice.acknowledged_at is not None:
            raise Conflict("This notice was already acknowledged.", code="notice_acknowledged")
        notice.acknowledged_at = timezone.now()
        notice.acknowledged_by = actor if getattr(actor, "is_authenticated", False) else None
        notice.save(update_fields=["acknowledged_at", "acknowledged_by"])
        audit_record(
            actor=actor,
            action=actions.PROFILE_NOTICE_ACKNOWLEDGED,
            entity=notice.entity_id,
            obj=notice,
            after={"other_profile_id": notice.other_profile_id},
        )
    return notice
