import os

from celery import Celery
from celery.schedules import crontab

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "brokercrm.settings")

app = Celery("brokercrm")
app.config_from_object("django.conf:settings", namespace="CELERY")
app.autodiscover_tasks()

app.conf.beat_schedule = {
    "audit-verify-chain": {
        "task": "audit.tasks.audit_verify_chain",
        "schedule": crontab(hour=2, minute=15),
    },
    "kyc-documents-expiry": {
        "task": "kyc.tasks.documents_expiry_sweep_task",
        "schedule": crontab(hour=3, minute=5),
    },
    "kyc-liveness-overdue": {
        "task": "kyc.tasks.kyc_liveness_overdue_task",
        "schedule": crontab(minute="*/5"),
    },
    "ledger-reconcile": {
        "task": "wallets.tasks.ledger_reconcile_all",
        "schedule": crontab(hour=2, minute=45),
    },
}
