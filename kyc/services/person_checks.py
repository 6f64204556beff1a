"""The checks of the person: sanctions and PEP screening against the loaded list, and liveness
of the latest selfie."""

from __future__ import annotations

from typing import TYPE_CHECKING

from django.db import transaction

from identity.services import person_flags_set

from ..models import KycCheck, KycDocument, KycFile
from .client_liveness import client_liveness_checks
from .common import _fingerprint, _latest, _record_check

if TYPE_CHECKING:
    from identity.models import ClientProfile, Person


def _screening_checks(
    kyc_file: KycFile, profile: ClientProfile, person: Person
) -> tuple[list[KycCheck], bool, bool]:
    """Sanctions and PEP screening. Returns (checks, sanctions_near_match, pep)."""
    from ..screening_index import current_index

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


def _liveness_check(kyc_file: KycFile) -> KycCheck:
    """The liveness check the client started, if they did (its session is not opened twice,
    and a failed one stands for the reviewer); else liveness of the latest selfie: through the
    configured vendor (pending until its signed webhook answers), or by a reviewer when no
    vendor is configured."""
    from ..liveness import liveness_vendor
    from ..tasks import kyc_liveness_start_task

    started = client_liveness_checks(kyc_file).first()
    if started is not None:
        return started
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
