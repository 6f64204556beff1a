"""The client's verification, resumable and driven by what the server holds: the e-mail
address, the entity's documents to accept, the questionnaire and the appropriateness test,
the document uploads (a document sent back shows why and is sent again), the liveness check,
then submission and where the file stands. Each step is its own small form."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from django import forms
from django.conf import settings
from django.contrib import messages
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django.views.decorators.http import require_GET, require_POST

from brokercrm.errors import ApplicationError, NotFound
from entities.rules import (
    APPROPRIATENESS_QUESTIONS,
    EMPLOYMENT_STATUSES,
    PROOF_OF_ADDRESS_TYPES,
    SOURCES_OF_FUNDS,
    TRADING_EXPERIENCE,
)
from identity import services as identity_services
from identity.selectors import profile_documents, profile_email_verified
from kyc import services as kyc_services
from kyc.selectors import client_kyc_asks, client_kyc_file, step_reviewer_note

from .common import client_required, error_on_form, flash_error, not_found
from .dashboard import KYC_STATUS_TEXT, STEP_STATUS_TEXT

STEP_TITLES = {
    "questionnaire": gettext_lazy("About you and your finances"),
    "appropriateness": gettext_lazy("Appropriateness test"),
    "document_identity": gettext_lazy("Identity document"),
    "document_proof_of_address": gettext_lazy("Proof of address"),
    "document_source_of_funds": gettext_lazy("Source of funds"),
    "liveness": gettext_lazy("Selfie or liveness check"),
}
# The upload pages, by document kind, and the step each one completes.
KIND_STEPS = {
    "identity": "document_identity",
    "proof_of_address": "document_proof_of_address",
    "source_of_funds": "document_source_of_funds",
    "selfie": "liveness",
}
KIND_TITLES = {
    "identity": gettext_lazy("Your identity document"),
    "proof_of_address": gettext_lazy("Your proof of address"),
    "source_of_funds": gettext_lazy("Where your money comes from"),
    "selfie": gettext_lazy("A selfie"),
}
REASON_TEXT = {
    "unreadable": gettext_lazy("The document cannot be read: blurred, dark or cut off."),
    "expired": gettext_lazy("The document has expired."),
    "wrong_document": gettext_lazy("This is not a document of the kind asked for."),
    "incomplete": gettext_lazy("Pages or sides are missing."),
    "name_mismatch": gettext_lazy("The name does not match the name you registered with."),
    "address_mismatch": gettext_lazy("The address does not match the address you gave us."),
    "too_old": gettext_lazy("The document is older than we accept."),
    "other": gettext_lazy("See the reviewer's note."),
    "liveness_failed": gettext_lazy("The liveness check did not succeed: please try again."),
    "liveness_timeout": gettext_lazy("The liveness check was not finished in time."),
    "liveness_attempts_exceeded": gettext_lazy(
        "No more attempts are left: submit your details and a reviewer will look at them."
    ),
}
DOCUMENT_TYPES = {
    "passport": gettext_lazy("Passport"),
    "national_id": gettext_lazy("National identity card"),
    "driving_licence": gettext_lazy("Driving licence"),
    "residence_permit": gettext_lazy("Residence permit"),
    "utility_bill": gettext_lazy("Utility bill"),
    "bank_statement": gettext_lazy("Bank statement"),
    "tax_letter": gettext_lazy("Letter from the tax office"),
    "government_letter": gettext_lazy("Government letter"),
    "council_tax_bill": gettext_lazy("Council tax bill"),
    "tenancy_agreement": gettext_lazy("Tenancy agreement"),
    "insurance_statement": gettext_lazy("Insurance statement"),
    "mobile_phone_bill": gettext_lazy("Mobile phone bill"),
    "payslip": gettext_lazy("Payslip"),
    "other": gettext_lazy("Other document"),
}
SIDE_TEXT = {
    "single": gettext_lazy("Page"),
    "front": gettext_lazy("Front"),
    "back": gettext_lazy("Back"),
}
CHOICE_TEXT = {
    "employed": gettext_lazy("Employed"),
    "self_employed": gettext_lazy("Self-employed"),
    "retired": gettext_lazy("Retired"),
    "student": gettext_lazy("Student"),
    "unemployed": gettext_lazy("Not working"),
    "salary": gettext_lazy("Salary"),
    "savings": gettext_lazy("Savings"),
    "business_income": gettext_lazy("Business income"),
    "investments": gettext_lazy("Investments"),
    "pension": gettext_lazy("Pension"),
    "inheritance": gettext_lazy("Inheritance"),
    "property_sale": gettext_lazy("Sale of property"),
    "gift": gettext_lazy("Gift"),
    "other": gettext_lazy("Other"),
    "none": gettext_lazy("None"),
    "some": gettext_lazy("Some"),
    "experienced": gettext_lazy("Experienced"),
}
ANSWER_TEXT = {
    "2_percent": gettext_lazy("About 2%"),
    "60_percent": gettext_lazy("About 60%"),
    "nothing_until_closed": gettext_lazy("Nothing until the position is closed"),
    "positions_closed": gettext_lazy("My positions may be closed"),
    "broker_lends_more": gettext_lazy("The broker lends me more"),
    "nothing": gettext_lazy("Nothing"),
    "no": gettext_lazy("No"),
    "yes": gettext_lazy("Yes"),
    "no_it_may_slip": gettext_lazy("No, the price may slip"),
    "none": gettext_lazy("None"),
    "1_to_10": gettext_lazy("1 to 10"),
    "more_than_10": gettext_lazy("More than 10"),
}
QUESTION_TEXT = {
    "leverage_effect": gettext_lazy(
        "With leverage of 1:30, a 2% price move against your position changes the margin you "
        "put up by about how much?"
    ),
    "margin_close_out": gettext_lazy(
        "What can happen when your equity falls below the margin your positions need?"
    ),
    "cfd_ownership": gettext_lazy("Does a CFD on a share make you an owner of that share?"),
    "stop_loss_slippage": gettext_lazy(
        "In a fast market, is an ordinary stop-loss order certain to close your position at "
        "exactly its price?"
    ),
    "overnight_financing": gettext_lazy(
        "Do you pay a financing charge for keeping a CFD position open overnight?"
    ),
    "leveraged_trades_last_year": gettext_lazy(
        "How many leveraged trades (CFDs, forex, futures, options) have you made in the last "
        "12 months?"
    ),
    "finance_background": gettext_lazy(
        "Have you worked or studied in finance in a way relevant to leveraged products?"
    ),
}
ACCEPTED_FILES = "image/*,application/pdf"


def _choices(codes: Any, texts: dict[str, Any], empty: bool = True) -> list[tuple[str, Any]]:
    options = [(code, texts.get(code, code.replace("_", " "))) for code in codes]
    return [("", gettext_lazy("Choose…")), *options] if empty else options


def _my_file(request: HttpRequest) -> Any:
    profile = request.client.profile
    return client_kyc_file(entity_id=profile.entity_id, profile_id=profile.pk)


def _steps_by_code(kyc_file: Any) -> dict[str, Any]:
    return {step.code: step for step in kyc_services.kyc_steps(kyc_file)}


# --- the page -------------------------------------------------------------------------------


def _step_view(step: Any) -> dict[str, Any]:
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
    kyc_file = _my_file(request)
    steps = kyc_services.kyc_steps(kyc_file) if kyc_file is not None else []
    shown = [_step_view(step) for step in steps if step.status != "not_required"]
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


class QuestionnaireForm(forms.Form):
    employment_status = forms.ChoiceField(
        label=gettext_lazy("Employment status"),
        choices=_choices(EMPLOYMENT_STATUSES, CHOICE_TEXT),
        required=False,
    )
    occupation = forms.CharField(label=gettext_lazy("Occupation"), max_length=100, required=False)
    annual_income = forms.DecimalField(
        label=gettext_lazy("Annual income"),
        min_value=0,
        max_digits=14,
        decimal_places=2,
        required=False,
    )
    source_of_funds = forms.ChoiceField(
        label=gettext_lazy("Where the money you will deposit comes from"),
        choices=_choices(SOURCES_OF_FUNDS, CHOICE_TEXT),
        required=False,
    )
    source_of_funds_detail = forms.CharField(
        label=gettext_lazy("Tell us more about it"),
        max_length=500,
        required=False,
        widget=forms.Textarea(attrs={"rows": 3}),
    )
    expected_deposit = forms.DecimalField(
        label=gettext_lazy("How much you expect to deposit in the first year"),
        min_value=0,
        max_digits=14,
        decimal_places=2,
        required=False,
    )
    trading_experience = forms.ChoiceField(
        label=gettext_lazy("Trading experience"),
        choices=_choices(TRADING_EXPERIENCE, CHOICE_TEXT),
        required=False,
    )

    def __init__(self, *args: Any, required: list[str], currency: str, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        for name in required:
            if name in self.fields:
                self.fields[name].required = True
        for name in ("annual_income", "expected_deposit"):
            self.fields[name].help_text = _("In %(currency)s.") % {"currency": currency}
            self.fields[name].widget.attrs.update(inputmode="decimal")

    def answers(self) -> dict[str, Any]:
        return {
            name: (str(value) if isinstance(value, Decimal) else value)
            for name, value in self.cleaned_data.items()
            if value not in (None, "")
        }


def _place_answer_errors(form: forms.Form, error: ApplicationError, prefix: str = "") -> None:
    """The service's problems by field path (`appropriateness.<question>` for the test) on
    the fields they name; anything else on top of the form."""
    by_field = error.extra.get("errors") if isinstance(error.extra, dict) else None
    placed = False
    for path, problems in (by_field or {}).items():
        name = path[len(prefix) :] if prefix and path.startswith(prefix) else path
        if name in form.fields and name not in form.errors:
            form.add_error(name, str(problems[0] if isinstance(problems, list) else problems))
            placed = True
    if not placed:
        form.add_error(None, error.detail)


def _answers_page(
    request: HttpRequest, form: forms.Form, *, title: str, intro: str, locked: bool
) -> HttpResponse:
    return render(
        request,
        "portal/verification/answers.html",
        {"title": title, "intro": intro, "form": form, "locked": locked},
    )


@client_required
def questionnaire(request: HttpRequest) -> HttpResponse:
    kyc_file = _my_file(request)
    if kyc_file is None:
        return redirect("portal:verification")
    profile = request.client.profile
    asks = client_kyc_asks(profile=profile)
    saved = {k: v for k, v in (kyc_file.questionnaire or {}).items() if k != "appropriateness"}
    form = QuestionnaireForm(
        request.POST if request.method == "POST" else None,
        initial=saved,
        required=asks.questionnaire_required,
        currency=profile.entity.base_currency,
    )
    locked = kyc_file.status != "draft"
    if request.method == "POST" and not locked and form.is_valid():
        try:
            kyc_services.kyc_answers_save(
                actor=request.client,
                kyc_file=kyc_file,
                section="questionnaire",
                answers=form.answers(),
            )
        except ApplicationError as exc:
            _place_answer_errors(form, exc)
        else:
            messages.success(request, _("Your answers are saved."))
            return redirect("portal:verification")
    return _answers_page(
        request,
        form,
        title=_("About you and your finances"),
        intro=_("We ask these questions by law, to know whether our products suit you."),
        locked=locked,
    )


class AppropriatenessForm(forms.Form):
    def __init__(self, *args: Any, questions: list[str], **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        for question in questions:
            spec = APPROPRIATENESS_QUESTIONS[question]
            self.fields[question] = forms.ChoiceField(
                label=QUESTION_TEXT.get(question, spec["text"]),
                choices=_choices(spec["answers"], ANSWER_TEXT, empty=False),
                widget=forms.RadioSelect,
            )


@client_required
def appropriateness(request: HttpRequest) -> HttpResponse:
    kyc_file = _my_file(request)
    if kyc_file is None:
        return redirect("portal:verification")
    questions = client_kyc_asks(profile=request.client.profile).appropriateness_questions
    if not questions:
        return redirect("portal:verification")
    saved = (kyc_file.questionnaire or {}).get("appropriateness") or {}
    form = AppropriatenessForm(
        request.POST if request.method == "POST" else None, initial=saved, questions=questions
    )
    locked = kyc_file.status != "draft"
    if request.method == "POST" and not locked and form.is_valid():
        try:
            kyc_services.kyc_answers_save(
                actor=request.client,
                kyc_file=kyc_file,
                section="appropriateness",
                answers=dict(form.cleaned_data),
            )
        except ApplicationError as exc:
            _place_answer_errors(form, exc, prefix="appropriateness.")
        else:
            messages.success(request, _("Your answers are saved."))
            return redirect("portal:verification")
    return _answers_page(
        request,
        form,
        title=_("Appropriateness test"),
        intro=_(
            "A few questions on how leveraged products work and on your experience. There is "
            "no trick: answer as you understand it."
        ),
        locked=locked,
    )


# --- documents -------------------------------------------------------------------------------


class UploadForm(forms.Form):
    doc_type = forms.ChoiceField(label=gettext_lazy("Type of document"))
    side = forms.ChoiceField(
        label=gettext_lazy("Which side"),
        required=False,
        choices=[
            ("", gettext_lazy("The whole document (one page)")),
            ("front", gettext_lazy("Front")),
            ("back", gettext_lazy("Back")),
        ],
        help_text=gettext_lazy(
            "An ID card or a driving licence has two sides: send the front, then the back."
        ),
    )
    issued_on = forms.DateField(
        label=gettext_lazy("Date of the document"),
        required=False,
        widget=forms.DateInput(attrs={"type": "date"}, format="%Y-%m-%d"),
    )
    file = forms.FileField(
        label=gettext_lazy("Photo or scan"),
        help_text=gettext_lazy("A photo (JPEG or PNG) or a PDF, at most %(size)s MiB."),
    )

    def __init__(self, *args: Any, kind: str, types: list[str], **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.kind = kind
        self.fields["doc_type"].choices = _choices(types, DOCUMENT_TYPES, empty=len(types) > 1)
        if kind != "identity":
            del self.fields["side"]
        if kind != "proof_of_address":
            del self.fields["issued_on"]
        if kind == "selfie":
            del self.fields["doc_type"]
            self.fields["file"].label = _("Your photo")
        limit = _upload_limit() // (1024 * 1024)
        self.fields["file"].help_text = self.fields["file"].help_text % {"size": limit}
        self.fields["file"].widget.attrs.update(
            {
                "accept": ACCEPTED_FILES,
                "capture": "user" if kind == "selfie" else "environment",
                "data-preview": "upload-preview",
            }
        )

    def clean_file(self) -> Any:
        upload = self.cleaned_data["file"]
        if upload.size > _upload_limit():
            raise forms.ValidationError(
                _("Documents are limited to %(size)s MiB.")
                % {"size": _upload_limit() // (1024 * 1024)}
            )
        return upload


def _upload_limit() -> int:
    return int(getattr(settings, "KYC_UPLOAD_MAX_BYTES", 10 * 1024 * 1024))


def _document_types(kind: str, asks: Any) -> list[str]:
    if kind == "identity":
        return asks.identity_documents
    if kind == "proof_of_address":
        types = asks.proof_of_address_types
        return list(PROOF_OF_ADDRESS_TYPES) if "*" in types else types
    if kind == "source_of_funds":
        return ["bank_statement", "payslip", "tax_letter", "other"]
    return []


@client_required
def upload(request: HttpRequest, kind: str) -> HttpResponse:
    if kind not in KIND_STEPS:
        raise not_found()
    kyc_file = _my_file(request)
    if kyc_file is None:
        return redirect("portal:verification")
    steps = _steps_by_code(kyc_file)
    step = steps.get(KIND_STEPS[kind])
    if step is None or (kind == "selfie" and step.extra.get("mode") == "vendor"):
        raise not_found()  # not asked of this client
    asks = client_kyc_asks(profile=request.client.profile)
    initial: dict[str, Any] = {}
    missing = step.extra.get("sides_missing") or []
    if step.extra.get("doc_type"):
        initial["doc_type"] = step.extra["doc_type"]
    if missing:
        initial["side"] = missing[0]
    elif step.status == "revision_requested" and step.extra.get("sides"):
        sent_back = [s for s, pk in step.extra["sides"].items() if pk == step.document_id]
        if sent_back and sent_back[0] != "single":
            initial["side"] = sent_back[0]
    form = UploadForm(
        request.POST if request.method == "POST" else None,
        request.FILES if request.method == "POST" else None,
        initial=initial,
        kind=kind,
        types=_document_types(kind, asks),
    )
    locked = kyc_file.status != "draft"
    if request.method == "POST" and not locked and form.is_valid():
        data = form.cleaned_data
        chosen = data["file"]
        try:
            kyc_services.document_upload(
                actor=request.client,
                kyc_file=kyc_file,
                kind=kind,
                doc_type=data.get("doc_type", ""),
                side=data.get("side", ""),
                data=chosen.read(),
                filename=chosen.name or "",
                issued_on=data.get("issued_on"),
            )
        except ApplicationError as exc:
            side_error = exc.code.startswith("document_side") and "side" in form.fields
            error_on_form(form, exc, "side" if side_error else "file")
        else:
            messages.success(request, _("Thank you: we have received your document."))
            after = _steps_by_code(kyc_file).get(KIND_STEPS[kind])
            if after is not None and after.extra.get("sides_missing"):
                return redirect("portal:kyc_upload", kind)  # now the other side
            return redirect("portal:verification")
    return render(
        request,
        "portal/verification/upload.html",
        {
            "title": str(KIND_TITLES[kind]),
            "kind": kind,
            "form": form,
            "step": _step_view(step),
            "locked": locked,
            "two_sided": [DOCUMENT_TYPES.get(t, t) for t in asks.two_sided_documents],
            "sides_missing": [SIDE_TEXT.get(side, side) for side in missing],
        },
    )


@require_GET
@client_required
def kyc_document(request: HttpRequest, document_id: int) -> HttpResponse:
    """A document the client uploaded, shown in the browser; the read is audited. Any other
    id (another client's, or one staff added) is not found."""
    kyc_file = _my_file(request)
    if kyc_file is None:
        raise not_found()
    try:
        document, data = kyc_services.document_client_read(
            actor=request.client, kyc_file=kyc_file, document_id=document_id
        )
    except NotFound as exc:
        raise Http404(_("No such document.")) from exc
    response = HttpResponse(data, content_type=document.content_type)
    response["Content-Disposition"] = "inline"
    response["X-Content-Type-Options"] = "nosniff"
    response["Cache-Control"] = "private, no-store"
    return response


# --- liveness and submission -----------------------------------------------------------------


@require_POST
@client_required
def liveness_start(request: HttpRequest) -> HttpResponse:
    kyc_file = _my_file(request)
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
    kyc_file = _my_file(request)
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
