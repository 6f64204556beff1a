import os

from celery import Celery
from celery.schedules import crontab

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "brokercrm.settings")

app = Celery("brokercrm")
app.config_from_object("django.conf:settings", namespace="CELERY")
app.autodiscover_tasks()

app.conf.beat_schedule = {
    # The event outbox: deliveries left behind by a missing or killed worker, and retries.
    "events-deliver": {
        "task": "brokercrm.events.tasks.events_deliver_task",
        "schedule": crontab(minute="*"),
    },
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
    # Webhooks schedule their own processing; this catches any left while no worker ran.
    "payments-webhooks": {
        "task": "payments.tasks.psp_webhooks_process_task",
        "schedule": 10.0,
    },
    "payments-parked-deposits": {
        "task": "payments.tasks.parked_deposits_release_task",
        "schedule": 60.0,
    },
    "payments-reconciliation": {
        "task": "payments.tasks.reconciliation_daily_task",
        "schedule": crontab(hour=4, minute=30),
    },
    "ledger-reconcile": {
        "task": "wallets.tasks.ledger_reconcile_all",
        "schedule": crontab(hour=2, minute=45),
    },
    # Trading servers: full reconcile (with the drift check), deal/event feeds, lost answers.
    "platforms-reconcile": {
        "task": "platforms.tasks.trading_reconcile_all_task",
        "schedule": crontab(minute="*/5"),
    },
    "platforms-feeds": {
        "task": "platforms.tasks.trading_feeds_poll_all_task",
        "schedule": 30.0,
    },
    "platforms-pending": {
        "task": "platforms.tasks.trading_pending_resolve_task",
        "schedule": crontab(minute="*"),
    },
    # IB commissions: lines for new deals, then payouts (idempotent; on demand too).
    "ib-commissions": {
        "task": "ib.tasks.commission_batch_run_task",
        "schedule": crontab(minute=20),
    },
    # Deposits a killed worker left processing: the PSP is asked, the deposit finished.
    "payments-stuck-deposits": {
        "task": "payments.tasks.deposits_stuck_resolve_task",
        "schedule": crontab(minute="*/5"),
    },
}
