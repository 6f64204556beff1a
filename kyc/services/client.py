"""The client's own KYC file: opening it, the answers saved step by step, documents sent back
by a reviewer, and what the entity's rules still need (the steps a front end shows)."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from django.db import transaction
from django.utils import timezone

from audit.services import audit_record
from brokercrm.errors import Conflict, ValidationFailed
from brokercrm.events.bus import announce
from brokercrm.gate import require
from identity.selectors import profile_get

from .. import audit_actions as actions
from .. import events
from ..models import (
    REVISION_REASONS,
    TWO_SIDED_DOCUMENTS,
    DocumentReview,
    KycCheck,
    KycDocument,
    KycFile,
)
from ..questionnaire import QuestionnaireInvalid, questionnaire_validate
from .client_liveness import LIVENESS_REASONS, liveness_state
from .common import _kyc_rules, current_sides, kyc_file_for, sides_needed

# While the file is a draft the client may change answers and documents.
CLIENT_EDITABLE = (KycFile.Status.DRAFT,)


def kyc_file_open(*, actor: Any, profile: Any) -> KycFile:
    """Staff open the KYC file of a profile that has none (profiles registered before files
    opened at registration, or imported)."""
    require(actor, "kyc.add_kycfile", profile)
    with transaction.atomic(durable=True):
        if KycFile.objects.in_entity(profile.entity_id).filter(profile=profile).exists():
            raise Conflict("This client already has a KYC file.", code="kyc_file_exists")
        kyc_file = kyc_file_for(profile=profile)
        audit_record(
            actor=actor,
            action=actions.FILE_OPENED,
            entity=profile.entity_id,
            obj=kyc_file,
            after={"profile_id": profile.pk, "status": kyc_file.status},
        )
    return kyc_file


def kyc_file_on_registration(event: Any) -> dict[str, Any]:
    """In the registration's transaction: every accepted registration gets its KYC file, so the
    client can start verifying at once (held registrations too: the file waits as a draft)."""
    if event.profile_id is not None:
        kyc_file_for(profile=profile_get(event.profile_id))
    return {}


def _locked_draft(kyc_file: KycFile) -> KycFile:
    kyc_file = KycFile.objects.unscoped().select_for_update().get(pk=kyc_file.pk)
    if kyc_file.status not in CLIENT_EDITABLE:
        raise Conflict(
            f"The file is {kyc_file.get_status_display().lower()}: answers are changed while "
            "it is a draft.",
            code="kyc_file_locked",
        )
    return kyc_file


def _section_errors(exc: QuestionnaireInvalid, section: str) -> dict[str, Any]:
    """Keep the problems of one section (the questionnaire, or the appropriateness test)."""

    def ours(path: str) -> bool:
        in_test = path == "appropriateness" or path.startswith("appropriateness.")
        return in_test if section == "appropriateness" else not in_test

    errors = {k: v for k, v in exc.extra.get("errors", {}).items() if ours(k)}
    codes = {k: v for k, v in exc.extra.get("error_codes", {}).items() if ours(k)}
    return {"errors": errors, "error_codes": codes} if errors else {}


def kyc_answers_save(*, actor: Any, kyc_file: KycFile, section: str, answers: Any) -> KycFile:
    """Save the questionnaire (`section="questionnaire"`) or the appropriateness test's answers
    (`section="appropriateness"`) on the draft, validated against the entity's rules now; the
    other section is kept. Refused with `questionnaire_invalid` and every problem by field."""
    require(actor, "kyc.change_kycfile", kyc_file)
    if section not in ("questionnaire", "appropriateness"):
        raise ValueError(section)
    if not isinstance(answers, dict):
        raise ValidationFailed("The answers are a JSON object.", code="answers_invalid")
    with transaction.atomic(durable=True):
        kyc_file = _locked_draft(kyc_file)
        rules, _reference = _kyc_rules(profile_get(kyc_file.profile_id), timezone.now())
        saved = dict(kyc_file.questionnaire or {})
        if section == "appropriateness":
            merged = {**saved, "appropriateness": answers}
        else:
            merged = {
                **answers,
                **(
                    {"appropriateness": saved["appropriateness"]}
                    if "appropriateness" in saved
                    else {}
                ),
            }
        try:
            clean = questionnaire_validate(merged, rules=rules)
        except QuestionnaireInvalid as exc:
            problems = _section_errors(exc, section)
            if problems:
                raise QuestionnaireInvalid(extra=problems) from exc
            clean = merged  # only the other, unfinished section has problems: keep as given
        kyc_file.questionnaire = clean
        kyc_file.save(update_fields=["questionnaire", "updated_at"])
        audit_record(
            actor=actor,
            action=actions.SAVED_BY_SECTION[section],
            entity=kyc_file.entity_id,
            obj=kyc_file,
            after={"fields": sorted(answers)},
        )
    return kyc_file


def document_revision_request(
    *, actor: Any, document: KycDocument, reason_code: str, reason: str = ""
) -> KycDocument:
    """A reviewer sends one document back: the file returns to the client as a draft at that
    step (answers and other documents stay), and the client is told why."""
    require(actor, "kyc.change_kycfile", document)
    if reason_code not in REVISION_REASONS:
        raise ValidationFailed(
            f"Give one of the reasons: {', '.join(REVISION_REASONS)}.", code="reason_invalid"
        )
    if reason_code == "other" and not reason.strip():
        raise ValidationFailed("Say what is wrong with the document.", code="reason_required")
    with transaction.atomic(durable=True):
        kyc_file = KycFile.objects.unscoped().select_for_update().get(pk=document.kyc_file_id)
        if kyc_file.status not in (KycFile.Status.IN_REVIEW, KycFile.Status.ESCALATED):
            raise Conflict(
                "Documents are sent back while the file is in review.", code="kyc_not_in_review"
            )
        document = KycDocument.objects.unscoped().select_for_update().get(pk=document.pk)
        of_kind = (
            KycDocument.objects.unscoped()
            .filter(kyc_file=kyc_file, kind=document.kind)
            .order_by("version")
        )
        if document.pk not in {page.pk for page in current_sides(list(of_kind)).values()}:
            raise Conflict("A newer version of this document exists.", code="document_superseded")
        before = kyc_file.status
        document.review_status = DocumentReview.REVISION_REQUESTED
        document.review_reason_code = reason_code
        document.review_reason = reason.strip()[:2000]
        document.reviewed_at = timezone.now()
        document.save(
            update_fields=["review_status", "review_reason_code", "review_reason", "reviewed_at"]
        )
        kyc_file.status = KycFile.Status.DRAFT
        kyc_file.save(update_fields=["status", "updated_at"])
        profile = profile_get(kyc_file.profile_id)
        announce(
            events.DOCUMENT_REQUESTED,
            entity=kyc_file.entity_id,
            person=profile.person_id,
            profile=profile,
            payload={
                "document_id": document.pk,
                "kind": document.kind,
                "side": document.side,
                "reason_code": reason_code,
                "reason": document.review_reason,
            },
            actor_label=getattr(actor, "get_username", lambda: str(actor))(),
        )
        audit_record(
            actor=actor,
            action=actions.DOCUMENT_REVISION_REQUESTED,
            entity=kyc_file.entity_id,
            obj=document,
            before={"file_status": before},
            after={"file_status": kyc_file.status, "reason_code": reason_code},
            reason=document.review_reason or REVISION_REASONS[reason_code],
        )
    return document


@dataclass(frozen=True)
class Step:
    code: str
    status: str  # todo, done, revision_requested, not_required
    detail: str = ""
    reason_code: str = ""
    reason: str = ""
    document_id: int | None = None
    extra: dict[str, Any] = field(default_factory=dict)


def _document_step(code: str, documents: list[KycDocument], detail: str) -> Step:
    """A document step from the uploads of its kind (oldest first): done when every page of
    the current document is in (an ID card's front and back), unless one was sent back."""
    current = current_sides(documents)
    if not current:
        return Step(code, "todo", detail)
    latest = documents[-1]
    needed = sides_needed(latest.kind, latest.doc_type)
    missing = [side for side in needed if side not in current]
    extra = {
        "doc_type": latest.doc_type,
        "sides_required": list(needed),
        "sides": {side: current[side].pk if side in current else None for side in needed},
        "sides_missing": missing,
    }
    sent_back = [
        page for page in current.values() if page.review_status == DocumentReview.REVISION_REQUESTED
    ]
    if sent_back:
        page = max(sent_back, key=lambda page: page.version)
        return Step(
            code,
            "revision_requested",
            detail,
            reason_code=page.review_reason_code,
            reason=page.review_reason or REVISION_REASONS.get(page.review_reason_code, ""),
            document_id=page.pk,
            extra=extra,
        )
    if missing:
        return Step(
            code,
            "todo",
            detail,
            reason_code="incomplete",
            reason=REVISION_REASONS["incomplete"],
            document_id=latest.pk,
            extra=extra,
        )
    return Step(code, "done", detail, document_id=latest.pk, extra=extra)


def liveness_step(kyc_file: KycFile, selfies: list[KycDocument]) -> Step:
    """With a vendor: the client's own check (start it, then the vendor's page); a selfie
    uploaded instead still lets the check start on submission. Without one: a selfie, which a
    reviewer compares with the identity document."""
    from ..liveness import liveness_vendor

    if liveness_vendor() is None:
        step = _document_step(
            "liveness", selfies, "A selfie; a reviewer compares it with your identity document."
        )
        step.extra["mode"] = "selfie"
        return step
    state = liveness_state(kyc_file)
    detail = (
        "A short check with our verification partner that it is really you: start it, then "
        "follow the link."
    )
    extra = {"mode": "vendor", "liveness": state.as_dict()}
    if state.status in ("pending", "passed"):
        return Step("liveness", "done", detail, extra=extra)
    if state.status == "failed":
        code = state.reason_code if state.attempts_left else "liveness_attempts_exceeded"
        return Step(
            "liveness",
            # Out of attempts the client can do no more: a reviewer looks after submission.
            "todo" if state.attempts_left else "done",
            detail,
            reason_code=code,
            reason=LIVENESS_REASONS[code],
            extra=extra,
        )
    if selfies:
        return Step("liveness", "done", detail, document_id=selfies[-1].pk, extra=extra)
    return Step("liveness", "todo", detail, extra=extra)


def kyc_steps(kyc_file: KycFile, *, profile: Any = None) -> list[Step]:
    """What the entity's rules ask of this client, and where each step stands. `profile`, the
    file's profile (with its entity) as the caller has just read it, saves reading it again."""
    if profile is None or profile.pk != kyc_file.profile_id:
        profile = profile_get(kyc_file.profile_id)
    rules, _reference = _kyc_rules(profile, timezone.now())
    answers = kyc_file.questionnaire or {}
    uploads: dict[str, list[KycDocument]] = {kind: [] for kind in KycDocument.Kind.values}
    for document in KycDocument.objects.unscoped().filter(kyc_file=kyc_file).order_by("version"):
        uploads[document.kind].append(document)
    required = list(rules["questionnaire_required"])
    missing = [name for name in required if answers.get(name) in (None, "")]
    answered = any(key != "appropriateness" for key in answers)
    steps = [
        Step(
            "questionnaire",
            "done" if answered and not missing else "todo",
            "About you, your finances and your trading experience.",
            extra={"missing": missing},
        )
    ]
    test = rules["appropriateness"]
    if test["mode"] == "off":
        steps.append(Step("appropriateness", "not_required"))
    else:
        given = answers.get("appropriateness") or {}
        unanswered = [q for q in test["questions"] if q not in given]
        result = (
            KycCheck.objects.unscoped()
            .filter(kyc_file=kyc_file, kind=KycCheck.Kind.APPROPRIATENESS)
            .order_by("-pk")
            .values_list("result", flat=True)
            .first()
        )
        steps.append(
            Step(
                "appropriateness",
                "todo" if unanswered else "done",
                "A short test of how leveraged products work.",
                extra={"missing": unanswered, "result": result or ""},
            )
        )
    identity_types = ", ".join(rules["identity_documents"]).replace("_", " ")
    identity = _document_step(
        "document_identity",
        uploads[KycDocument.Kind.IDENTITY],
        f"A photo of your identity document ({identity_types}); of an ID card or a driving "
        "licence, its front and its back.",
    )
    identity.extra["two_sided_types"] = [
        doc_type for doc_type in rules["identity_documents"] if doc_type in TWO_SIDED_DOCUMENTS
    ]
    steps.append(identity)
    steps.append(
        _document_step(
            "document_proof_of_address",
            uploads[KycDocument.Kind.PROOF_OF_ADDRESS],
            f"A bill or statement showing your address, at most "
            f"{rules['proof_of_address_max_age_days']} days old.",
        )
    )
    threshold = rules.get("source_of_funds_threshold")
    expected = answers.get("expected_deposit")
    try:
        needs_sof = threshold not in (None, "") and float(expected or 0) > float(threshold)
    except (TypeError, ValueError):
        needs_sof = False
    if needs_sof or uploads[KycDocument.Kind.SOURCE_OF_FUNDS]:
        steps.append(
            _document_step(
                "document_source_of_funds",
                uploads[KycDocument.Kind.SOURCE_OF_FUNDS],
                "Evidence of where the money you plan to deposit comes from.",
            )
        )
    if rules.get("liveness_required"):
        steps.append(liveness_step(kyc_file, uploads[KycDocument.Kind.SELFIE]))
    return steps


def kyc_submit_ready(kyc_file: KycFile) -> list[str]:
    """The steps still to do before the file can be submitted (empty: ready)."""
    return [
        step.code for step in kyc_steps(kyc_file) if step.status in ("todo", "revision_requested")
    ]


def kyc_client_submit(*, actor: Any, kyc_file: KycFile) -> KycFile:
    """The client submits the draft with the answers saved on it; refused with
    `kyc_steps_missing` (and the steps) while a step is still to do."""
    from .submission import kyc_submit

    require(actor, "kyc.change_kycfile", kyc_file)
    missing = kyc_submit_ready(kyc_file)
    if missing:
        raise ValidationFailed(
            "Some steps are still to do: " + ", ".join(missing).replace("_", " ") + ".",
            code="kyc_steps_missing",
            extra={"steps": missing},
        )
    return kyc_submit(actor=actor, kyc_file=kyc_file, questionnaire=kyc_file.questionnaire or {})
