"""Idempotency keys: every money-moving request carries one; a repeat returns the first result,
a reused key with a different body is refused (DESIGN.md section 5)."""

from __future__ import annotations

import hashlib
import json
from typing import Any

from .errors import ApplicationError, ValidationFailed


class IdempotencyKeyReused(ApplicationError):
    code = "idempotency_key_reused"
    status = 409
    default_detail = "This idempotency key was already used for a different request."


def request_hash(payload: dict[str, Any]) -> str:
    """What an idempotency key is bound to: a reused key with another hash is refused."""
    return hashlib.sha256(json.dumps(payload, sort_keys=True, default=str).encode()).hexdigest()


def idempotency_key_checked(idempotency_key: str) -> str:
    key = (idempotency_key or "").strip()
    if not key or len(key) > 100:
        raise ValidationFailed(
            "Give an idempotency key of 1-100 characters.", code="idempotency_key_invalid"
        )
    return key
