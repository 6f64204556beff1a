"""A client accepting the entity's legal documents (client agreement, risk disclosure,
privacy notice), one version at a time, recorded with the time, IP address and browser."""

from __future__ import annotations

from typing import Any

from django.db import IntegrityError, transaction
from django.utils import timezone

from audit.services import audit_record
from brokercrm.context import current as request_context
from brokercrm.errors import NotFound, ValidationFailed
from brokercrm.gate import require
from entities.selectors import legal_document_of_entity, legal_documents_current

from .. import audit_actions as actions
from ..models import ClientProfile, Consent

CLIENT_AGREEMENT = "client_agreement"


def consent_accept(
    *,
    actor: Any,
    profile: ClientProfile,
    document_id: int,
    ip: str | None = None,
    user_agent: str = "",
) -> tuple[Consent, bool]:
    """Record that the client accepted this version of one of their entity's documents.
    Returns the acceptance and whether it is new: accepting the same version again changes
    nothing. Only the version in force may be accepted (`document_superseded` otherwise);
    another entity's document, or one not published yet, reads as unknown (404)."""
    require(actor, "identity.add_consent", profile)
    document = legal_document_of_entity(profile.entity_id, document_id)
    if document is None:
        raise NotFound("No such document.", code="document_not_found")
    in_force = {row.kind: row.pk for row in legal_documents_current(profile.entity_id)}
    if in_force.get(document.kind) != document.pk:
        raise ValidationFailed(
            "A newer version of this document has been published: read and accept that one.",
            code="document_superseded",
            extra={"current_document_id": in_force.get(document.kind)},
        )
    rows = Consent.objects.unscoped()
    existing = rows.filter(profile_id=profile.pk, document_id=document.pk).first()
    if existing is not None:
        return existing, False
    ip = ip if ip is not None else request_context().ip
    try:
        with transaction.atomic(durable=True):
            locked = ClientProfile.objects.unscoped().select_for_update().get(pk=profile.pk)
            consent = rows.create(
                entity_id=locked.entity_id,
                profile=locked,
                document=document,
                kind=document.kind,
                version=document.version,
                accepted_at=timezone.now(),
                ip=ip,
                user_agent=(user_agent or "")[:400],
            )
            if document.kind == CLIENT_AGREEMENT:
                locked.agreement_version = document.reference[:40]
                locked.save(update_fields=["agreement_version", "updated_at"])
            audit_record(
                actor=actor,
                action=actions.CONSENT_ACCEPTED,
                entity=locked.entity_id,
                obj=locked,
                after={
                    "document": document.reference,
                    "document_id": document.pk,
                    "ip": ip,
                    "user_agent": consent.user_agent,
                },
            )
    except IntegrityError:  # the same acceptance, sent twice at once
        return rows.get(profile_id=profile.pk, document_id=document.pk), False
    return consent, True
