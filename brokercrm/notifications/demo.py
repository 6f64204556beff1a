"""Demo notifications: the demo's clients are told about what the demo data already announced
(KYC decisions, deposits credited, ...), at once rather than when a worker first runs, so the
in-app lists are full from the first minute. Safe to run again."""

from __future__ import annotations

from .services import notifications_backfill


def seed() -> int:
    """Notify for every announced event of a registered kind; returns how many were made."""
    return notifications_backfill(limit=5000)
