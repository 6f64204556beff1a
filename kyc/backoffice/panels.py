"""The KYC tab of the client 360: per profile the user may see, the KYC file with its risk,
decision and rule set, the documents with previews and each check with its evidence. Documents
and checks are separate permissions: a role that sees the file's status may see neither."""

from __future__ import annotations

from typing import Any

from django.template.loader import render_to_string
from django.urls import reverse

from brokercrm.backoffice.panels import newest_rows, subject_in_scope
from brokercrm.backoffice.registry import ClientPanel, ClientSubject, panel_register
from brokercrm.scoping import scope_for

from ..models import KycCheck, KycDocument, KycFile
from ..uploads import INLINE_TYPES

VIEW_FILE = "kyc.view_kycfile"
VIEW_DOCUMENT = "kyc.view_kycdocument"
VIEW_CHECK = "kyc.view_kyccheck"


def _document_row(document: KycDocument) -> dict[str, Any]:
    return {
        "document": document,
        "url": reverse("admin:kyc_kycdocument_change", args=[document.pk]),
        "file_url": reverse("admin:kyc_kycdocument_file", args=[document.pk]),
        "previewable": document.content_type in INLINE_TYPES,
    }


def render(request: Any, subject: ClientSubject) -> str | None:
    user = request.user
    file_scope = scope_for(user, VIEW_FILE)
    if not subject_in_scope(file_scope, subject):
        return None
    # Profiles of entities where the user may see KYC files at all: elsewhere "no file yet"
    # would be a guess, not a fact.
    profiles = [
        profile
        for profile in subject.visible_profiles
        if file_scope.everything or profile.entity_id in file_scope.any_entity_ids
    ]
    profile_ids = [profile.id for profile in profiles]
    files = {
        kyc_file.profile_id: kyc_file
        for kyc_file in KycFile.objects.visible_to(user, VIEW_FILE)
        .filter(profile_id__in=profile_ids)
        .select_related("first_approver", "second_approver")
    }
    file_ids = [kyc_file.pk for kyc_file in files.values()]
    documents: tuple[list[Any], int] | None = None
    if subject_in_scope(scope_for(user, VIEW_DOCUMENT), subject):
        rows, total = newest_rows(
            KycDocument.objects.visible_to(user, VIEW_DOCUMENT)
            .filter(kyc_file_id__in=file_ids)
            .order_by("-uploaded_at", "-pk")
        )
        documents = ([_document_row(row) for row in rows], total)
    checks: tuple[list[Any], int] | None = None
    if subject_in_scope(scope_for(user, VIEW_CHECK), subject):
        checks = newest_rows(
            KycCheck.objects.visible_to(user, VIEW_CHECK)
            .filter(kyc_file_id__in=file_ids)
            .order_by("-created_at", "-pk")
        )
    sections = []
    for profile in profiles:
        kyc_file = files.get(profile.id)
        section: dict[str, Any] = {"profile": profile, "file": kyc_file}
        if kyc_file is not None:
            section["url"] = reverse("admin:kyc_kycfile_change", args=[kyc_file.pk])
            if documents is not None:
                section["documents"] = [
                    row for row in documents[0] if row["document"].kyc_file_id == kyc_file.pk
                ]
            if checks is not None:
                section["checks"] = [row for row in checks[0] if row.kyc_file_id == kyc_file.pk]
        sections.append(section)
    context = {
        "sections": sections,
        "documents_shown": documents is not None,
        "documents_count": len(documents[0]) if documents else 0,
        "documents_total": documents[1] if documents else 0,
        "checks_shown": checks is not None,
        "checks_count": len(checks[0]) if checks else 0,
        "checks_total": checks[1] if checks else 0,
    }
    return render_to_string("backoffice/panels/kyc.html", context, request=request)


def register() -> None:
    panel_register(ClientPanel("kyc", "KYC", render, order=10))
