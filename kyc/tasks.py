from celery import shared_task

from . import services


@shared_task(acks_late=True, autoretry_for=(ConnectionError,), retry_backoff=True, max_retries=5)
def kyc_run_checks_task(kyc_file_id: int) -> str:
    return services.kyc_run_checks(kyc_file_id=kyc_file_id).status


@shared_task(acks_late=True)
def screening_rescreen_task(version_id: int) -> int:
    return services.screening_rescreen(version_id=version_id)


@shared_task(acks_late=True)
def documents_expiry_sweep_task() -> dict[str, int]:
    return services.documents_expiry_sweep()
