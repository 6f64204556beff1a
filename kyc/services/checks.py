"""The checks of a file's documents and answers: identity document (MRZ and expiry), proof of
address, source of funds, and CFD appropriateness."""

from __future__ import annotations

from datetime import date, timedelta
from typing import TYPE_CHECKING, Any

from entities.rules import ANY
from identity.selectors import registered_document

from ..models import KycCheck, KycDocument, KycFile
from ..questionnaire import appropriateness_assess, declared_amount, plain_amount
from .common import BACK, FRONT, SINGLE, _current, _fingerprint, _latest, _record_check, storage_dir

if TYPE_CHECKING:
    from identity.models import ClientProfile


def _identity_checks(
    kyc_file: KycFile, profile: ClientProfile, rules: dict[str, Any], today: date
) -> list[KycCheck]:
    pages = _current(kyc_file, KycDocument.Kind.IDENTITY)
    if not pages:
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
    # The page that carries the machine-readable zone: an ID card's is on its back.
    document = pages.get(SINGLE) or pages.get(BACK) or pages[FRONT]
    allowed = rules.get("identity_documents", ["passport", "national_id", "driving_licence"])
    checks = []
    expires_on = document.expires_on or next(
        (page.expires_on for page in pages.values() if page.expires_on), None
    )
    if document.side == FRONT:
        checks.append(
            _record_check(
                kyc_file,
                KycCheck.Kind.MRZ,
                "local",
                _fingerprint("back-missing", document.sha256),
                KycCheck.Result.REVIEW,
                {"reason": "the back of the document is missing", "code": "incomplete"},
                document,
            )
        )
    elif document.content_type.startswith("image/") and (
        read := KycCheck.objects.unscoped()
        .filter(kyc_file=kyc_file, kind=KycCheck.Kind.MRZ, input_fingerprint=document.sha256)
        .first()
    ):
        # Read already (a vendor's answer runs the checks again): the same page is not read
        # twice, and a check is unique per input anyway.
        checks.append(read)
        if read.evidence.get("expiry") and expires_on is None:
            expires_on = date.fromisoformat(read.evidence["expiry"])
    elif document.content_type.startswith("image/"):
        from ..mrz import KycInputError, compare_with_profile
        from ..ocr import read_mrz

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
    if expires_on:
        # Every page carries the date, so the expiry monitor sees it whichever came last.
        KycDocument.objects.in_entity(kyc_file.entity_id).filter(
            pk__in=[page.pk for page in pages.values()], expires_on__isnull=True
        ).update(expires_on=expires_on)
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
        # What was declared about the file counts too: the same scan re-sent with its issue
        # date corrected is a new input.
        _fingerprint(document.sha256, document.doc_type, document.issued_on, today, ruleset),
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
