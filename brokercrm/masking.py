"""Make values JSON-native and mask personal data before it enters the audit log or an
event: the kernel helpers every app and the audit log share."""

from __future__ import annotations

import datetime as dt
import re
import uuid
from decimal import Decimal
from typing import Any

from django.db import models

MASK = "•"
# Keys whose values never enter the log, not even partly.
_REDACTED = re.compile(r"(password|secret|token|api_key|private_key|pin\b|cvv|cvc)", re.I)
# Keys holding personal data: kept recognisable (last characters) but not readable.
_PERSONAL = re.compile(
    r"(document|passport|national_id|id_number|tax|tin\b|ssn|iban|account_number|card|pan\b|"
    r"email|phone|mobile|birth|dob\b|address|street|postcode|zip)",
    re.I,
)


def to_jsonable(value: Any) -> Any:
    """JSON-native values that survive a jsonb round trip unchanged (no floats, no NULs)."""
    if value is None or isinstance(value, bool | int):
        return value
    if isinstance(value, str):
        return value.replace("\x00", "\ufffd")
    if isinstance(value, float | Decimal):
        return str(value)
    if isinstance(value, dt.datetime | dt.date | dt.time):
        return value.isoformat()
    if isinstance(value, uuid.UUID):
        return str(value)
    if isinstance(value, models.Model):
        return value.pk
    if isinstance(value, dict):
        return {str(key): to_jsonable(item) for key, item in value.items()}
    if isinstance(value, list | tuple | set | frozenset):
        items = [to_jsonable(item) for item in value]
        return sorted(items, key=repr) if isinstance(value, set | frozenset) else items
    return str(value)


def mask_text(text: str) -> str:
    if "@" in text:
        local, _, domain = text.partition("@")
        return f"{local[:1]}{MASK * 3}@{domain}"
    keep = 2 if len(text) > 6 else 0
    return MASK * max(len(text) - keep, 3) + (text[-keep:] if keep else "")


def mask_personal(value: Any, key: str = "") -> Any:
    """Mask values under personal-data keys, recursively."""
    if isinstance(value, dict):
        return {k: mask_personal(v, k) for k, v in value.items()}
    if isinstance(value, list):
        return [mask_personal(item, key) for item in value]
    if key and value not in (None, ""):
        if _REDACTED.search(key):
            return "[redacted]"
        if _PERSONAL.search(key):
            return mask_text(str(value))
    return value


def snapshot(instance: models.Model, fields: list[str] | None = None) -> dict[str, Any]:
    """The concrete field values of a model instance, ready for `before`/`after`."""
    data: dict[str, Any] = {}
    for field in instance._meta.concrete_fields:
        if fields is not None and field.name not in fields:
            continue
        data[field.attname] = to_jsonable(getattr(instance, field.attname))
    return data
