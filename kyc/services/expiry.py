"""Expiry monitoring: identity documents expiring soon flagged, expired ones sent to
re-verification."""

from __future__ import annotations

from datetime import date, timedelta

from django.db import IntegrityError, transaction
from django.utils import timezone

from audit.services import audit_record
from brokercrm.events.bus import announce

from .. import audit_actions as actions
from .. import events
from ..models import KycCheck, KycDocument, KycFile
from .common import _fingerprint, _latest


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
                action=actions.REVERIFICATION_REQUIRED,
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
