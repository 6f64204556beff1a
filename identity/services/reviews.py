"""Review decisions on duplicate cases: link (merge), distinct, or block."""

from __future__ import annotations

from typing import Any

from django.db import transaction
from django.utils import timezone

from audit.services import audit_record
from brokercrm.errors import Conflict, ValidationFailed
from brokercrm.gate import require

from .. import audit_actions as actions
from ..models import ClientProfile, DistinctPair, DuplicateCase, Person
from .merges import person_merge


def duplicate_case_decide(
    *, actor: Any, case: DuplicateCase, decision: str, reason: str
) -> DuplicateCase:
    """link (merge into the candidate), distinct (different people), or block."""
    if decision not in ("link", "distinct", "block"):
        raise ValidationFailed("Decide link, distinct or block.", code="decision_invalid")
    if not reason.strip():
        raise ValidationFailed("Give a reason for the audit trail.", code="reason_required")
    require(
        actor,
        "identity.review_duplicatecase",
        case.entity_id,
        detail="You may not decide duplicate cases in this entity.",
    )
    with transaction.atomic():
        case = DuplicateCase.objects.unscoped().select_for_update().get(pk=case.pk)
        if case.status != DuplicateCase.Status.OPEN:
            raise Conflict("This case was already decided.", code="case_decided")
        profile = ClientProfile.objects.unscoped().select_for_update().get(pk=case.profile_id)
        before = {"status": case.status, "profile_status": profile.status}
        if decision == "link":
            person_merge(
                actor=actor,
                survivor=Person.objects.get(pk=case.candidate_id),
                merged=Person.objects.get(pk=case.new_person_id),
                case=case,
                reason=reason,
            )
            case.status = DuplicateCase.Status.LINKED
            profile.status = ClientProfile.Status.APPLICANT
        elif decision == "distinct":
            low, high = sorted([case.candidate_id, case.new_person_id])
            DistinctPair.objects.get_or_create(
                person_low_id=low, person_high_id=high, defaults={"decided_by": actor}
            )
            case.status = DuplicateCase.Status.DISTINCT
            profile.status = ClientProfile.Status.APPLICANT
        else:
            person = Person.objects.select_for_update().get(pk=case.new_person_id)
            person.aml_blocked = True
            person.aml_block_reason = f"Duplicate registration blocked: {reason}"
            person.aml_blocked_at = timezone.now()
            person.save(
                update_fields=["aml_blocked", "aml_block_reason", "aml_blocked_at", "updated_at"]
            )
            case.status = DuplicateCase.Status.BLOCKED
            profile.status = ClientProfile.Status.CLOSED
            profile.status_reason = "Registration blocked after duplicate review"
        profile.save(update_fields=["status", "status_reason", "updated_at"])
        case.decided_by = actor
        case.decided_at = timezone.now()
        case.decision_reason = reason
        case.save(update_fields=["status", "decided_by", "decided_at", "decision_reason"])
        audit_record(
            actor=actor,
            action=actions.DUPLICATE_CASE_BY_DECISION[decision],
            entity=case.entity_id,
            obj=case,
            before=before,
            after={"status": case.status, "profile_status": profile.status},
            reason=reason,
        )
    return case
