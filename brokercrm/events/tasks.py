"""Celery tasks of the outbox: deliver what is due (after each commit, and every minute)."""

from __future__ import annotations

from celery import shared_task

from .bus import deliver_due


@shared_task(acks_late=True, ignore_result=True)
def events_deliver_task() -> dict[str, int]:
    return deliver_due()
