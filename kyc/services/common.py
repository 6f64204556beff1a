"""What the KYC writes share: document storage, the rules in force, a client's file, the
permission check, and how a check is recorded (once per input) and a document looked up."""

from __future__ import annotations

import hashlib
import logging
from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

from django.conf import settings

from brokercrm.gate import require
from entities.rules import kyc_rules_with_defaults
from entities.selectors import RuleSetMissing, ruleset_effective

from ..models import KycCheck, KycDocument, KycFile

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


def _require(actor: Any, perm: str, kyc_file: KycFile) -> None:
    """The gate, for a file. `None` is the older spelling of a client acting through a brand
    (uploads from the workflow tests); every new caller passes an explicit actor."""
    if actor is not None:
        require(actor, perm, kyc_file)


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
