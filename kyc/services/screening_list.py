"""The screening list: a new version loaded, and every client re-screened against it."""

from __future__ import annotations

import hashlib
from pathlib import Path

from django.db import transaction

from audit.services import audit_record
from identity.selectors import person_get, profile_get

from .. import audit_actions as actions
from ..models import KycCheck, KycFile, ScreeningEntry, ScreeningListVersion
from .person_checks import _screening_checks


def screening_load(*, path: Path) -> ScreeningListVersion:
    """Load a FollowTheMoney JSON-lines list as a new version; every person is re-screened
    against it after commit."""
    from ..screening import load_ftm_file
    from ..tasks import screening_rescreen_task

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
            action=actions.SCREENING_LIST_LOADED,
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
                    action=actions.RESCREEN_HIT,
                    entity=kyc_file.entity_id,
                    obj=kyc_file,
                    after={"list_version": version_id},
                )
                raised += 1
    return raised
