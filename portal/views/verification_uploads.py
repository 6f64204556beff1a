"""Document uploads of the verification page (sides of two-sided documents, a document sent
back and sent again, a preview before sending) and the client's own documents opened."""

from __future__ import annotations

from typing import Any

from django import forms
from django.conf import settings
from django.contrib import messages
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django.views.decorators.http import require_GET

from brokercrm.errors import ApplicationError, NotFound
from entities.rules import (
    PROOF_OF_ADDRESS_TYPES,
)
from kyc import services as kyc_services
from kyc.selectors import client_kyc_asks

from .common import client_required, error_on_form, not_found
from .verification import my_kyc_file, step_view, steps_by_code
from .verification_texts import (
    ACCEPTED_FILES,
    DOCUMENT_TYPES,
    KIND_STEPS,
    KIND_TITLES,
    SIDE_TEXT,
    text_choices,
)


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
        self.fields["doc_type"].choices = text_choices(types, DOCUMENT_TYPES, empty=len(types) > 1)
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
    kyc_file = my_kyc_file(request)
    if kyc_file is None:
        return redirect("portal:verification")
    steps = steps_by_code(kyc_file)
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
            after = steps_by_code(kyc_file).get(KIND_STEPS[kind])
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
            "step": step_view(step),
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
    kyc_file = my_kyc_file(request)
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
