from datetime import timedelta

from celery import shared_task
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
