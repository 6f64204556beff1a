"""Reads other apps use: may this profile withdraw now, and if not, why."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import TYPE_CHECKING, Any

from django.db.models import QuerySet
from django.utils import timezone

from identity.selectors import person_flags

from .models import KycDocument, KycFile

if TYPE_CHECKING:
    from identity.models import ClientProfile


@dataclass(frozen=True)
class WithdrawalBlock:
    code: str
    detail: str


def withdrawal_blocks(
    *, profile: ClientProfile, now: datetime | None = None
) -> list[WithdrawalBlock]:
    """Every reason the profile may not withdraw now. Flags raised on the person in any
    entity count here, whichever entity the withdrawal is in."""
    now = now or timezone.now()
    blocks: list[WithdrawalBlock] = []
    kyc_file = KycFile.objects.in_entity(profile.entity_id).filter(profile=profile).first()
    if kyc_file is None or kyc_file.status != KycFile.Status.APPROVED:
        blocks.append(WithdrawalBlock("kyc_not_approved", "KYC is not approved."))
    elif kyc_file.earliest_withdrawal_at and kyc_file.earliest_withdrawal_at > now:
        when = f"{kyc_file.earliest_withdrawal_at:%Y-%m-%d %H:%M} UTC"
        blocks.append(WithdrawalBlock("cooling_off", f"First withdrawal possible from {when}."))
    person = person_flags(profile.person_id)
    if person.aml_blocked:
        blocks.append(WithdrawalBlock("aml_block", "The client is blocked for AML reasons."))
    if person.risk_hold:
        blocks.append(WithdrawalBlock("risk_hold", "A risk hold is in place."))
    if person.sanctions_hit:
        blocks.append(WithdrawalBlock("sanctions_hit", "A sanctions match is under review."))
    if kyc_file is not None:
        identity = (
            KycDocument.objects.in_entity(profile.entity_id)
            .filter(kyc_file=kyc_file, kind=KycDocument.Kind.IDENTITY)
            .order_by("-version")
            .first()
        )
        if kyc_file.reverification_required or (
            identity is not None
            and identity.expires_on is not None
            and identity.expires_on < now.date()
        ):
            blocks.append(WithdrawalBlock("document_expired", "The identity document has expired."))
    return blocks


def kyc_queue(*, user: Any, status: str = KycFile.Status.IN_REVIEW) -> Any:
    return (
        KycFile.objects.visible_to(user, "kyc.view_kycfile")
        .filter(status=status)
        .order_by("updated_at")
    )


def kyc_risk_level(*, profile: ClientProfile) -> str:
    """The risk level of the profile's KYC file ("" before checks ran); payments routes
    withdrawals by it."""
    level = (
        KycFile.objects.in_entity(profile.entity_id)
        .filter(profile=profile)
        .values_list("risk_level", flat=True)
        .first()
    )
    return level or ""


def kyc_cleared_profiles() -> QuerySet:
    """Profile ids whose KYC is approved and needs no re-verification (a subquery)."""
    return (
        KycFile.objects.unscoped()
        .filter(status=KycFile.Status.APPROVED, reverification_required=False)
        .values("profile_id")
    )


def client_kyc_file(*, entity_id: int, profile_id: int) -> KycFile | None:
    """The client's own KYC file in their entity, or None before one is opened."""
    return KycFile.objects.in_entity(entity_id).filter(profile_id=profile_id).first()


@dataclass(frozen=True)
class KycAsks:
    """What the client's entity asks for in its KYC rules now, for a form to offer the right
    choices (the services still check every answer and upload)."""

    identity_documents: list[str]
    two_sided_documents: list[str]
    proof_of_address_types: list[str]  # "*": any of entities.rules.PROOF_OF_ADDRESS_TYPES
    questionnaire_required: list[str]
    appropriateness_questions: list[str]  # empty where the entity asks for no test


def client_kyc_asks(*, profile: ClientProfile) -> KycAsks:
    """The KYC rules in force for this client's entity and residence country."""
    from .models import TWO_SIDED_DOCUMENTS
    from .services.common import _kyc_rules

    rules, _reference = _kyc_rules(profile, timezone.now())
    test = rules["appropriateness"]
    identity = list(rules["identity_documents"])
    return KycAsks(
        identity_documents=identity,
        two_sided_documents=[doc for doc in identity if doc in TWO_SIDED_DOCUMENTS],
        proof_of_address_types=list(rules["proof_of_address_types"]),
        questionnaire_required=list(rules["questionnaire_required"]),
        appropriateness_questions=[] if test["mode"] == "off" else list(test["questions"]),
    )


def step_reviewer_note(step: Any) -> str:
    """A reviewer's own words on a step sent back (empty when only the reason's standard
    text stands there, which a page shows in the reader's language by its code)."""
    from .models import REVISION_REASONS

    reason = getattr(step, "reason", "") or ""
    return "" if reason == REVISION_REASONS.get(getattr(step, "reason_code", ""), "") else reason
