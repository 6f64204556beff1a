"""Counters that limit how often a client-facing action may be repeated (resending a
verification e-mail, asking for a password reset, guessing the current password).

Counts live in the cache. When the cache is down the action goes ahead without the limit
rather than fail: the limits slow abuse down, they are not what keeps an account safe."""

from __future__ import annotations

import hashlib
import logging

from django.core.cache import cache

logger = logging.getLogger(__name__)


def throttle_key(scope: str, *parts: object) -> str:
    digest = hashlib.sha256("|".join(str(part) for part in parts).encode()).hexdigest()
    return f"throttle:{scope}:{digest}"


def throttle_count(key: str) -> int:
    try:
        return int(cache.get(key) or 0)
    except Exception:
        logger.warning("Throttle counter unavailable", exc_info=True)
        return 0


def throttle_hit(key: str, *, window_seconds: int) -> None:
    try:
        if not cache.add(key, 1, timeout=window_seconds):
            try:
                cache.incr(key)
            except ValueError:  # expired between add and incr
                cache.set(key, 1, timeout=window_seconds)
    except Exception:
        logger.warning("Throttle counter unavailable", exc_info=True)


def throttle_exceeded(key: str, *, limit: int, window_seconds: int) -> bool:
    """Count one more attempt and say whether it goes over `limit` within the window."""
    if throttle_count(key) >= limit:
        return True
    throttle_hit(key, window_seconds=window_seconds)
    return False


def throttle_clear(key: str) -> None:
    try:
        cache.delete(key)
    except Exception:
        logger.warning("Throttle counter unavailable", exc_info=True)
