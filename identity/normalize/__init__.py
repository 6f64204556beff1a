"""Canonical forms of the personal data the identity match engine compares.

The same function runs when a match key is stored and when a new registration is probed, so a
value written two ways ("+357 99 123456" and "0035799123456", "Иван" and "Ivan") lands on the same
key. Everything here is pure: no database, no settings, no clock except `_today()`
(in `identity.normalize.dates`).

Every rejection is a `NormalizationError` carrying a stable `code` that callers turn into an HTTP
400; no other exception type may escape, whatever the input (None, bytes, surrogates, 10 MB).
"""

from .contact import (
    DOMAIN_ALIASES,
    DOT_INSENSITIVE_DOMAINS,
    PLUS_ADDRESSING_DOMAINS,
    email_display,
    normalize_email,
    normalize_phone,
)
from .dates import birth_date_keys, parse_birth_date
from .documents import (
    TAX_ID_MODULES,
    normalize_country,
    normalize_document_number,
    normalize_tax_id,
)
from .errors import NormalizationCode, NormalizationError
from .names import NAME_NOISE_TOKENS, name_key, name_tokens, phonetic, phonetic_key, to_latin
from .network import normalize_device, normalize_ip

__all__ = [
    "DOMAIN_ALIASES",
    "DOT_INSENSITIVE_DOMAINS",
    "NAME_NOISE_TOKENS",
    "PLUS_ADDRESSING_DOMAINS",
    "TAX_ID_MODULES",
    "NormalizationCode",
    "NormalizationError",
    "birth_date_keys",
    "email_display",
    "name_key",
    "name_tokens",
    "normalize_country",
    "normalize_device",
    "normalize_document_number",
    "normalize_email",
    "normalize_ip",
    "normalize_phone",
    "normalize_tax_id",
    "parse_birth_date",
    "phonetic",
    "phonetic_key",
    "to_latin",
]
