"""Celery tasks: thin wrappers around the services. The batch is idempotent (unique lines,
one run at a time in one transaction, journals keyed per run, IB and currency)."""

from __future__ import annotations

from typing import Any

from celery import shared_task

from .services import commission_batch_run


@shared_task(acks_late=True, max_retries=3, retry_backoff=True)
def commission_batch_run_task() -> dict[str, Any]:
    run = commission_batch_run()
    return {
        "run": run.pk,
        "lines": run.lines_created,
        "payouts": run.payouts,
        "payout_total": str(run.payout_total),
    }
