"""Documents: upload (by content, under a random name, versioned) and audited reads."""

from __future__ import annotations

import logging
from datetime import date
from typing import Any

from django.db import transaction

from audit.services import audit_record
from brokercrm.errors import Conflict, NotFound, ValidationFailed
from brokercrm.gate import is_client, is_system, require

from .. import audit_actions as actions
from ..models import KycDocument, KycFile, client_upload_label
from .common import document_side_checked, storage_dir

logger = logging.getLogger(__name__)


def _uploader_label(actor: Any, kyc_file: KycFile, given: str) -> str:
    """Who uploaded, for the reviewer: a staff member's username, the job's name, or the
    client as `client:<profile id>` (a client's login name holds their e-mail)."""
    if is_client(actor):
        return given or client_upload_label(kyc_file.profile_id)
    if is_system(actor):
        return actor.label
    return actor.get_username()


def document_upload(
    *,
    actor: Any,
    kyc_file: KycFile,
    kind: str,
    data: bytes,
    filename: str = "",
    doc_type: str = "",
    issued_on: date | None = None,
    expires_on: date | None = None,
    uploaded_by: str = "",
    side: str = "",
) -> KycDocument:
    """Accept a document by its content (JPEG, PNG or PDF), store it under a random name and
    record a new version. `actor` is the client (through a brand or the portal), staff or a
    job (SYSTEM).
    An ID card or a driving licence comes as two uploads, `side` front and back; anything else
    is one page (no side)."""
    from ..uploads import KycInputError, inspect_upload, random_storage_name

    if kind not in KycDocument.Kind.values:
        raise ValidationFailed(f"Unknown document kind {kind!r}.", code="document_kind_invalid")
    require(actor, "kyc.add_kycdocument", kyc_file)
    doc_type = doc_type[:30]
    side = document_side_checked(kind=kind, doc_type=doc_type, side=side)
    if kyc_file.status not in (KycFile.Status.DRAFT, KycFile.Status.IN_REVIEW):
        raise Conflict(
            "Documents can be added while the file is a draft or in review.", code="kyc_file_locked"
        )
    try:
        info = inspect_upload(data, filename=filename)
    except KycInputError as exc:
        raise ValidationFailed(str(exc), code=exc.code) from exc
    name = random_storage_name(info)
    path = storage_dir() / name
    path.write_bytes(data)
    path.chmod(0o600)
    try:
        with transaction.atomic():
            latest = (
                KycDocument.objects.in_entity(kyc_file.entity_id)
                .select_for_update()
                .filter(kyc_file=kyc_file, kind=kind)
                .order_by("-version")
                .first()
            )
            document = KycDocument.objects.create(
                entity_id=kyc_file.entity_id,
                kyc_file=kyc_file,
                kind=kind,
                doc_type=doc_type,
                side=side,
                version=(latest.version + 1) if latest else 1,
                storage_name=name,
                content_type=info.content_type,
                size=info.size,
                sha256=info.sha256,
                issued_on=issued_on,
                expires_on=expires_on,
                uploaded_by=_uploader_label(actor, kyc_file, uploaded_by)[:150],
            )
            audit_record(
                actor=actor,
                action=actions.DOCUMENT_UPLOADED,
                entity=kyc_file.entity_id,
                obj=document,
                after={
                    "kind": kind,
                    "side": side,
                    "version": document.version,
                    "content_type": info.content_type,
                    "size": info.size,
                    "sha256": info.sha256,
                },
            )
    except BaseException:
        path.unlink(missing_ok=True)  # nothing half-written: no file without its row
        raise
    return document


def _stored_bytes(document: KycDocument) -> bytes:
    try:
        return (storage_dir() / document.storage_name).read_bytes()
    except FileNotFoundError:
        logger.error("KYC document %s has no stored file %s", document.pk, document.storage_name)
        raise NotFound(
            "The file of this document is missing; please contact support.",
            code="document_file_missing",
        ) from None


def document_read(*, actor: Any, document: KycDocument) -> bytes:
    """The file's bytes, for staff whose role and entity allow it; every read is audited."""
    require(
        actor, "kyc.view_kycdocument", document, detail="You may not see this client's documents."
    )
    data = _stored_bytes(document)
    with transaction.atomic():
        audit_record(
            actor=actor,
            action=actions.DOCUMENT_READ,
            entity=document.entity_id,
            obj=document,
            after={"kind": document.kind, "version": document.version},
        )
    return data


def document_client_read(
    *, actor: Any, kyc_file: KycFile, document_id: int
) -> tuple[KycDocument, bytes]:
    """A document the client uploaded themselves, for that client; audited as every read is.
    Another client's document, and what staff added to the file, read as unknown (404)."""
    require(actor, "kyc.view_kycfile", kyc_file)
    document = (
        KycDocument.objects.in_entity(kyc_file.entity_id)
        .filter(
            pk=document_id,
            kyc_file=kyc_file,
            uploaded_by=client_upload_label(kyc_file.profile_id),
        )
        .first()
    )
    if document is None:
        raise NotFound("No such document.", code="not_found")
    data = _stored_bytes(document)
    with transaction.atomic(durable=True):
        audit_record(
            actor=actor,
            action=actions.DOCUMENT_READ,
            entity=document.entity_id,
            obj=document,
            after={
                "kind": document.kind,
                "side": document.side,
                "version": document.version,
                "reader": "client",
            },
        )
    return document, data
