"""Model fields for personal data encrypted at rest.

`EncryptedTextField` keeps the plaintext on the model instance and a Fernet token in the
column: it encrypts on the way to the database and decrypts on the way back. A database dump
therefore holds tokens only. Because every encryption is randomised, the column cannot be
searched; match on a blind index (`identity.crypto.blind_index`) stored next to it.

Note that `dumpdata` serialises model instances, so its output holds the plaintext, like any
other application-level export; it needs the keys to run.
"""

from __future__ import annotations

import base64
import binascii
from typing import Any

from django.core import checks
from django.core.exceptions import FieldError
from django.db import models
from django.db.backends.base.base import BaseDatabaseWrapper
from django.db.models.expressions import Expression

from . import crypto

__all__ = ["CipherText", "EncryptedTextField", "masked"]

MASK_CHAR = "•"
MASK_MIN_BULLETS = 4
MASK_VISIBLE_TAIL = 3

# Fernet token layout: version (1) | timestamp (8) | IV (16) | ciphertext (n x 16) | HMAC (32).
_FERNET_VERSION = 0x80
_FERNET_OVERHEAD = 1 + 8 + 16 + 32
_FERNET_BLOCK = 16


class CipherText(str):
    """A Fernet token that is already encrypted: EncryptedTextField writes it to the column as is.

    Used where code holds a token rather than a plaintext (key rotation writes the rotated
    token straight back), so that it is not encrypted a second time. The constructor checks
    the token's shape, so a plaintext cannot reach the column by being wrapped in CipherText
    by mistake. It does not decrypt: that is the caller's business and would cost a round of
    HMAC per row.
    """

    __slots__ = ()

    def __new__(cls, token: str) -> CipherText:
        if not _looks_like_fernet_token(token):
            raise ValueError("CipherText takes a Fernet token; this value is not one")
        return super().__new__(cls, token)


def _looks_like_fernet_token(token: object) -> bool:
    if not isinstance(token, str):
        return False
    try:
        raw = base64.urlsafe_b64decode(token.encode("ascii"))
    except (UnicodeEncodeError, binascii.Error, ValueError):
        return False
    body = len(raw) - _FERNET_OVERHEAD
    return (
        len(raw) > 0
        and raw[0] == _FERNET_VERSION
        and body >= _FERNET_BLOCK
        and body % _FERNET_BLOCK == 0
    )


class EncryptedTextField(models.TextField):
    """Text stored as a Fernet token under settings.FIELD_ENCRYPTION_KEY.

    Only `__isnull` may be queried: equal plaintexts give different tokens, so `exact`,
    `in`, `contains` and the rest could only ever return wrong answers.
    """

    description = "Text encrypted at rest (Fernet, FIELD_ENCRYPTION_KEY)"

    allowed_lookups = frozenset({"isnull"})

    def from_db_value(
        self, value: str | None, expression: Expression, connection: BaseDatabaseWrapper
    ) -> str | None:
        if value is None:
            return None
        return crypto.decrypt(value)

    def get_prep_value(self, value: Any) -> str | None:
        # The instance holds plaintext (from_db_value decrypts); this runs only on the way to
        # the database, so each save encrypts the plaintext once and never a token again.
        if value is None:
            return None
        if isinstance(value, CipherText):
            return str(value)
        prepared = super().get_prep_value(value)  # resolves lazy strings, coerces to str
        if prepared is None:
            return None
        return crypto.encrypt(prepared)

    def get_lookup(self, lookup_name: str) -> Any:
        if lookup_name in self.allowed_lookups:
            return super().get_lookup(lookup_name)
        raise FieldError(self._refusal(lookup_name))

    def get_transform(self, lookup_name: str) -> Any:
        raise FieldError(self._refusal(lookup_name))

    def _refusal(self, lookup_name: str) -> str:
        name = getattr(self, "name", None) or "this field"
        return (
            f"Cannot query {name} with '{lookup_name}': it is encrypted with a random IV, so "
            f"equal values never match. Filter on its blind index instead "
            f"(identity.crypto.blind_index); only '__isnull' is allowed here."
        )

    def check(self, **kwargs: Any) -> list[checks.CheckMessage]:
        return [*super().check(**kwargs), *self._check_not_keyed()]

    def _check_not_keyed(self) -> list[checks.CheckMessage]:
        # A unique constraint or an index on randomised ciphertext is never hit: it would
        # look like protection against duplicates while giving none.
        if self.primary_key or self.unique:
            return [
                checks.Error(
                    "EncryptedTextField cannot be unique or a primary key: its ciphertext "
                    "differs on every write.",
                    hint="Put the unique constraint on the blind index column instead.",
                    obj=self,
                    id="identity.E001",
                )
            ]
        if self.db_index:
            return [
                checks.Warning(
                    "An index on an EncryptedTextField is never used: its ciphertext differs "
                    "on every write.",
                    hint="Index the blind index column instead.",
                    obj=self,
                    id="identity.W001",
                )
            ]
        return []


def masked(value: str) -> str:
    """The value with all but its last 3 characters replaced by bullets (at least 4 bullets).

    For roles that may know a number exists but not read it. The minimum number of bullets
    hides the length of short values; values under 6 characters reveal only their last half
    (rounded down), so that masking never shows most of a short value.
    """
    if not value:
        return ""
    visible = min(MASK_VISIBLE_TAIL, len(value) // 2)
    bullets = max(len(value) - visible, MASK_MIN_BULLETS)
    return MASK_CHAR * bullets + (value[-visible:] if visible else "")
