from celery import shared_task

from . import liveness, services
from .liveness import LivenessVendorError


@shared_task(acks_late=True, autoretry_for=(ConnectionError,), retry_backoff=True, max_retries=5)
def kyc_run_checks_task(kyc_file_id: int) -> str:
    return services.kyc_run_checks(kyc_file_id=kyc_file_id).status


@shared_task(acks_late=True)
def screening_rescreen_task(version_id: int) -> int:
    return services.screening_rescreen(version_id=version_id)


@shared_task(acks_late=True)
def documents_expiry_sweep_task() -> dict[str, int]:
    return services.documents_expiry_sweep()


@shared_task(
    acks_late=True,
    autoretry_for=(LivenessVendorError,),
    retry_backoff=True,
    retry_backoff_max=300,
    max_retries=8,
)
def kyc_liveness_start_task(check_id: int) -> str:
    return liveness.liveness_session_start(check_id=check_id)


@shared_task(acks_late=True)
def kyc_liveness_overdue_task() -> int:
    return liveness.liveness_overdue_sweep()
