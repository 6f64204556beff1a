"""The client's verification, resumable and driven by what the server holds: the e-mail
address, the entity's documents to accept, the questionnaire and the appropriateness test,
the document uploads (a document sent back shows why and is sent again), the liveness check,
then submission and where the file stands. Each step is its own small form."""

from __future__ import annotations

from typing import Any

from django.contrib import messages
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils.translation import gettext as _
from django.views.decorators.http import require_GET, require_POST

from brokercrm.errors import ApplicationError, NotFound
from identity import services as identity_services
from identity.selectors import profile_documents, profile_email_verified
from kyc import services as kyc_services
from kyc.selectors import client_kyc_file, step_reviewer_note

from .common import client_required, flash_error, not_found
from .dashboard import KYC_STATUS_TEXT, STEP_STATUS_TEXT
from .verification_texts import (
    KIND_STEPS,
    REASON_TEXT,
    SIDE_TEXT,
    STEP_TITLES,
)


def my_kyc_file(request: HttpRequest) -> Any:
    profile = request.client.profile
    return client_kyc_file(entity_id=profile.entity_id, profile_id=profile.pk)


def steps_by_code(kyc_file: Any) -> dict[str, Any]:
    return {step.code: step for step in kyc_services.kyc_steps(kyc_file)}


# --- the page -------------------------------------------------------------------------------


def step_view(step: Any) -> dict[str, Any]:
    sides = step.extra.get("sides") or {}
    uploaded = [
        {"side": SIDE_TEXT.get(side, side), "url": reverse("portal:kyc_document", args=[pk])}
        for side, pk in sides.items()
        if pk
    ]
    if not uploaded and step.document_id and step.code == "liveness":
        uploaded = [
            {
                "side": SIDE_TEXT["single"],
                "url": reverse("portal:kyc_document", args=[step.document_id]),
            }
        ]
    kind = next((k for k, code in KIND_STEPS.items() if code == step.code), "")
    mode = step.extra.get("mode", "")
    if step.code == "questionnaire":
        url = reverse("portal:kyc_questionnaire")
    elif step.code == "appropriateness":
        url = reverse("portal:kyc_appropriateness")
    elif step.code == "liveness" and mode == "vendor":
        url = ""
    else:
        url = reverse("portal:kyc_upload", args=[kind])
    return {
        "code": step.code,
        "title": STEP_TITLES.get(step.code, step.code),
        "status": step.status,
        "status_text": STEP_STATUS_TEXT.get(step.status, step.status),
        "reason": REASON_TEXT.get(step.reason_code, "") if step.reason_code else "",
        "note": step_reviewer_note(step) if step.status == "revision_requested" else "",
        "url": url,
        "uploaded": uploaded,
        "vendor": mode == "vendor",
        "liveness": step.extra.get("liveness") or {},
    }


@require_GET
@client_required
def verification(request: HttpRequest) -> HttpResponse:
    profile = request.client.profile
    kyc_file = my_kyc_file(request)
    steps = kyc_services.kyc_steps(kyc_file) if kyc_file is not None else []
    shown = [step_view(step) for step in steps if step.status != "not_required"]
    status = kyc_file.status if kyc_file is not None else ""
    documents = [
        {
            "id": row.document.pk,
            "title": row.document.title,
            "version": row.document.version,
            "url": row.document.url,
            "body": row.document.body,
            "accepted_at": row.accepted_at,
        }
        for row in profile_documents(profile)
    ]
    email_verified = profile_email_verified(profile)
    ready = bool(steps) and all(step.status in ("done", "not_required") for step in steps)
    return render(
        request,
        "portal/verification/index.html",
        {
            "title": _("Verification"),
            "kyc_file": kyc_file,
            "status": status,
            "status_text": KYC_STATUS_TEXT.get(status, status),
            "draft": status == "draft",
            "steps": shown,
            "steps_done": sum(1 for step in shown if step["status"] == "done"),
            "email_verified": email_verified,
            "email": profile.email,
            "documents": documents,
            "documents_missing": [doc for doc in documents if doc["accepted_at"] is None],
            "can_submit": status == "draft" and ready,
        },
    )


@client_required
def email_resend(request: HttpRequest) -> HttpResponse:
    """Send the verification link again (POST); the overview's link (GET) leads to the page
    with the button."""
    if request.method != "POST":
        return redirect("portal:verification")
    try:
        identity_services.email_verification_send(
            actor=request.client, profile=request.client.profile
        )
    except ApplicationError as exc:
        flash_error(request, exc)
    else:
        messages.success(request, _("We have sent the link again. Please check your inbox."))
    return redirect("portal:verification")


@require_POST
@client_required
def consent_accept(request: HttpRequest) -> HttpResponse:
    raw = request.POST.get("document_id", "")
    if not raw.isdigit() or request.POST.get("accept") != "yes":
        messages.error(request, _("Please tick the box to accept the document."))
        return redirect("portal:verification")
    try:
        identity_services.consent_accept(
            actor=request.client,
            profile=request.client.profile,
            document_id=int(raw),
            user_agent=request.META.get("HTTP_USER_AGENT", "")[:500],
        )
    except NotFound as exc:
        raise not_found() from exc
    except ApplicationError as exc:
        flash_error(request, exc)
    else:
        messages.success(request, _("Thank you: the document is accepted."))
    return redirect("portal:verification")


# --- the questionnaire and the appropriateness test -----------------------------------------


@require_POST
@client_required
def liveness_start(request: HttpRequest) -> HttpResponse:
    kyc_file = my_kyc_file(request)
    if kyc_file is None:
        return redirect("portal:verification")
    try:
        state, _started = kyc_services.kyc_liveness_start(
            actor=request.client,
            kyc_file=kyc_file,
            return_url=request.build_absolute_uri(reverse("portal:verification")),
        )
    except ApplicationError as exc:
        flash_error(request, exc)
        return redirect("portal:verification")
    if state.status == "pending" and state.capture_url:
        return redirect(state.capture_url)
    if state.status == "passed":
        messages.success(request, _("Your liveness check is done."))
    return redirect("portal:verification")


@require_POST
@client_required
def kyc_submit(request: HttpRequest) -> HttpResponse:
    kyc_file = my_kyc_file(request)
    if kyc_file is None:
        return redirect("portal:verification")
    try:
        kyc_services.kyc_client_submit(actor=request.client, kyc_file=kyc_file)
    except ApplicationError as exc:
        if exc.code == "kyc_steps_missing":
            messages.error(request, _("Some steps are still to do; they are marked below."))
        else:
            flash_error(request, exc)
    else:
        messages.success(request, _("Thank you: your details are submitted for checking."))
    return redirect("portal:verification")
