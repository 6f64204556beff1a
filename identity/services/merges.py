"""Merges of two persons into one, and their undoing: profiles and match keys move, flags are
unioned, and an undo restores both persons as they were."""

from __future__ import annotations

from typing import Any

from django.db import transaction
from django.utils import timezone

from audit.services import audit_record
from brokercrm.errors import Conflict, ValidationFailed
from brokercrm.gate import authorised_by_caller, require

from .. import audit_actions as actions
from ..models import RISK_ORDER, ClientProfile, DuplicateCase, MatchKey, Person, PersonMerge
from .common import FLAG_FIELDS, _flags
from .notices import profile_notices_raise


def _union_flags(survivor: Person, merged: Person) -> None:
    """Whatever either person carried, the merged person carries: a merge never clears a flag."""
    if merged.aml_blocked and not survivor.aml_blocked:
        survivor.aml_blocked = True
        survivor.aml_block_reason = merged.aml_block_reason
        survivor.aml_blocked_at = merged.aml_blocked_at
    survivor.sanctions_hit |= merged.sanctions_hit
    survivor.pep |= merged.pep
    survivor.risk_hold |= merged.risk_hold
    survivor.risk_level = max(survivor.risk_level, merged.risk_level, key=RISK_ORDER.index)
    # Consent is the narrower of the two.
    survivor.marketing_email &= merged.marketing_email
    survivor.marketing_sms &= merged.marketing_sms
    survivor.marketing_phone &= merged.marketing_phone


def _restore_flags(person: Person, saved: dict[str, Any]) -> None:
    for name in FLAG_FIELDS:
        field = person._meta.get_field(name)
        setattr(person, name, field.to_python(saved.get(name)))


@authorised_by_caller
def person_merge(
    *,
    actor: Any,
    survivor: Person,
    merged: Person,
    case: DuplicateCase | None = None,
    reason: str = "",
) -> PersonMerge:
    """Merge `merged` into `survivor`: profiles and match keys move, flags are unioned."""
    if survivor.pk == merged.pk:
        raise ValidationFailed("A person cannot be merged into itself.", code="merge_same_person")
    with transaction.atomic():
        locked = {
            p.pk: p
            for p in Person.objects.select_for_update()
            .filter(pk__in=[survivor.pk, merged.pk])
            .order_by("pk")
        }
        survivor, merged = locked[survivor.pk], locked[merged.pk]
        if Person.Status.MERGED in (survivor.status, merged.status):
            raise Conflict("One of these persons was already merged.", code="merge_person_merged")
        moved = list(
            ClientProfile.objects.unscoped().filter(person=merged).values_list("pk", "entity_id")
        )
        survivor_entities = set(
            ClientProfile.objects.unscoped()
            .filter(person=survivor)
            .values_list("entity_id", flat=True)
        )
        if survivor_entities & {entity_id for _, entity_id in moved}:
            raise Conflict(
                "Both persons are clients of the same entity; close the duplicate profile instead.",
                code="merge_same_entity",
            )
        record = PersonMerge.objects.create(
            survivor=survivor,
            merged=merged,
            case=case,
            moved_profile_ids=[pk for pk, _ in moved],
            survivor_before=_flags(survivor),
            merged_before=_flags(merged),
            performed_by=actor if getattr(actor, "is_authenticated", False) else None,
            performed_at=timezone.now(),
            reason=reason,
        )
        moved_ids = [pk for pk, _ in moved]
        ClientProfile.objects.unscoped().filter(pk__in=moved_ids).update(person=survivor)
        MatchKey.objects.filter(profile_id__in=moved_ids).update(person=survivor)
        # Each side's entities learn that the person is now also a client of the other's.
        kept_ids = list(
            ClientProfile.objects.unscoped()
            .filter(person=survivor)
            .exclude(pk__in=moved_ids)
            .values_list("pk", flat=True)
        )
        profile_notices_raise(new_profile_ids=moved_ids, told_profile_ids=kept_ids)
        profile_notices_raise(new_profile_ids=kept_ids, told_profile_ids=moved_ids)
        _union_flags(survivor, merged)
        survivor.save()
        merged.status = Person.Status.MERGED
        merged.merged_into = survivor
        merged.save(update_fields=["status", "merged_into", "updated_at"])
        audit_record(
            actor=actor,
            action=actions.PERSON_MERGED,
            entity=case.entity_id if case else None,
            obj=record,
            before={"survivor": record.survivor_before, "merged": record.merged_before},
            after={
                "survivor_id": survivor.pk,
                "merged_id": merged.pk,
                "profiles_moved": moved_ids,
                "survivor_flags": _flags(survivor),
            },
            reason=reason,
        )
    return record


def person_unmerge(*, actor: Any, merge: PersonMerge, reason: str = "") -> PersonMerge:
    """Undo a merge: both persons, their profiles, keys and flags as they were before it."""
    require(
        actor,
        "identity.merge_person",
        merge.case if merge.case_id else None,
        detail="You may not undo merges in this entity.",
    )
    with transaction.atomic():
        merge = PersonMerge.objects.select_for_update().get(pk=merge.pk)
        if merge.undone_at is not None:
            raise Conflict("This merge was already undone.", code="merge_already_undone")
        persons = {
            p.pk: p
            for p in Person.objects.select_for_update()
            .filter(pk__in=[merge.survivor_id, merge.merged_id])
            .order_by("pk")
        }
        survivor, merged = persons[merge.survivor_id], persons[merge.merged_id]
        if merged.merged_into_id != survivor.pk:
            raise Conflict(
                "The merged person has changed since; undo later merges first.",
                code="merge_not_reversible",
            )
        ClientProfile.objects.unscoped().filter(pk__in=merge.moved_profile_ids).update(
            person=merged
        )
        MatchKey.objects.filter(profile_id__in=merge.moved_profile_ids).update(person=merged)
        _restore_flags(survivor, merge.survivor_before)
        survivor.save()
        _restore_flags(merged, merge.merged_before)
        merged.status = Person.Status.ACTIVE
        merged.merged_into = None
        merged.save()
        merge.undone_at = timezone.now()
        merge.undone_by = actor if getattr(actor, "is_authenticated", False) else None
        merge.save(update_fields=["undone_at", "undone_by"])
        case_entity = None
        if merge.case_id:
            case = DuplicateCase.objects.unscoped().select_for_update().get(pk=merge.case_id)
            case_entity = case.entity_id
            case.status = DuplicateCase.Status.OPEN
            case.save(update_fields=["status"])
            ClientProfile.objects.unscoped().filter(pk=case.profile_id).update(
                status=ClientProfile.Status.PENDING
            )
        audit_record(
            actor=actor,
            action=actions.PERSON_UNMERGED,
            entity=case_entity,
            obj=merge,
            after={
                "survivor_id": survivor.pk,
                "restored_id": merged.pk,
                "profiles_restored": merge.moved_profile_ids,
            },
            reason=reason,
        )
    return merge
