"""What the identity writes share: the group-wide flags of a person and their snapshot."""

from __future__ import annotations

from typing import Any

from brokercrm.masking import snapshot

from ..models import Person

FLAG_FIELDS = (
    "aml_blocked",
    "aml_block_reason",
    "aml_blocked_at",
    "sanctions_hit",
    "pep",
    "risk_hold",
    "risk_level",
    "marketing_email",
    "marketing_sms",
    "marketing_phone",
)


def _flags(person: Person) -> dict[str, Any]:
    return snapshot(person, list(FLAG_FIELDS))
