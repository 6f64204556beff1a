from datetime import timedelta

from celery import shared_task
from django.db import DatabaseError
from django.utils import timezone

from . import services


@shared_task(acks_late=True, autoretry_for=(ConnectionError,), retry_backoff=True, max_retries=8)
def withdrawal_payout_task(withdrawal_id: int) -> str:
    return services.withdrawal_payout(withdrawal_id=withdrawal_id)


@shared_task(acks_late=True)
def parked_deposits_release_task() -> int:
    return services.parked_deposits_release()


@shared_task(acks_late=True)
def reconciliation_daily_task() -> int:
    """Yesterday's settlement reports, every merchant account."""
    day = timezone.now().date() - timedelta(days=1)
    return sum(run.breaks for run in services.reconciliation_all(day=day))


@shared_task(acks_late=True)
def psp_webhooks_process_task() -> int:
    return services.psp_webhooks_process()


@shared_task(
    acks_late=True,
    autoretry_for=(DatabaseError,),
    retry_backoff=True,
    retry_backoff_max=120,
    max_retries=3,
)
def deposits_stuck_resolve_task() -> dict[str, int]:
    """Deposits a dead process left `processing`: ask the PSP, finish them (idempotent: a
    finished deposit is no longer a candidate; one deposit's error is logged, not raised)."""
    return services.deposits_stuck_resolve().as_dict()
