"""Signed webhooks: HMAC-SHA256 over the timestamp and the raw body.

The header reads `t=<unix seconds>,v1=<hex digest>`; the digest covers `"<t>." + raw body`, so a
replayed body with a fresh timestamp, or a fresh body under an old signature, both fail. The
comparison is constant-time, and a signature older (or newer) than the tolerance is refused even
when it is genuine, which bounds how long a captured delivery can be replayed.

Used by our simulators to sign and by the PSP and KYC-vendor webhook endpoints to verify.
"""

from __future__ import annotations

import hashlib
import hmac
import time

from brokercrm.errors import ApplicationError

SIGNATURE_HEADER = "X-Signature"
DEFAULT_TOLERANCE_SECONDS = 300


class WebhookSignatureError(ApplicationError):
    code = "signature_invalid"
    status = 401
    default_detail = "The webhook signature is not valid."


def _digest(secret: str | bytes, timestamp: int, body: bytes) -> str:
    key = secret.encode() if isinstance(secret, str) else secret
    return hmac.new(key, str(timestamp).encode() + b"." + body, hashlib.sha256).hexdigest()


def webhook_sign(*, secret: str | bytes, body: bytes, timestamp: int | None = None) -> str:
    """The value of the signature header for `body` sent at `timestamp` (now by default)."""
    ts = int(time.time()) if timestamp is None else int(timestamp)
    return f"t={ts},v1={_digest(secret, ts, body)}"


def webhook_verify(
    *,
    secret: str | bytes,
    header: str | None,
    body: bytes,
    now: float | None = None,
    tolerance: int = DEFAULT_TOLERANCE_SECONDS,
) -> int:
    """Check a signature header against the raw body; returns the signed timestamp.

    Raises WebhookSignatureError with code signature_missing, signature_malformed,
    signature_stale or signature_invalid."""
    if not header:
        raise WebhookSignatureError("The request carries no signature.", code="signature_missing")
    parts: dict[str, list[str]] = {}
    for item in header.split(","):
        key, sep, value = item.strip().partition("=")
        if not sep:
            raise WebhookSignatureError(
                "The signature header is not of the form t=...,v1=...",
                code="signature_malformed",
            )
        parts.setdefault(key, []).append(value)
    try:
        (ts_text,) = parts["t"]
        timestamp = int(ts_text)
    except (KeyError, ValueError):
        raise WebhookSignatureError(
            "The signature header has no valid timestamp.", code="signature_malformed"
        ) from None
    candidates = parts.get("v1") or []
    if not candidates:
        raise WebhookSignatureError(
            "The signature header has no v1 signature.", code="signature_malformed"
        )
    current = time.time() if now is None else now
    if abs(current - timestamp) > tolerance:
        raise WebhookSignatureError(
            f"The signature is more than {tolerance} seconds away from now.",
            code="signature_stale",
        )
    expected = _digest(secret, timestamp, body)
    # Every candidate is compared (several v1 values allow a secret rotation window).
    matched = False
    for candidate in candidates:
        matched |= hmac.compare_digest(expected, candidate)
    if not matched:
        raise WebhookSignatureError("The signature does not match the body.")
    return timestamp
