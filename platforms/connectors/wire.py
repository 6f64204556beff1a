"""Wire conventions both flavours share: the operation id carried in a balance operation's
31-character comment, and the conversions and checks of amounts, times, page limits and
cursors."""

from __future__ import annotations

import base64
import hashlib
import re
import uuid
from datetime import UTC, datetime
from decimal import Decimal, InvalidOperation
from typing import Any

from brokercrm.errors import ValidationFailed
from brokercrm.money import round_to
from platforms.connectors.errors import PlatformError

MAX_PAGE = 10_000
CENT = Decimal("0.01")
MAX_AMOUNT = Decimal(1_000_000_000)  # the simulator's ceiling too; above it is a typo


COMMENT_PREFIX = "op:"
COMMENT_MAX = 31
_SHORT_ID = re.compile(r"[A-Za-z0-9._-]{1,27}")


def _b32(raw: bytes) -> str:
    return base64.b32encode(raw).decode().rstrip("=").lower()


def operation_comment(operation_id: str) -> str:
    """The balance-operation comment that carries `operation_id`, at most 31 characters.

    A UUID (our usual id) becomes `op:` + its 16 bytes in base32 (29 characters, reversible);
    another id of up to 27 safe characters is kept as `op:=<id>`; anything longer is hashed to
    `op:#` + 26 base32 characters of its SHA-256. The markers `=` and `#` are outside the base32
    alphabet, so the three forms never collide."""
    if not isinstance(operation_id, str) or not operation_id.strip():
        raise ValidationFailed("An operation id is required for a balance operation.")
    try:
        return COMMENT_PREFIX + _b32(uuid.UUID(operation_id).bytes)
    except ValueError:
        pass
    if _SHORT_ID.fullmatch(operation_id):
        return f"{COMMENT_PREFIX}={operation_id}"
    digest = hashlib.sha256(operation_id.encode()).digest()
    return f"{COMMENT_PREFIX}#{_b32(digest)[:26]}"


def operation_id_from_comment(comment: str) -> str | None:
    """The operation id a comment carries, when it can be read back (not for hashed ids)."""
    if not comment.startswith(COMMENT_PREFIX):
        return None
    body = comment[len(COMMENT_PREFIX) :]
    if body.startswith("="):
        return body[1:] or None
    if len(body) == 26 and not body.startswith("#"):
        try:
            return str(uuid.UUID(bytes=base64.b32decode(body.upper() + "======")))
        except ValueError:
            return None
    return None


# --- conversions ------------------------------------------------------------------------------


def wire_amount(value: Any) -> Decimal:
    """A trading server's amount (decimal string or float) as a Decimal with 2 places, rounded
    by the one rule of `brokercrm.money`. Floats go through their shortest repr, so 250.5
    becomes 250.50 and not 250.4999... Amounts from our own input go through
    `brokercrm.money.money`, which refuses floats."""
    try:
        if isinstance(value, float):
            value = repr(value)
        return round_to(Decimal(value), CENT)
    except (InvalidOperation, TypeError, ValueError):
        raise PlatformError(f"The trading server sent {value!r} where an amount belongs.") from None


def from_unix_ms(ms: int) -> datetime:
    seconds, millis = divmod(int(ms), 1000)
    return datetime.fromtimestamp(seconds, tz=UTC).replace(microsecond=millis * 1000)


def from_unix(seconds: int) -> datetime:
    return datetime.fromtimestamp(int(seconds), tz=UTC)


def checked_amount(amount: Decimal) -> Decimal:
    """Refuse rather than round: moving a different amount than asked is worse than failing."""
    if not isinstance(amount, Decimal) or not amount.is_finite():
        raise ValidationFailed("A balance operation amount is a finite Decimal.")
    if amount <= 0:
        raise ValidationFailed("A balance operation amount must be positive.")
    if amount >= MAX_AMOUNT:
        raise ValidationFailed("A balance operation amount must be below one billion.")
    if amount != amount.quantize(CENT):
        raise ValidationFailed("A balance operation amount has at most 2 decimal places.")
    return amount.quantize(CENT)


def checked_limit(limit: int) -> int:
    if not isinstance(limit, int) or not 1 <= limit <= MAX_PAGE:
        raise ValidationFailed(f"A page limit is from 1 to {MAX_PAGE}.")
    return limit


def cursor_int(cursor: str | None, what: str) -> int:
    if cursor in (None, ""):
        return 0
    try:
        value = int(cursor)
    except ValueError:
        raise ValidationFailed(f"{cursor!r} is not a {what} cursor of this connector.") from None
    if value < 0:
        raise ValidationFailed(f"{cursor!r} is not a {what} cursor of this connector.")
    return value
