"""KYC/AML workflow: documents, checks, risk, decisions, screening list, expiry.

draft → submitted → checking → approved | in_review | escalated | rejected. The questionnaire
is validated against the entity's KYC rules for the client's residence country at submission, and
the file is decided under the rule-set version in force then. Low risk with every check passed
(or only warned about) is approved by the system; everything else lands in the entity's queue,
and files with an enhanced-due-diligence trigger (sanctions, PEP, AML block, or the rule set's
own triggers) are escalated to group compliance. High-risk approval takes two different
approvers. An AML rejection blocks the person group-wide, which the identity layer enforces at
every later registration.
"""

from __future__ import annotations

import hashlib
import logging
from datetime import date, datetime, timedelta
from pathlib import Path
from typing import TYPE_CHECKING, Any

from django.conf import settings
from django.db import IntegrityError, transaction
from django.utils import timezone

from audit.services import audit_record
from brokercrm.errors import ApplicationError, Conflict, PermissionDenied, ValidationFailed
from brokercrm.events.bus import announce
from brokercrm.scoping import scope_for
from entities.rules import ANY, kyc_rules_with_defaults
from entities.selectors import RuleSetMissing, ruleset_effective
from identity.selectors import (
    person_get,
    person_has_duplicate_history,
    person_is_blocked,
    profile_get,
    registered_document,
)
from identity.services import person_flags_set, profile_activate

from . import events
from .due_diligence import edd_triggers
from .models import KycCheck, KycDocument, KycFile, ScreeningEntry, ScreeningListVersion
from .questionnaire import (
    appropriateness_assess,
    declared_amount,
    plain_amount,
    questionnaire_validate,
)
from .risk import DEFAULT_RISK_RULES, risk_score

if TYPE_CHECKING:
    from identity.models import ClientProfile, Person

logger = logging.getLogger(__name__)
RISK_ORDER = ["low", "medium", "high"]
OPEN_FOR_DECISION = {KycFile.Status.IN_REVIEW, KycFile.Status.ESCALATED}
# Results that do not stop an automatic approval: a warning is recorded for the reviewer and
# the client, not waited on.
NOT_BLOCKING = {KycCheck.Result.PASS, KycCheck.Result.WARN}


def storage_dir() -> Path:
    """Documents live outside any public path, under names that say nothing."""
    path = Path(getattr(settings, "KYC_STORAGE_DIR", settings.VAR_DIR / "kyc-documents"))
    path.mkdir(parents=True, exist_ok=True, mode=0o700)
    return path


def _rules(
    entity: Any, kind: str, country: str = "", at: datetime | None = None
) -> tuple[dict[str, Any], str]:
    try:
        ruleset = ruleset_effective(entity=entity, kind=kind, country=country, at=at)
    except RuleSetMissing:
        return {}, ""
    return ruleset.document, ruleset.reference


def _kyc_rules(profile: ClientProfile, at: datetime | None) -> tuple[dict[str, Any], str]:
    """The KYC rules for the client's entity and residence country, every rule present."""
    document, reference = _rules(profile.entity, "kyc", profile.residence_country, at=at)
    return kyc_rules_with_defaults(document), reference


def kyc_file_for(*, profile: ClientProfile) -> KycFile:
    kyc_file, _ = KycFile.objects.unscoped().get_or_create(
        profile=profile, defaults={"entity_id": profile.entity_id}
    )
    return kyc_file


def _require(actor: Any, perm: str, kyc_file: KycFile) -> None:
    if actor is not None and not scope_for(actor, perm).contains(kyc_file):
        raise PermissionDenied(code="permission_denied")


# --- documents --------------------------------------------------------------------------


def document_upload(
    *,
    actor: Any,
    kyc_file: KycFile,
    kind: str,
    data: bytes,
    filename: str = "",
    doc_type: str = "",
    issued_on: date | None = None,
    expires_on: date | None = None,
    uploaded_by: str = "",
) -> KycDocument:
    """Accept a document by its content (JPEG, PNG or PDF), store it under a random name and
    record a new version. `actor` None means the client uploaded through a brand or portal."""
    from .uploads import KycInputError, inspect_upload, random_storage_name

    if kind not in KycDocument.Kind.values:
        raise ValidationFailed(f"Unknown document kind {kind!r}.", code="document_kind_invalid")
    _require(actor, "kyc.add_kycdocument", kyc_file)
    if kyc_file.status not in (KycFile.Status.DRAFT, KycFile.Status.IN_REVIEW):
        raise Conflict(
            "Documents can be added while the file is a draft or in review.", code="kyc_file_locked"
        )
    try:
        info = inspect_upload(data, filename=filename)
    except KycInputError as exc:
        raise ValidationFailed(str(exc), code=exc.code) from exc
    name = random_storage_name(info)
    path = storage_dir() / name
    path.write_bytes(data)
    path.chmod(0o600)
    try:
        with transaction.atomic():
            latest = (
                KycDocument.objects.in_entity(kyc_file.entity_id)
                .select_for_update()
                .filter(kyc_file=kyc_file, kind=kind)
                .order_by("-version")
                .first()
            )
            document = KycDocument.objects.create(
                entity_id=kyc_file.entity_id,
                kyc_file=kyc_file,
                kind=kind,
                doc_type=doc_type[:30],
                version=(latest.version + 1) if latest else 1,
                storage_name=name,
                content_type=info.content_type,
                size=info.size,
                sha256=info.sha256,
                issued_on=issued_on,
                expires_on=expires_on,
                uploaded_by=(
                    actor.get_username() if actor is not None else uploaded_by or "client"
                )[:150],
            )
            audit_record(
                actor=actor,
                actor_label=None if actor else f"client:{kyc_file.profile_id}",
                action="kyc.document_uploaded",
                entity=kyc_file.entity_id,
                obj=document,
                after={
                    "kind": kind,
                    "version": document.version,
                    "content_type": info.content_type,
                    "size": info.size,
                    "sha256": info.sha256,
                },
            )
    except BaseException:
        path.unlink(missing_ok=True)  # nothing half-written: no file without its row
        raise
    return document


def document_read(*, actor: Any, document: KycDocument) -> bytes:
    """The file's bytes, for staff whose role and entity allow it; every read is audited."""
    if not scope_for(actor, "kyc.view_kycdocument").contains(document):
        raise PermissionDenied("You may not see this client's documents.", code="permission_denied")
    data = (storage_dir() / document.storage_name).read_bytes()
    with transaction.atomic():
        audit_record(
            actor=actor,
            action="kyc.document_read",
            entity=document.entity_id,
            obj=document,
            after={"kind": document.kind, "version": document.version},
        )
    return data


# --- submission and checks ----------------------------------------------------------------


def kyc_submit(*, actor: Any, kyc_file: KycFile, questionnaire: Any) -> KycFile:
    """Submit a draft with the client's questionnaire, validated against the KYC rules for the
    client's residence country (QuestionnaireInvalid, code questionnaire_invalid, with every
    problem by field; the file stays a draft). The checks run after commit under the rule-set
    version in force now, which the file records."""
    from .tasks import kyc_run_checks_task

    with transaction.atomic():
        kyc_file = KycFile.objects.unscoped().select_for_update().get(pk=kyc_file.pk)
        if kyc_file.status != KycFile.Status.DRAFT:
            raise Conflict("Only a draft file can be submitted.", code="kyc_not_draft")
        profile = profile_get(kyc_file.profile_id)
        now = timezone.now()
        rules, reference = _kyc_rules(profile, now)
        kyc_file.questionnaire = questionnaire_validate(questionnaire, rules=rules)
        kyc_file.status = KycFile.Status.SUBMITTED
        kyc_file.submitted_at = now
        kyc_file.kyc_ruleset = reference
        kyc_file.save(
            update_fields=[
                "questionnaire",
                "status",
                "submitted_at",
                "kyc_ruleset",
                "updated_at",
            ]
        )
        audit_record(
            actor=actor,
            actor_label=None if actor else f"client:{kyc_file.profile_id}",
            action="kyc.submitted",
            entity=kyc_file.entity_id,
            obj=kyc_file,
            after={"status": kyc_file.status, "ruleset": reference},
        )
        file_id = kyc_file.pk
        transaction.on_commit(lambda: kyc_run_checks_task.delay(file_id))
    return kyc_file


def _fingerprint(*parts: Any) -> str:
    return hashlib.sha256("\x1f".join(str(part) for part in parts).encode()).hexdigest()


def _record_check(
    kyc_file: KycFile,
    kind: str,
    provider: str,
    fingerprint: str,
    result: str,
    evidence: dict[str, Any],
    document: KycDocument | None = None,
) -> KycCheck:
    check, _ = KycCheck.objects.unscoped().get_or_create(
        kyc_file=kyc_file,
        kind=kind,
        input_fingerprint=fingerprint,
        defaults={
            "entity_id": kyc_file.entity_id,
            "provider": provider,
            "result": result,
            "evidence": evidence,
            "document": document,
        },
    )
    return check


def _latest(kyc_file: KycFile, kind: str) -> KycDocument | None:
    return (
        KycDocument.objects.in_entity(kyc_file.entity_id)
        .filter(kyc_file=kyc_file, kind=kind)
        .order_by("-version")
        .first()
    )


def _identity_checks(
    kyc_file: KycFile, profile: ClientProfile, rules: dict[str, Any], today: date
) -> list[KycCheck]:
    document = _latest(kyc_file, KycDocument.Kind.IDENTITY)
    if document is None:
        return [
            _record_check(
                kyc_file,
                KycCheck.Kind.MRZ,
                "local",
                _fingerprint("missing"),
                KycCheck.Result.FAIL,
                {"reason": "no identity document uploaded"},
            )
        ]
    allowed = rules.get("identity_documents", ["passport", "national_id", "driving_licence"])
    checks = []
    expires_on = document.expires_on
    if document.content_type.startswith("image/"):
        from .mrz import KycInputError, compare_with_profile
        from .ocr import read_mrz

        data = (storage_dir() / document.storage_name).read_bytes()
        try:
            mrz = read_mrz(data)
            registered = registered_document(profile)
            comparison = compare_with_profile(
                mrz,
                given_name=profile.given_name_latin,
                family_name=profile.family_name_latin,
                birth_date=profile.birth_date,
                document_number=registered.number if registered else None,
            )
            ok = mrz.valid and comparison.ok
            evidence = {
                "format": mrz.format,
                "checks": mrz.checks,
                "document_number_matches": comparison.ok,
                "reasons": comparison.reasons,
                "expiry": mrz.expiry_date.isoformat(),
            }
            expires_on = expires_on or mrz.expiry_date
            result = KycCheck.Result.PASS if ok else KycCheck.Result.FAIL
        except KycInputError as exc:
            result, evidence = KycCheck.Result.REVIEW, {"reason": str(exc), "code": exc.code}
        checks.append(
            _record_check(
                kyc_file, KycCheck.Kind.MRZ, "rapidocr", document.sha256, result, evidence, document
            )
        )
    elif document.doc_type not in allowed:
        checks.append(
            _record_check(
                kyc_file,
                KycCheck.Kind.MRZ,
                "local",
                document.sha256,
                KycCheck.Result.REVIEW,
                {"reason": f"{document.doc_type or 'document'} needs a manual look"},
                document,
            )
        )
    if expires_on is None:
        result, evidence = KycCheck.Result.REVIEW, {"reason": "expiry date unknown"}
    elif expires_on < today:
        result, evidence = (
            KycCheck.Result.FAIL,
            {"reason": "document expired", "expires_on": expires_on.isoformat()},
        )
    elif expires_on <= today + timedelta(days=30):
        result, evidence = (
            KycCheck.Result.REVIEW,
            {"reason": "expires within 30 days", "expires_on": expires_on.isoformat()},
        )
    else:
        result, evidence = KycCheck.Result.PASS, {"expires_on": expires_on.isoformat()}
    checks.append(
        _record_check(
            kyc_file,
            KycCheck.Kind.EXPIRY,
            "local",
            _fingerprint(document.sha256, today),
            result,
            evidence,
            document,
        )
    )
    if expires_on and document.expires_on is None:
        KycDocument.objects.in_entity(kyc_file.entity_id).filter(pk=document.pk).update(
            expires_on=expires_on
        )
    return checks


def _address_check(kyc_file: KycFile, rules: dict[str, Any], today: date, ruleset: str) -> KycCheck:
    """The latest proof of address against the entity's accepted types and maximum age; the
    evidence records the rule it was held to."""
    document = _latest(kyc_file, KycDocument.Kind.PROOF_OF_ADDRESS)
    max_age = int(rules.get("proof_of_address_max_age_days", 90))
    accepted = list(rules["proof_of_address_types"])
    if document is None:
        return _record_check(
            kyc_file,
            KycCheck.Kind.PROOF_OF_ADDRESS,
            "local",
            _fingerprint("missing", today, ruleset),
            KycCheck.Result.FAIL,
            {
                "reason": "no proof of address uploaded",
                "accepted_types": accepted,
                "max_age_days": max_age,
                "ruleset": ruleset,
            },
        )
    problems: list[tuple[str, str]] = []  # (result, reason)
    if ANY not in accepted:
        if not document.doc_type:
            problems.append(
                (
                    KycCheck.Result.REVIEW,
                    "type of document not stated; accepted here: " + ", ".join(accepted),
                )
            )
        elif document.doc_type not in accepted:
            problems.append(
                (
                    KycCheck.Result.FAIL,
                    f"{document.doc_type} is not accepted as proof of address here; accepted: "
                    + ", ".join(accepted),
                )
            )
    issued_on = document.issued_on
    if issued_on is None:
        problems.append((KycCheck.Result.REVIEW, "issue date unknown"))
    elif issued_on > today:
        problems.append((KycCheck.Result.REVIEW, "issue date is in the future"))
    elif (today - issued_on).days > max_age:
        problems.append(
            (
                KycCheck.Result.REVIEW,
                f"issued {(today - issued_on).days} days ago; at most {max_age} days accepted",
            )
        )
    evidence: dict[str, Any] = {
        "doc_type": document.doc_type or None,
        "accepted_types": accepted,
        "issued_on": issued_on.isoformat() if issued_on else None,
        "max_age_days": max_age,
        "ruleset": ruleset,
    }
    result = KycCheck.Result.PASS
    if problems:
        result = (
            KycCheck.Result.FAIL
            if any(found == KycCheck.Result.FAIL for found, _ in problems)
            else KycCheck.Result.REVIEW
        )
        evidence["reason"] = "; ".join(reason for _, reason in problems)
    return _record_check(
        kyc_file,
        KycCheck.Kind.PROOF_OF_ADDRESS,
        "local",
        _fingerprint(document.sha256, today, ruleset),
        result,
        evidence,
        document,
    )


def _source_of_funds_check(
    kyc_file: KycFile, rules: dict[str, Any], ruleset: str
) -> KycCheck | None:
    """Above the entity's threshold a declared expected deposit needs a source-of-funds
    document, which a reviewer reads against the declared source; below it, no check."""
    threshold = declared_amount(rules, "source_of_funds_threshold")
    deposit = declared_amount(kyc_file.questionnaire, "expected_deposit")
    if threshold is None or deposit is None or deposit <= threshold:
        return None
    document = _latest(kyc_file, KycDocument.Kind.SOURCE_OF_FUNDS)
    evidence: dict[str, Any] = {
        "expected_deposit": plain_amount(deposit),
        "threshold": plain_amount(threshold),
        "declared_source": kyc_file.questionnaire.get("source_of_funds") or None,
        "ruleset": ruleset,
    }
    if document is None:
        return _record_check(
            kyc_file,
            KycCheck.Kind.SOURCE_OF_FUNDS,
            "local",
            _fingerprint("missing", deposit, threshold, ruleset),
            KycCheck.Result.FAIL,
            {
                **evidence,
                "reason": f"source-of-funds document required: the declared expected deposit "
                f"{plain_amount(deposit)} is above {plain_amount(threshold)}",
            },
        )
    return _record_check(
        kyc_file,
        KycCheck.Kind.SOURCE_OF_FUNDS,
        "local",
        _fingerprint(document.sha256, deposit, threshold, ruleset),
        KycCheck.Result.REVIEW,
        {
            **evidence,
            "doc_type": document.doc_type or None,
            "reason": "a reviewer reads the source-of-funds document against the declared source",
        },
        document,
    )


def _appropriateness_check(
    kyc_file: KycFile, rules: dict[str, Any], ruleset: str
) -> KycCheck | None:
    """The CFD appropriateness test, where the entity asks for one. A fail never rejects: it
    holds the file for a reviewer ("review" entities) or is recorded as a warning ("warn")."""
    assessment = appropriateness_assess(questionnaire=kyc_file.questionnaire, rules=rules)
    if assessment is None:
        return None
    if assessment.passed:
        result = KycCheck.Result.PASS
    elif assessment.blocking:
        result = KycCheck.Result.FAIL
    else:
        result = KycCheck.Result.WARN
    answers = [(item["question"], item["answer"]) for item in assessment.answers]
    return _record_check(
        kyc_file,
        KycCheck.Kind.APPROPRIATENESS,
        "local",
        _fingerprint(ruleset, assessment.mode, assessment.pass_mark, answers),
        result,
        assessment.evidence(ruleset),
    )


def _screening_checks(
    kyc_file: KycFile, profile: ClientProfile, person: Person
) -> tuple[list[KycCheck], bool, bool]:
    """Sanctions and PEP screening. Returns (checks, sanctions_near_match, pep)."""
    from .screening_index import current_index

    index, version_id = current_index()
    if index is None:
        check = _record_check(
            kyc_file,
            KycCheck.Kind.SANCTIONS,
            "local-list",
            _fingerprint("no-list"),
            KycCheck.Result.REVIEW,
            {"reason": "no screening list loaded"},
        )
        return [check], False, person.pep
    hits = index.screen(
        given_name=profile.given_name_latin,
        family_name=profile.family_name_latin,
        birth_date=profile.birth_date,
        nationality=profile.nationality or None,
    )
    fingerprint = _fingerprint(
        version_id, profile.given_name_latin, profile.family_name_latin, profile.birth_date
    )
    sanction_hits = [hit for hit in hits if hit.is_sanction]
    pep_hits = [hit for hit in hits if hit.is_pep]
    sanctions_result = (
        KycCheck.Result.FAIL
        if any(h.decision == "hit" for h in sanction_hits)
        else KycCheck.Result.REVIEW
        if sanction_hits
        else KycCheck.Result.PASS
    )
    pep_found = any(h.decision == "hit" for h in pep_hits)
    evidence = lambda found: {  # noqa: E731 - two near-identical evidence documents
        "list_version": version_id,
        "hits": [
            {
                "entry": h.entry_id,
                "name": h.matched_name,
                "score": h.score,
                "decision": h.decision,
                "reasons": h.reasons,
            }
            for h in found
        ],
    }
    checks = [
        _record_check(
            kyc_file,
            KycCheck.Kind.SANCTIONS,
            "local-list",
            fingerprint,
            sanctions_result,
            evidence(sanction_hits),
        ),
        _record_check(
            kyc_file,
            KycCheck.Kind.PEP,
            "local-list",
            fingerprint,
            KycCheck.Result.REVIEW if pep_hits else KycCheck.Result.PASS,
            evidence(pep_hits),
        ),
    ]
    if sanctions_result == KycCheck.Result.FAIL and not person.sanctions_hit:
        person_flags_set(
            person=person,
            reason="sanctions screening hit",
            entity=kyc_file.entity_id,
            sanctions_hit=True,
        )
    if pep_found and not person.pep:
        person_flags_set(
            person=person, reason="PEP screening hit", entity=kyc_file.entity_id, pep=True
        )
    return (
        checks,
        bool(sanction_hits) and sanctions_result != KycCheck.Result.FAIL,
        pep_found or person.pep,
    )


def kyc_run_checks(*, kyc_file_id: int) -> KycFile:
    """Run every check of a submitted file and decide what the system may decide. Safe to run
    again: checks are unique per input, and a decided file is left alone."""
    with transaction.atomic(durable=True):
        kyc_file = KycFile.objects.unscoped().select_for_update().get(pk=kyc_file_id)
        if kyc_file.status not in (KycFile.Status.SUBMITTED, KycFile.Status.CHECKING):
            return kyc_file
        kyc_file.status = KycFile.Status.CHECKING
        profile = profile_get(kyc_file.profile_id)
        person = person_get(profile.person_id)
        today = timezone.localdate()
        # The rules in force when the client submitted: the questionnaire was validated
        # against them, and a re-run (a vendor's answer) decides under the same version.
        rules, kyc_reference = _kyc_rules(profile, kyc_file.submitted_at)
        risk_rules, _ = _rules(profile.entity, "risk")
        checks = _identity_checks(kyc_file, profile, rules, today)
        checks.append(_address_check(kyc_file, rules, today, kyc_reference))
        checks += [
            check
            for check in (
                _source_of_funds_check(kyc_file, rules, kyc_reference),
                _appropriateness_check(kyc_file, rules, kyc_reference),
            )
            if check is not None
        ]
        screening, near_match, pep = _screening_checks(kyc_file, profile, person)
        checks += screening
        if rules.get("liveness_required"):
            checks.append(_liveness_check(kyc_file))
        risk = risk_score(
            rules=risk_rules or DEFAULT_RISK_RULES,
            residence_country=profile.residence_country,
            nationality=profile.nationality,
            birth_date=profile.birth_date,
            today=today,
            questionnaire=kyc_file.questionnaire,
            pep=pep,
            sanctions_near_match=near_match,
            duplicate_history=person_has_duplicate_history(person),
        )
        kyc_file.risk_score, kyc_file.risk_level, kyc_file.risk_breakdown = (
            risk.score,
            risk.level,
            risk.breakdown,
        )
        kyc_file.kyc_ruleset = kyc_reference
        results = {check.kind: check.result for check in checks}
        triggers = edd_triggers(
            rules=rules,
            questionnaire=kyc_file.questionnaire,
            residence_country=profile.residence_country,
            risk_level=risk.level,
            risk_score=risk.score,
            sanctioned=results.get(KycCheck.Kind.SANCTIONS) == KycCheck.Result.FAIL,
            pep=pep,
            aml_blocked=person.aml_blocked,
        )
        kyc_file.edd_triggers = triggers
        if KycCheck.Result.PENDING in results.values():
            # A vendor will answer by webhook, which runs the checks again; decide then.
            kyc_file.save()
            return kyc_file
        auto_max = rules.get("auto_approve_max_risk", "low")
        if triggers:
            kyc_file.status = KycFile.Status.ESCALATED
        elif (
            all(result in NOT_BLOCKING for result in results.values())
            and auto_max != "none"
            and RISK_ORDER.index(risk.level) <= RISK_ORDER.index(auto_max)
        ):
            _approve(kyc_file, profile, reason="every check passed; low risk", actor=None)
            kyc_file.auto_approved = True
        else:
            kyc_file.status = KycFile.Status.IN_REVIEW
        kyc_file.save()
        audit_record(
            actor=None,
            actor_label="system:kyc_checks",
            action=f"kyc.checks_{kyc_file.status}",
            entity=kyc_file.entity_id,
            obj=kyc_file,
            after={
                "status": kyc_file.status,
                "checks": {k: str(v) for k, v in results.items()},
                "risk": {"score": risk.score, "level": risk.level, "factors": list(risk.breakdown)},
                "edd_triggers": triggers,
                "ruleset": kyc_reference,
            },
        )
    return kyc_file


def _liveness_check(kyc_file: KycFile) -> KycCheck:
    """Liveness of the latest selfie: through the configured vendor (pending until its signed
    webhook answers), or by a reviewer when no vendor is configured."""
    from .liveness import liveness_vendor
    from .tasks import kyc_liveness_start_task

    selfie = _latest(kyc_file, KycDocument.Kind.SELFIE)
    if selfie is None:
        return _record_check(
            kyc_file,
            KycCheck.Kind.LIVENESS,
            "local",
            _fingerprint("no-selfie"),
            KycCheck.Result.FAIL,
            {"reason": "no selfie uploaded"},
        )
    vendor = liveness_vendor()
    if vendor is None:
        return _record_check(
            kyc_file,
            KycCheck.Kind.LIVENESS,
            "none",
            _fingerprint("reviewer", selfie.sha256),
            KycCheck.Result.REVIEW,
            {"reason": "no liveness vendor configured; the reviewer compares the selfie"},
            selfie,
        )
    check, created = KycCheck.objects.unscoped().get_or_create(
        kyc_file=kyc_file,
        kind=KycCheck.Kind.LIVENESS,
        input_fingerprint=_fingerprint("vendor", vendor.name, selfie.sha256),
        defaults={
            "entity_id": kyc_file.entity_id,
            "provider": vendor.name,
            "result": KycCheck.Result.PENDING,
            "evidence": {"selfie_version": selfie.version},
            "document": selfie,
        },
    )
    if created:
        check_id = check.pk
        transaction.on_commit(lambda: kyc_liveness_start_task.delay(check_id))
    return check


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
    _require(actor, "kyc.approve_kycfile", kyc_file)
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
            action = "kyc.first_approval"
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
            action = "kyc.approved"
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
    _require(actor, "kyc.approve_kycfile", kyc_file)
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
        audit_record(
            actor=actor,
            action="kyc.rejected",
            entity=kyc_file.entity_id,
            obj=kyc_file,
            after={"status": kyc_file.status, "aml": aml, "ruleset": kyc_file.kyc_ruleset},
            reason=reason,
        )
    return kyc_file


# --- screening list -----------------------------------------------------------------------


def screening_load(*, path: Path) -> ScreeningListVersion:
    """Load a FollowTheMoney JSON-lines list as a new version; every person is re-screened
    against it after commit."""
    from .screening import load_ftm_file
    from .tasks import screening_rescreen_task

    data = path.read_bytes()
    entries, report = load_ftm_file(path)
    with transaction.atomic():
        version = ScreeningListVersion.objects.create(
            source=path.name[:200],
            sha256=hashlib.sha256(data).hexdigest(),
            entries=len(entries),
            skipped_lines=report.skipped,
        )
        ScreeningEntry.objects.bulk_create(
            [
                ScreeningEntry(
                    version=version,
                    entity_key=entry.entity_id[:200],
                    names=list(entry.names),
                    weak_aliases=list(entry.weak_aliases),
                    countries=list(entry.countries),
                    birth_dates=list(entry.birth_dates),
                    nationalities=list(entry.nationalities),
                    topics=list(entry.topics),
                    datasets=list(entry.datasets),
                    is_sanction=entry.is_sanction,
                    is_pep=entry.is_pep,
                )
                for entry in entries
            ],
            batch_size=5000,
            ignore_conflicts=True,
        )
        audit_record(
            actor=None,
            actor_label="system:screening_load",
            action="kyc.screening_list_loaded",
            after={"version": version.pk, "source": version.source, "entries": len(entries)},
        )
        version_id = version.pk
        transaction.on_commit(lambda: screening_rescreen_task.delay(version_id))
    return version


def screening_rescreen(*, version_id: int) -> int:
    """Screen every client with a KYC file against a new list; raise cases for new hits."""
    raised = 0
    for kyc_file in KycFile.objects.unscoped().exclude(status=KycFile.Status.DRAFT).iterator():
        with transaction.atomic():
            profile = profile_get(kyc_file.profile_id)
            person = person_get(profile.person_id)
            checks, _, _ = _screening_checks(kyc_file, profile, person)
            if (
                any(check.result != KycCheck.Result.PASS for check in checks)
                and kyc_file.status == KycFile.Status.APPROVED
            ):
                trigger = {
                    "code": "rescreen_hit",
                    "detail": "new screening hit after approval",
                    "list_version": version_id,
                }
                KycFile.objects.unscoped().filter(pk=kyc_file.pk).update(
                    status=KycFile.Status.ESCALATED,
                    edd_triggers=[*kyc_file.edd_triggers, trigger],
                )
                audit_record(
                    actor=None,
                    actor_label="system:rescreen",
                    action="kyc.rescreen_hit",
                    entity=kyc_file.entity_id,
                    obj=kyc_file,
                    after={"list_version": version_id},
                )
                raised += 1
    return raised


# --- expiry monitoring ---------------------------------------------------------------------


def documents_expiry_sweep(*, today: date | None = None) -> dict[str, int]:
    """Daily: flag identity documents expiring within 30 days; send files whose identity
    document has expired to re-verification (withdrawals are blocked meanwhile)."""
    today = today or timezone.localdate()
    flagged = expired = 0
    soon = KycDocument.objects.unscoped().filter(
        kind=KycDocument.Kind.IDENTITY,
        expires_on__gte=today,
        expires_on__lte=today + timedelta(days=30),
    )
    for document in soon.select_related("kyc_file"):
        try:
            with transaction.atomic():
                KycCheck.objects.unscoped().create(
                    entity_id=document.entity_id,
                    kyc_file=document.kyc_file,
                    document=document,
                    kind=KycCheck.Kind.EXPIRY,
                    provider="expiry-monitor",
                    input_fingerprint=_fingerprint(
                        document.sha256, "expiring", document.expires_on
                    ),
                    result=KycCheck.Result.REVIEW,
                    evidence={
                        "reason": "expires within 30 days",
                        "expires_on": document.expires_on.isoformat(),
                    },
                )
                flagged += 1
        except IntegrityError:
            pass  # already flagged for this expiry date
    for kyc_file in (
        KycFile.objects.unscoped()
        .filter(
            status=KycFile.Status.APPROVED,
            reverification_required=False,
            documents__kind=KycDocument.Kind.IDENTITY,
            documents__expires_on__lt=today,
        )
        .distinct()
    ):
        latest = _latest(kyc_file, KycDocument.Kind.IDENTITY)
        if latest is None or latest.expires_on is None or latest.expires_on >= today:
            continue  # a newer, valid document was uploaded
        with transaction.atomic():
            KycFile.objects.unscoped().filter(pk=kyc_file.pk).update(reverification_required=True)
            audit_record(
                actor=None,
                actor_label="system:expiry_monitor",
                action="kyc.reverification_required",
                entity=kyc_file.entity_id,
                obj=kyc_file,
                after={"expired_on": latest.expires_on},
            )
            announce(
                events.DOCUMENT_EXPIRED,
                entity=kyc_file.entity_id,
                profile=kyc_file.profile_id,
                payload={"expired_on": latest.expires_on.isoformat()},
                actor_label="system:expiry_monitor",
            )
            expired += 1
    return {"flagged": flagged, "reverification": expired}
