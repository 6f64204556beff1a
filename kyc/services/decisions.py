"""Decisions on a file: approval (by the system or staff, two approvers for high risk) and
rejection (an AML rejection blocks the person group-wide)."""

from __future__ import annotations

from datetime import timedelta
from typing import TYPE_CHECKING, Any

from django.db import transaction
from django.utils import timezone

from audit.services import audit_record
from brokercrm.errors import ApplicationError, Conflict, ValidationFailed
from brokercrm.events.bus import announce
from brokercrm.gate import require
from identity.selectors import person_get, person_is_blocked, profile_get
from identity.services import person_flags_set, profile_activate

from .. import audit_actions as actions
from .. import events
from ..models import KycFile
from .common import _rules

if TYPE_CHECKING:
    from identity.models import ClientProfile

OPEN_FOR_DECISION = {KycFile.Status.IN_REVIEW, KycFile.Status.ESCALATED}


def _approve(kyc_file: KycFile, profile: ClientProfile, *, reason: str, actor: Any) -> None:
    cooling, cooling_reference = _rules(profile.entity, "cooling_off", profile.residence_country)
    now = timezone.now()
    kyc_file.status = KycFile.Status.APPROVED
    kyc_file.decided_at = now
    kyc_file.decision_reason = reason
    kyc_file.cooling_off_ruleset = cooling_reference
    kyc_file.earliest_withdrawal_at = now + timedelta(
        hours=int(cooling.get("first_withdrawal_hours", 0))
    )
    profile_activate(profile=profile, reason=f"KYC approved: {reason}", actor=actor)
    announce(
        events.KYC_APPROVED,
        entity=kyc_file.entity_id,
        person=profile.person_id,
        profile=profile,
        payload={"decided_by": "staff" if actor is not None else "auto"},
    )


# --- decisions ----------------------------------------------------------------------------


def kyc_approve(*, actor: Any, kyc_file: KycFile, reason: str) -> KycFile:
    """Approve a file in review. High risk needs two different approvers (maker-checker)."""
    if not reason.strip():
        raise ValidationFailed("Give a reason for the audit trail.", code="reason_required")
    require(actor, "kyc.approve_kycfile", kyc_file)
    with transaction.atomic():
        kyc_file = KycFile.objects.unscoped().select_for_update().get(pk=kyc_file.pk)
        if kyc_file.status not in OPEN_FOR_DECISION:
            raise Conflict("This file is not waiting for a decision.", code="kyc_not_in_review")
        profile = profile_get(kyc_file.profile_id)
        if person_is_blocked(profile.person_id):
            raise Conflict("The person carries an AML block.", code="aml_blocked")
        two_needed = kyc_file.risk_level == KycFile.RiskLevel.HIGH
        if two_needed and kyc_file.first_approver_id is None:
            kyc_file.first_approver = actor
            kyc_file.save(update_fields=["first_approver", "updated_at"])
            action = actions.FIRST_APPROVAL
        else:
            if two_needed and kyc_file.first_approver_id == actor.pk:
                raise ApplicationError(
                    "A high-risk file needs a second approver who is not the first.",
                    code="maker_checker_same_person",
                )
            if two_needed:
                kyc_file.second_approver = actor
            else:
                kyc_file.first_approver = actor
            _approve(kyc_file, profile, reason=reason, actor=actor)
            kyc_file.save()
            action = actions.APPROVED
        audit_record(
            actor=actor,
            action=action,
            entity=kyc_file.entity_id,
            obj=kyc_file,
            after={
                "status": kyc_file.status,
                "risk_level": kyc_file.risk_level,
                "ruleset": kyc_file.kyc_ruleset,
            },
            reason=reason,
        )
    return kyc_file


def kyc_reject(*, actor: Any, kyc_file: KycFile, reason: str, aml: bool = False) -> KycFile:
    """Reject; an AML rejection blocks the person in every entity."""
    if not reason.strip():
        raise ValidationFailed("Give a reason for the audit trail.", code="reason_required")
    require(actor, "kyc.approve_kycfile", kyc_file)
    with transaction.atomic():
        kyc_file = KycFile.objects.unscoped().select_for_update().get(pk=kyc_file.pk)
        if kyc_file.status not in OPEN_FOR_DECISION:
            raise Conflict("This file is not waiting for a decision.", code="kyc_not_in_review")
        kyc_file.status = KycFile.Status.REJECTED
        kyc_file.aml_rejection = aml
        kyc_file.decided_at = timezone.now()
        kyc_file.decision_reason = reason
        kyc_file.save()
        profile = profile_get(kyc_file.profile_id)
        if aml:
            person_flags_set(
                person=person_get(profile.person_id),
                reason=f"AML rejection: {reason}",
                actor=actor,
                entity=kyc_file.entity_id,
                aml_blocked=True,
            )
        announce(
            events.KYC_REJECTED,
            entity=kyc_file.entity_id,
            person=profile.person_id,
            profile=profile,
            payload={
                "reason_code": "aml" if aml else "rejected_by_staff",
                "decided_by": "staff" if hasattr(actor, "get_username") else "system",
            },
            actor_label=actor.get_username() if hasattr(actor, "get_username") else "system",
        )
        audit_record(
            actor=actor,
            action=actions.REJECTED,
            entity=kyc_file.entity_id,
            obj=kyc_file,
            after={"status": kyc_file.status, "aml": aml, "ruleset": kyc_file.kyc_ruleset},
            reason=reason,
        )
    return kyc_file
