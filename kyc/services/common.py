"""What the KYC writes share: document storage, the rules in force, a client's file, the
permission check, and how a check is recorded (once per input) and a document looked up."""

from __future__ import annotations

import hashlib
import logging
from collections.abc import Sequence
from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

from django.conf import settings

from brokercrm.errors import ValidationFailed
from entities.rules import kyc_rules_with_defaults
from entities.selectors import RuleSetMissing, ruleset_effective

from ..models import TWO_SIDED_DOCUMENTS, KycCheck, KycDocument, KycFile

if TYPE_CHECKING:
    from identity.models import ClientProfile

logger = logging.getLogger(__name__)


def storage_dir() -> Path:
    """Documents live outside any public path, under names that say nothing."""
    path = Path(getattr(settings, "KYC_STORAGE_DIR", settings.VAR_DIR / "kyc-documents"))
    path.mkdir(parents=True, exist_ok=True, mode=0o700)
    return path


def _rules(
    entity: Any, kind: str, country: str = "", at: datetime | None = None
) -> tuple[dict[str, Any], str]:
    try:
        ruleset = ruleset_effective(entity=entity, kind=kind, country=country, at=at)
    except RuleSetMissing:
        return {}, ""
    return ruleset.document, ruleset.reference


def _kyc_rules(profile: ClientProfile, at: datetime | None) -> tuple[dict[str, Any], str]:
    """The KYC rules for the client's entity and residence country, every rule present."""
    document, reference = _rules(profile.entity, "kyc", profile.residence_country, at=at)
    return kyc_rules_with_defaults(document), reference


def kyc_file_for(*, profile: ClientProfile) -> KycFile:
    kyc_file, _ = KycFile.objects.unscoped().get_or_create(
        profile=profile, defaults={"entity_id": profile.entity_id}
    )
    return kyc_file


def _fingerprint(*parts: Any) -> str:
    return hashlib.sha256("\x1f".join(str(part) for part in parts).encode()).hexdigest()


def _record_check(
    kyc_file: KycFile,
    kind: str,
    provider: str,
    fingerprint: str,
    result: str,
    evidence: dict[str, Any],
    document: KycDocument | None = None,
) -> KycCheck:
    check, _ = KycCheck.objects.unscoped().get_or_create(
        kyc_file=kyc_file,
        kind=kind,
        input_fingerprint=fingerprint,
        defaults={
            "entity_id": kyc_file.entity_id,
            "provider": provider,
            "result": result,
            "evidence": evidence,
            "document": document,
        },
    )
    return check


def _latest(kyc_file: KycFile, kind: str) -> KycDocument | None:
    return (
        KycDocument.objects.in_entity(kyc_file.entity_id)
        .filter(kyc_file=kyc_file, kind=kind)
        .order_by("-version")
        .first()
    )


# --- sides ---------------------------------------------------------------------------------

SINGLE, FRONT, BACK = KycDocument.Side.SINGLE, KycDocument.Side.FRONT, KycDocument.Side.BACK


def sides_needed(kind: str, doc_type: str) -> tuple[str, ...]:
    """The pages a document is complete with: front and back for an ID card or a driving
    licence, one page for everything else."""
    if kind == KycDocument.Kind.IDENTITY and doc_type in TWO_SIDED_DOCUMENTS:
        return (FRONT, BACK)
    return (SINGLE,)


def document_side_checked(*, kind: str, doc_type: str, side: str) -> str:
    """The side an upload records, or a refusal with a stable code."""
    side = (side or "").strip().lower()
    needed = sides_needed(kind, doc_type)
    if side not in ("", *KycDocument.Side.values):
        raise ValidationFailed("side is front or back.", code="document_side_invalid")
    if needed == (SINGLE,):
        if side in ("", SINGLE):
            return SINGLE
        what = (doc_type or "document").replace("_", " ")
        raise ValidationFailed(
            f"A {what} is sent as one page: leave side out.", code="document_side_not_applicable"
        )
    if side in needed:
        return side
    raise ValidationFailed(
        f"A {doc_type.replace('_', ' ')} has a front and a back: send each with side front or "
        "back.",
        code="document_side_required",
    )


def current_sides(documents: Sequence[KycDocument]) -> dict[str, KycDocument]:
    """The pages that stand for one kind of document (its uploads, oldest version first): the
    latest upload decides the document; a two-sided one is its latest front and latest back of
    the same type (a side may still be missing)."""
    if not documents:
        return {}
    latest = documents[-1]
    if latest.side == SINGLE:
        return {SINGLE: latest}
    current: dict[str, KycDocument] = {}
    for document in reversed(documents):
        if document.doc_type == latest.doc_type and document.side != SINGLE:
            current.setdefault(document.side, document)
    return current


def _current(kyc_file: KycFile, kind: str) -> dict[str, KycDocument]:
    return current_sides(
        list(
            KycDocument.objects.in_entity(kyc_file.entity_id)
            .filter(kyc_file=kyc_file, kind=kind)
            .order_by("version")
        )
    )
