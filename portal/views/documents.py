"""My entity's legal documents in force: whether and when I accepted each, the text of each,
and accepting the ones I have not (the same service as the client API's MyConsentsView)."""

from __future__ import annotations

from typing import Any

from django.contrib import messages
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django.views.decorators.http import require_POST

from brokercrm.errors import ApplicationError
from identity import services as identity_services
from identity.selectors import profile_documents

from .common import client_required, flash_error, not_found

KIND_TEXT = {
    "client_agreement": gettext_lazy("Client agreement"),
    "risk_disclosure": gettext_lazy("Risk disclosure"),
    "privacy_notice": gettext_lazy("Privacy notice"),
}


def _row(standing: Any) -> dict[str, Any]:
    document = standing.document
    return {
        "id": document.pk,
        "kind": str(KIND_TEXT.get(document.kind, document.kind)),
        "title": document.title,
        "version": document.version,
        "published_at": document.published_at,
        "body": document.body,
        "url": document.url,
        "accepted_at": standing.accepted_at,
    }


def _standing(profile: Any, document_id: int) -> Any:
    """One of the documents in force for me; any other id reads as none."""
    for standing in profile_documents(profile):
        if standing.document.pk == document_id:
            return standing
    raise not_found()


@client_required
def documents(request: HttpRequest) -> HttpResponse:
    rows = [_row(standing) for standing in profile_documents(request.client.profile)]
    return render(
        request,
        "portal/documents/documents.html",
        {
            "title": _("Documents"),
            "documents": rows,
            "missing": sum(1 for row in rows if row["accepted_at"] is None),
        },
    )


@client_required
def document(request: HttpRequest, document_id: int) -> HttpResponse:
    row = _row(_standing(request.client.profile, document_id))
    return render(
        request,
        "portal/documents/document.html",
        {"title": row["title"], "document": row},
    )


@require_POST
@client_required
def accept(request: HttpRequest, document_id: int) -> HttpResponse:
    profile = request.client.profile
    standing = _standing(profile, document_id)
    try:
        _consent, created = identity_services.consent_accept(
            actor=request.client,
            profile=profile,
            document_id=standing.document.pk,
            user_agent=request.META.get("HTTP_USER_AGENT", ""),
        )
    except ApplicationError as exc:
        flash_error(request, exc)
        return redirect("portal:documents")
    if created:
        messages.success(
            request,
            _("You accepted “%(title)s”.") % {"title": standing.document.title},
        )
    else:
        messages.info(
            request,
            _("You had already accepted “%(title)s”.") % {"title": standing.document.title},
        )
    return redirect("portal:documents")
