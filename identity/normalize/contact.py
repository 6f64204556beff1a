"""E-mail addresses (the mailbox they deliver to, and the address to write to) and phone numbers
(E.164)."""

from __future__ import annotations

import re

import phonenumbers

from .errors import _MAX_RAW_LENGTH, NormalizationError, _has_control_or_space, _require_text

# Providers that deliver "name+tag@domain" to "name@domain": the tag is how people register twice.
# Kept as data so compliance can review it; GMX and Yahoo are absent on purpose (GMX has no plus
# addressing, Yahoo uses disposable "-" aliases we cannot tell from real hyphens).
PLUS_ADDRESSING_DOMAINS: frozenset[str] = frozenset(
    {
        "gmail.com",
        "outlook.com",
        "hotmail.com",
        "live.com",
        "msn.com",
        "icloud.com",
        "me.com",
        "mac.com",
        "protonmail.com",
        "proton.me",
        "pm.me",
        "fastmail.com",
        "fastmail.fm",
        "yandex.ru",
        "yandex.com",
        "zoho.com",
    }
)

# Gmail ignores dots in the local part, so "j.o.h.n" and "john" are one mailbox.
DOT_INSENSITIVE_DOMAINS: frozenset[str] = frozenset({"gmail.com"})

# Alternative domains that deliver to the same mailbox as the canonical one.
DOMAIN_ALIASES: dict[str, str] = {"googlemail.com": "gmail.com"}

_MAX_EMAIL_LENGTH = 254
_MAX_LOCAL_PART_LENGTH = 64
_MAX_DOMAIN_LENGTH = 253
_DOMAIN_LABEL = re.compile(r"[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?", re.ASCII)


def _split_email(raw: object) -> tuple[str, str, str]:
    """Validate and return (local part, domain as typed, domain in ASCII), both domains lower."""
    text = _require_text(raw, "email_invalid", "e-mail address", _MAX_RAW_LENGTH).strip()
    if not text:
        raise NormalizationError("email_invalid", "The e-mail address is empty.")
    if len(text) > _MAX_EMAIL_LENGTH:
        raise NormalizationError(
            "email_invalid", f"The e-mail address is longer than {_MAX_EMAIL_LENGTH} characters."
        )
    if _has_control_or_space(text):
        raise NormalizationError(
            "email_invalid", "The e-mail address contains spaces or control characters."
        )
    if text.count("@") != 1:
        raise NormalizationError("email_invalid", "The e-mail address must contain exactly one @.")
    local, domain = text.split("@")
    if not local:
        raise NormalizationError("email_invalid", "The e-mail address has nothing before the @.")
    # RFC 5321 counts octets, not characters: a 64-character Cyrillic local part is too long.
    if len(local.encode("utf-8")) > _MAX_LOCAL_PART_LENGTH:
        raise NormalizationError(
            "email_invalid",
            f"The part before the @ is longer than {_MAX_LOCAL_PART_LENGTH} bytes.",
        )
    domain = domain.lower()
    try:
        ascii_domain = domain.encode("idna").decode("ascii").lower()
    except UnicodeError as exc:
        raise NormalizationError(
            "email_invalid", "The e-mail address has an invalid domain."
        ) from exc
    labels = ascii_domain.split(".")
    if (
        len(labels) < 2
        or len(ascii_domain) > _MAX_DOMAIN_LENGTH
        or not all(_DOMAIN_LABEL.fullmatch(label) for label in labels)
        # An all-numeric top-level label means an IP address, not a mail domain.
        or labels[-1].isdigit()
    ):
        raise NormalizationError("email_invalid", "The e-mail address has an invalid domain.")
    if len(local.encode("utf-8")) + 1 + len(ascii_domain) > _MAX_EMAIL_LENGTH:
        raise NormalizationError(
            "email_invalid", f"The e-mail address is longer than {_MAX_EMAIL_LENGTH} characters."
        )
    return local, domain, ascii_domain


def normalize_email(raw: str) -> str:
    """The mailbox an address delivers to, used as the match key (never for sending mail)."""
    local, _domain, ascii_domain = _split_email(raw)
    # Case is technically significant in the local part, but no mainstream provider honours it
    # and people type it inconsistently, so for matching it is noise.
    local = local.lower()
    ascii_domain = DOMAIN_ALIASES.get(ascii_domain, ascii_domain)
    if ascii_domain in PLUS_ADDRESSING_DOMAINS:
        local = local.split("+", 1)[0]
    if ascii_domain in DOT_INSENSITIVE_DOMAINS:
        local = local.replace(".", "")
    if not local:
        raise NormalizationError(
            "email_invalid", "The e-mail address has no mailbox name before the @."
        )
    return f"{local}@{ascii_domain}"


def email_display(raw: str) -> str:
    """The address to contact the person at: as typed, trimmed, with the domain lower-cased."""
    local, domain, _ascii_domain = _split_email(raw)
    # Validate the matching form too, so nothing is stored that normalize_email would refuse.
    normalize_email(raw)
    return f"{local}@{domain}"


# --- phone -------------------------------------------------------------------------------------

_MAX_PHONE_LENGTH = 40


def normalize_phone(raw: str, default_region: str | None) -> str:
    """E.164 form; `default_region` (ISO alpha-2) reads numbers written without a country code."""
    text = _require_text(raw, "phone_invalid", "phone number", _MAX_PHONE_LENGTH).strip()
    # phonenumbers reads letters as keypad digits ("1-800-FLOWERS"); in a registration form
    # letters mean a typo or junk, and converting them would invent numbers that collide.
    if any(ch.isalpha() for ch in text):
        raise NormalizationError("phone_invalid", "The phone number contains letters.")
    if default_region is not None and not isinstance(default_region, str):
        raise NormalizationError("phone_invalid", "The phone number's region must be text.")
    region = default_region.strip().upper() if default_region else None
    try:
        number = phonenumbers.parse(text, region)
    except phonenumbers.NumberParseException as exc:
        raise NormalizationError("phone_invalid", "This is not a phone number.") from exc
    if not (phonenumbers.is_possible_number(number) and phonenumbers.is_valid_number(number)):
        raise NormalizationError("phone_invalid", "This phone number does not exist.")
    return phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.E164)
