"""Encryption at rest and blind indexes for personal data (document and tax numbers).

- `encrypt` / `decrypt` use Fernet (AES-128-CBC + HMAC-SHA256, random IV) under
  `settings.FIELD_ENCRYPTION_KEY`: comma-separated keys, newest first. The newest key encrypts;
  every listed key decrypts, so a key can be rotated in without downtime and removed once
  `manage.py rotate_field_keys` has re-encrypted every row.
- `blind_index` is a keyed HMAC under `settings.BLIND_INDEX_KEY`, the only way to match an
  encrypted value: ciphertext is randomised, so equal plaintexts never give equal tokens. The
  key is separate so that rotating the encryption keys leaves the match index valid.

Callers normalise values (strip, upper-case, drop separators) before `blind_index`: this module
hashes exactly what it is given.
"""

from __future__ import annotations

import functools
import hashlib
import hmac
from collections.abc import Sequence
from dataclasses import dataclass
from enum import Enum

from cryptography.fernet import Fernet, InvalidToken, MultiFernet
from django.conf import settings
from django.core.exceptions import ImproperlyConfigured

__all__ = [
    "BLIND_INDEX_BYTES",
    "DecryptionError",
    "KeyConfigurationError",
    "blind_index",
    "blind_index_hex",
    "decrypt",
    "encrypt",
    "needs_rotation",
    "rotate",
    "validate_keys",
]

# 128 bits: no collision at any realistic number of persons, and half the size of a full
# SHA-256 digest in every index row.
BLIND_INDEX_BYTES = 16
BLIND_INDEX_MIN_KEY_LENGTH = 32

# Separates kind from value inside the HMAC input. Kinds may not contain it, so ("doc", "x")
# and ("do", "c\x1fx") can never produce the same input.
_KIND_SEPARATOR = "\x1f"

_FERNET_KEY_HELP = (
    "Each key is the urlsafe base64 encoding of 32 bytes (44 characters); list several "
    "comma-separated, newest first. Generate one with: "
    'python -c "from cryptography.fernet import Fernet; print(Fernet.generate_key().decode())"'
)
_BLIND_INDEX_KEY_HELP = (
    f"It must be a string of at least {BLIND_INDEX_MIN_KEY_LENGTH} characters, different from "
    "every FIELD_ENCRYPTION_KEY, and must never change once indexes exist. Generate one with: "
    'python -c "import secrets; print(secrets.token_urlsafe(48))"'
)


class KeyConfigurationError(ImproperlyConfigured):
    """FIELD_ENCRYPTION_KEY or BLIND_INDEX_KEY is missing or malformed."""


class DecryptionError(ValueError):
    """A token was altered, is not a Fernet token, or was encrypted under a key no longer set.

    A ValueError rather than an ApplicationError: it means the data or the key configuration
    is wrong, never that a client sent a bad request, so it must not become a 4xx.
    """

    code = "decryption_failed"

    def __init__(self, detail: str | None = None) -> None:
        super().__init__(
            detail
            or "The value could not be decrypted with any key in FIELD_ENCRYPTION_KEY: it was "
            "altered, or it was encrypted under a key that is no longer configured."
        )


# --- keys ------------------------------------------------------------------------------


@dataclass(frozen=True)
class _Keyring:
    multi: MultiFernet
    # Kept apart so needs_rotation can ask "was this written under the newest key?" alone.
    newest: Fernet
    size: int


def _setting_entries(raw: object) -> tuple[str, ...]:
    # Environment variables arrive as one comma-separated string; settings overridden in code
    # may be a list. Both end up as a tuple so the keyring cache can hash them.
    if isinstance(raw, str):
        parts: Sequence[object] = raw.split(",")
    elif isinstance(raw, list | tuple):
        parts = raw
    else:
        parts = ()
    return tuple(str(part).strip() for part in parts if str(part).strip())


@functools.lru_cache(maxsize=8)
def _keyring_for(entries: tuple[str, ...]) -> _Keyring:
    if not entries:
        raise KeyConfigurationError(f"FIELD_ENCRYPTION_KEY is not set. {_FERNET_KEY_HELP}")
    fernets: list[Fernet] = []
    for position, key in enumerate(entries, start=1):
        try:
            fernets.append(Fernet(key))
        except ValueError as exc:  # binascii.Error is a ValueError too
            # The key itself is never echoed: error messages end up in logs.
            raise KeyConfigurationError(
                f"FIELD_ENCRYPTION_KEY entry {position} of {len(entries)} is not a valid Fernet "
                f"key. {_FERNET_KEY_HELP}"
            ) from exc
    return _Keyring(multi=MultiFernet(fernets), newest=fernets[0], size=len(fernets))


def _keyring() -> _Keyring:
    # Looked up on every call (the cache makes that cheap) so that a settings override in a
    # test, or a reloaded setting, takes effect at once.
    return _keyring_for(_setting_entries(getattr(settings, "FIELD_ENCRYPTION_KEY", "")))


@functools.lru_cache(maxsize=8)
def _blind_index_hmac_for(key: str) -> hmac.HMAC:
    if len(key) < BLIND_INDEX_MIN_KEY_LENGTH:
        state = "is not set" if not key else f"is too short ({len(key)} characters)"
        raise KeyConfigurationError(f"BLIND_INDEX_KEY {state}. {_BLIND_INDEX_KEY_HELP}")
    # A keyed HMAC whose key schedule is computed once; each call works on a copy.
    return hmac.new(key.encode("utf-8"), digestmod=hashlib.sha256)


def _blind_index_hmac() -> hmac.HMAC:
    key = getattr(settings, "BLIND_INDEX_KEY", "") or ""
    return _blind_index_hmac_for(str(key))


def validate_keys() -> None:
    """Raise KeyConfigurationError unless both settings hold usable, distinct keys.

    For startup checks and management commands: the per-call paths validate lazily.
    """
    keyring_entries = _setting_entries(getattr(settings, "FIELD_ENCRYPTION_KEY", ""))
    _keyring_for(keyring_entries)
    _blind_index_hmac()
    # Reusing an encryption key as the index key would tie the index to key rotation and
    # make one leaked secret expose both.
    if str(getattr(settings, "BLIND_INDEX_KEY", "") or "") in keyring_entries:
        raise KeyConfigurationError(
            f"BLIND_INDEX_KEY must not be one of the FIELD_ENCRYPTION_KEY keys. "
            f"{_BLIND_INDEX_KEY_HELP}"
        )


# --- encryption ------------------------------------------------------------------------


def _token_bytes(token: str) -> bytes:
    if not isinstance(token, str):
        raise DecryptionError(f"Expected a Fernet token as str, got {type(token).__name__}.")
    try:
        return token.encode("ascii")
    except UnicodeEncodeError as exc:
        # Fernet tokens are urlsafe base64; anything else was never one of ours.
        raise DecryptionError() from exc


def encrypt(plaintext: str) -> str:
    """A new Fernet token for `plaintext` under the newest key (different on every call)."""
    if not isinstance(plaintext, str):
        raise TypeError(f"encrypt() takes str, not {type(plaintext).__name__}")
    return _keyring().multi.encrypt(plaintext.encode("utf-8")).decode("ascii")


def decrypt(token: str) -> str:
    """The plaintext of a token written under any configured key."""
    keyring = _keyring()
    try:
        return keyring.multi.decrypt(_token_bytes(token)).decode("utf-8")
    except InvalidToken as exc:
        raise DecryptionError() from exc


def needs_rotation(token: str) -> bool:
    """True when the token was written under an older key and should be re-encrypted.

    Raises DecryptionError when no configured key can read the token at all: such a row
    cannot be rotated, and reporting it as "needs rotation" would hide that.
    """
    keyring = _keyring()
    data = _token_bytes(token)
    try:
        keyring.newest.decrypt(data)
        return False
    except InvalidToken:
        pass
    if keyring.size == 1:
        raise DecryptionError()
    try:
        keyring.multi.decrypt(data)
    except InvalidToken as exc:
        raise DecryptionError() from exc
    return True


def rotate(token: str) -> str:
    """The same plaintext re-encrypted under the newest key (original timestamp kept)."""
    keyring = _keyring()
    try:
        return keyring.multi.rotate(_token_bytes(token)).decode("ascii")
    except InvalidToken as exc:
        raise DecryptionError() from exc


# --- blind indexes ---------------------------------------------------------------------


def blind_index(kind: str, value: str) -> bytes:
    """Keyed HMAC-SHA256 of (kind, value), first 16 bytes. Deterministic, so it can be matched.

    `kind` ("doc", "tax", "email", "phone", "name_dob", ...) is part of the input so that the
    same string indexed as two kinds gives unrelated digests and cannot be correlated.
    """
    # A TextChoices member and its plain value must give the same digest; formatting an enum
    # member can yield "Kind.DOC" depending on the Python version, so take its value.
    label = kind.value if isinstance(kind, Enum) else kind
    if not isinstance(label, str) or not label or _KIND_SEPARATOR in label:
        raise ValueError("blind_index kind must be a non-empty label without \\x1f")
    if not isinstance(value, str):
        # Coercing would index None as "None" and make every missing value match.
        raise TypeError(f"blind_index value must be str, not {type(value).__name__}")
    mac = _blind_index_hmac().copy()
    mac.update((label + _KIND_SEPARATOR + value).encode("utf-8"))
    return mac.digest()[:BLIND_INDEX_BYTES]


def blind_index_hex(kind: str, value: str) -> str:
    """`blind_index` as 32 hex characters, for display and debugging."""
    return blind_index(kind, value).hex()
