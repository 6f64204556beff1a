"""`NormalizationError`, the one exception a normaliser raises, and the checks every normaliser
applies to raw input first (text, bounded length, readable characters)."""

from __future__ import annotations

import unicodedata
from typing import Literal

NormalizationCode = Literal[
    "email_invalid",
    "phone_invalid",
    "birth_date_invalid",
    "name_invalid",
    "document_number_invalid",
    "tax_id_invalid",
    "ip_invalid",
    "device_invalid",
    "country_invalid",
]


class NormalizationError(ValueError):
    """A value that cannot be turned into a match key; `code` is the stable API error code."""

    def __init__(self, code: NormalizationCode, message: str) -> None:
        super().__init__(message)
        self.code: str = code
        self.message: str = message


# Inputs longer than this are rejected before any parsing, so hostile payloads cost nothing.
_MAX_RAW_LENGTH = 1000


def _require_text(value: object, code: NormalizationCode, what: str, max_length: int) -> str:
    # Callers pass JSON values straight through; None, numbers and lists must become a 400.
    if not isinstance(value, str):
        raise NormalizationError(code, f"The {what} must be text.")
    if len(value) > max_length:
        raise NormalizationError(code, f"The {what} is longer than {max_length} characters.")
    return value


def _reject_unreadable(text: str, code: NormalizationCode, what: str) -> str:
    # Lone surrogates and control characters are encoding damage or injection, not data;
    # unidecode would silently drop them, so "Jo<U+D800>hn" would match John unnoticed.
    if any(unicodedata.category(ch) in {"Cs", "Cc"} and not ch.isspace() for ch in text):
        raise NormalizationError(code, f"The {what} contains invalid characters.")
    return text


def _has_control_or_space(text: str) -> bool:
    # Category C covers control, format (zero-width joiners), surrogates and unassigned code
    # points: none belongs in an address, and surrogates would break encoding further down.
    return any(ch.isspace() or unicodedata.category(ch).startswith("C") for ch in text)
