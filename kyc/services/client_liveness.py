"""The liveness check a client starts from the client API, before (or without) submitting:
the vendor session opens at once and the client's browser is sent to the vendor's capture
page; the vendor's verdict arrives by the signed webhook (`kyc.liveness`). On submission the
file's liveness check is the client's latest one, so no second session opens.

A failed (or unanswered) check may be started again, up to `KYC_LIVENESS_MAX_ATTEMPTS` per
file; after that the client submits and a reviewer looks at the failed check. With no vendor
configured there is nothing to start: the client uploads a selfie and a reviewer compares it."""

from __future__ import annotations

import urllib.parse
from dataclasses import asdict, dataclass
from typing import Any

from django.conf import settings
from django.db import transaction
from django.db.models import QuerySet
from django.utils import timezone

from audit.services import audit_record
from brokercrm.errors import Conflict, ValidationFailed
from brokercrm.gate import require
from identity.selectors import profile_get

from .. import audit_actions as actions
from ..models import KycCheck, KycDocument, KycFile
from .common import _fingerprint, _kyc_rules, _latest

STARTED_BY_CLIENT = "client"
MAX_RETURN_URL = 2000

# Why a liveness check the client started did not pass: stable codes a front end translates.
LIVENESS_REASONS = {
    "liveness_failed": "The liveness check did not pass.",
    "liveness_timeout": "The liveness check was not completed in time.",
    "liveness_attempts_exceeded": (
        "No attempts are left; a reviewer looks at the check once you submit."
    ),
}


def liveness_max_attempts() -> int:
    return int(getattr(settings, "KYC_LIVENESS_MAX_ATTEMPTS", 3))


@dataclass(frozen=True)
class LivenessState:
    """Where the client's own liveness check stands: not_started, pending, passed or failed
    (with `reason_code` from LIVENESS_REASONS)."""

    status: str
    reason_code: str = ""
    session_id: str = ""
    capture_url: str = ""
    attempts: int = 0
    max_attempts: int = 0
    attempts_left: int = 0
    started_at: Any = None

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)


def client_liveness_checks(kyc_file: KycFile) -> QuerySet:
    """The liveness checks the client started on this file, newest first."""
    return (
        KycCheck.objects.unscoped()
        .filter(
            kyc_file=kyc_file,
            kind=KycCheck.Kind.LIVENESS,
            evidence__started_by=STARTED_BY_CLIENT,
        )
        .order_by("-pk")
    )


def liveness_state(kyc_file: KycFile) -> LivenessState:
    checks = client_liveness_checks(kyc_file)
    attempts = checks.count()
    most = liveness_max_attempts()
    left = max(0, most - attempts)
    latest = checks.first()
    if latest is None:
        return LivenessState("not_started", max_attempts=most, attempts_left=left)
    status, reason = {
        KycCheck.Result.PENDING: ("pending", ""),
        KycCheck.Result.PASS: ("passed", ""),
        # Only the overdue sweep puts a vendor's check to review: nobody answered in time.
        KycCheck.Result.REVIEW: ("failed", "liveness_timeout"),
    }.get(latest.result, ("failed", "liveness_failed"))
    return LivenessState(
        status,
        reason_code=reason,
        session_id=latest.evidence.get("session_id", ""),
        capture_url=latest.evidence.get("capture_url", "") if status == "pending" else "",
        attempts=attempts,
        max_attempts=most,
        attempts_left=left,
        started_at=latest.created_at,
    )


def _return_url_checked(value: str) -> str:
    value = (value or "").strip()
    if not value:
        return ""
    parts = urllib.parse.urlsplit(value)
    if len(value) > MAX_RETURN_URL or parts.scheme not in ("http", "https") or not parts.netloc:
        raise ValidationFailed(
            "Give the page of your site the client comes back to (an http or https address).",
            code="return_url_invalid",
        )
    return value


def kyc_liveness_start(
    *, actor: Any, kyc_file: KycFile, return_url: str = ""
) -> tuple[LivenessState, bool]:
    """Open the client's liveness session with the vendor; returns the state and whether a
    new session opened. A pending or passed check is returned as it is (a repeat opens
    nothing); a failed one is started again while attempts are left. Refused with
    `kyc_file_locked` (not a draft), `liveness_not_required`, `liveness_vendor_not_configured`,
    `liveness_attempts_exceeded`; the vendor refusing or not answering is
    `liveness_vendor_error` (502) and leaves nothing behind."""
    from ..liveness import liveness_callback_url, liveness_reference, liveness_vendor

    require(actor, "kyc.change_kycfile", kyc_file)
    return_url = _return_url_checked(return_url)
    with transaction.atomic(durable=True):
        # The file's row lock makes two starts at once open one session.
        kyc_file = KycFile.objects.unscoped().select_for_update().get(pk=kyc_file.pk)
        if kyc_file.status != KycFile.Status.DRAFT:
            raise Conflict(
                "The liveness check is started while the file is a draft.",
                code="kyc_file_locked",
            )
        rules, _reference = _kyc_rules(profile_get(kyc_file.profile_id), timezone.now())
        if not rules.get("liveness_required"):
            raise Conflict(
                "Your verification does not include a liveness check.",
                code="liveness_not_required",
            )
        vendor = liveness_vendor()
        if vendor is None:
            raise Conflict(
                "Liveness is checked by a reviewer here: upload a selfie instead.",
                code="liveness_vendor_not_configured",
            )
        state = liveness_state(kyc_file)
        if state.status in ("pending", "passed"):
            return state, False
        if state.attempts_left <= 0:
            raise Conflict(
                f"The liveness check was tried {state.attempts} times, the most allowed; "
                "submit your file and a reviewer will look at it.",
                code="liveness_attempts_exceeded",
            )
        attempt = state.attempts + 1
        selfie = _latest(kyc_file, KycDocument.Kind.SELFIE)
        # Written first so the vendor gets its reference; a vendor error rolls it back.
        check = KycCheck.objects.unscoped().create(
            entity_id=kyc_file.entity_id,
            kyc_file=kyc_file,
            kind=KycCheck.Kind.LIVENESS,
            provider=vendor.name,
            input_fingerprint=_fingerprint(STARTED_BY_CLIENT, vendor.name, attempt),
            result=KycCheck.Result.PENDING,
            evidence={
                "started_by": STARTED_BY_CLIENT,
                "attempt": attempt,
                "selfie_version": selfie.version if selfie else None,
            },
            document=selfie,
        )
        session = vendor.session_open(
            reference=liveness_reference(check.pk),
            callback_url=liveness_callback_url(),
            selfie_sha256=selfie.sha256 if selfie else "",
            client_capture=True,
            return_url=return_url,
        )
        check.evidence = {
            **check.evidence,
            "session_id": session.session_id,
            "capture_url": session.capture_url,
        }
        check.save(update_fields=["evidence"])
        audit_record(
            actor=actor,
            action=actions.LIVENESS_STARTED,
            entity=kyc_file.entity_id,
            obj=check,
            after={"attempt": attempt, "provider": vendor.name, "session_id": session.session_id},
        )
    return liveness_state(kyc_file), True
