"""Liveness checks through a vendor: we open a session, the vendor answers later by a signed
webhook. `HttpLivenessVendor` speaks to any vendor with this contract (the project's simulator,
`python -m kyc.simulator`, is one); with no vendor configured, liveness goes to a reviewer.

A session opens when the file is submitted, or earlier when the client starts it from the
client API (`kyc.services.client_liveness`): then the vendor waits for the client at its own
capture page (`capture_url`) and answers once they have been through it."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any, Protocol

from django.conf import settings
from django.db import transaction
from django.utils import timezone

from brokercrm.errors import ApplicationError
from brokercrm.httpjson import UpstreamError, json_request

from . import audit_actions as actions


class LivenessVendorError(ApplicationError):
    code = "liveness_vendor_error"
    status = 502
    default_detail = "The liveness vendor refused or did not answer."


@dataclass(frozen=True)
class LivenessSession:
    session_id: str
    reference: str
    status: str
    # The vendor's page the client's browser opens to be checked ("" if it gives none).
    capture_url: str = ""


class LivenessVendor(Protocol):
    name: str

    def session_open(
        self,
        *,
        reference: str,
        callback_url: str,
        selfie_sha256: str,
        client_capture: bool = False,
        return_url: str = "",
    ) -> LivenessSession: ...


class HttpLivenessVendor:
    name = "liveness-http"

    def __init__(self, *, base_url: str, api_key: str = "", timeout: float = 10.0) -> None:
        self.base_url = base_url.rstrip("/")
        self.api_key = api_key
        self.timeout = timeout

    def session_open(
        self,
        *,
        reference: str,
        callback_url: str,
        selfie_sha256: str,
        client_capture: bool = False,
        return_url: str = "",
    ) -> LivenessSession:
        """`client_capture`: the client will come to the vendor's capture page (the answer
        waits for them); `return_url`: where the vendor sends their browser afterwards."""
        headers = {"Authorization": f"Bearer {self.api_key}"} if self.api_key else {}
        body: dict[str, Any] = {
            "reference": reference,
            "callback_url": callback_url,
            "selfie_sha256": selfie_sha256,
        }
        if client_capture:
            body["client_capture"] = True
        if return_url:
            body["return_url"] = return_url
        try:
            answer = json_request(
                "POST",
                f"{self.base_url}/v1/liveness/sessions",
                body=body,
                headers=headers,
                timeout=self.timeout,
            )
        except UpstreamError as exc:
            raise LivenessVendorError(exc.detail) from exc
        if not answer.ok or not isinstance(answer.body, dict):
            code = answer.body.get("code") if isinstance(answer.body, dict) else answer.status
            raise LivenessVendorError(f"The liveness vendor answered {answer.status} ({code}).")
        try:
            return LivenessSession(
                session_id=str(answer.body["session_id"])[:100],
                reference=str(answer.body["reference"]),
                status=str(answer.body["status"]),
                capture_url=_http_url(answer.body.get("capture_url")),
            )
        except KeyError as exc:
            raise LivenessVendorError(
                f"The liveness vendor's answer has no {exc.args[0]}."
            ) from None


def _http_url(value: Any) -> str:
    """A vendor's URL we hand to a browser: http(s) only, else none."""
    text = str(value or "")
    return text if text.startswith(("https://", "http://")) and len(text) <= 2000 else ""


def liveness_vendor() -> LivenessVendor | None:
    """The configured vendor, or None when KYC_LIVENESS_URL is empty."""
    if not settings.KYC_LIVENESS_URL:
        return None
    return HttpLivenessVendor(
        base_url=settings.KYC_LIVENESS_URL, api_key=settings.KYC_LIVENESS_API_KEY
    )


def liveness_callback_url() -> str:
    return f"{settings.PUBLIC_BASE_URL.rstrip('/')}/api/v1/webhooks/kyc-liveness"


# --- workflow -----------------------------------------------------------------------------


def liveness_session_start(*, check_id: int) -> str:
    """Open the vendor session of a pending liveness check (a task after commit). Safe to run
    again: a check that has a session or an answer is left alone, and the vendor joins a
    repeated request for the same reference to the open session."""
    from .models import KycCheck

    check = KycCheck.objects.unscoped().select_related("document").get(pk=check_id)
    if check.result != KycCheck.Result.PENDING or check.evidence.get("session_id"):
        return check.evidence.get("session_id", "")
    vendor = liveness_vendor()
    if vendor is None:
        return ""
    session = vendor.session_open(
        reference=liveness_reference(check.pk),
        callback_url=liveness_callback_url(),
        selfie_sha256=check.document.sha256 if check.document else "",
    )
    # Only while still pending: with a short delay the webhook may have answered (and stored
    # the session) before this line runs.
    KycCheck.objects.unscoped().filter(pk=check.pk, result=KycCheck.Result.PENDING).update(
        evidence={**check.evidence, "session_id": session.session_id}
    )
    return session.session_id


def liveness_reference(check_id: int) -> str:
    return f"kyccheck-{check_id}"


def _check_id_of(reference: str) -> int | None:
    prefix, _, number = reference.partition("-")
    return int(number) if prefix == "kyccheck" and number.isdigit() else None


def liveness_result_record(
    *, event_id: str, session_id: str, reference: str, result: str, score: Any
) -> str:
    """Record a vendor's verified answer once; returns "recorded" or "duplicate". The file's
    checks run again after commit and decide it."""
    from audit.services import audit_record
    from brokercrm.errors import NotFound, ValidationFailed

    from .models import KycCheck
    from .tasks import kyc_run_checks_task

    if result not in ("passed", "failed"):
        raise ValidationFailed("result is passed or failed.", code="liveness_result_invalid")
    check_id = _check_id_of(reference)
    if check_id is None:
        raise NotFound("No liveness check has this reference.", code="liveness_unknown")
    with transaction.atomic(durable=True):
        check = (
            KycCheck.objects.unscoped()
            .select_for_update()
            .filter(pk=check_id, kind=KycCheck.Kind.LIVENESS)
            .first()
        )
        if check is None:
            raise NotFound("No liveness check has this reference.", code="liveness_unknown")
        known_session = check.evidence.get("session_id")
        if known_session and known_session != session_id:
            raise ValidationFailed(
                "The session does not belong to this check.", code="liveness_session_mismatch"
            )
        if check.result != KycCheck.Result.PENDING:
            return "duplicate"
        check.result = KycCheck.Result.PASS if result == "passed" else KycCheck.Result.FAIL
        check.evidence = {
            **check.evidence,
            "session_id": session_id,
            "vendor_result": result,
            "score": score,
            "event_id": event_id,
            "answered_at": timezone.now().isoformat(),
        }
        check.save(update_fields=["result", "evidence"])
        audit_record(
            actor=None,
            actor_label=f"vendor:{check.provider}",
            action=actions.LIVENESS_ANSWERED,
            entity=check.entity_id,
            obj=check,
            after={"result": check.result, "session_id": session_id, "score": score},
        )
        file_id = check.kyc_file_id
        transaction.on_commit(lambda: kyc_run_checks_task.delay(file_id))
    return "recorded"


def liveness_overdue_sweep(*, now: datetime | None = None) -> int:
    """Sessions the vendor has not answered in time go to a reviewer (and the file with them)."""
    from audit.services import audit_record

    from .models import KycCheck
    from .tasks import kyc_run_checks_task

    cutoff = (now or timezone.now()) - timedelta(minutes=settings.KYC_LIVENESS_TIMEOUT_MINUTES)
    moved = 0
    overdue = KycCheck.objects.unscoped().filter(
        kind=KycCheck.Kind.LIVENESS, result=KycCheck.Result.PENDING, created_at__lt=cutoff
    )
    for check_id in list(overdue.values_list("pk", flat=True)):
        with transaction.atomic(durable=True):
            check = (
                KycCheck.objects.unscoped()
                .select_for_update()
                .filter(pk=check_id, result=KycCheck.Result.PENDING)
                .first()
            )
            if check is None:
                continue
            check.result = KycCheck.Result.REVIEW
            check.evidence = {**check.evidence, "reason": "the vendor did not answer in time"}
            check.save(update_fields=["result", "evidence"])
            audit_record(
                actor=None,
                actor_label="system:liveness_overdue",
                action=actions.LIVENESS_OVERDUE,
                entity=check.entity_id,
                obj=check,
                after={"result": check.result},
            )
            file_id = check.kyc_file_id
            transaction.on_commit(lambda file_id=file_id: kyc_run_checks_task.delay(file_id))
            moved += 1
    return moved
