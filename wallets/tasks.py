import logging

from celery import shared_task
from django.db import transaction

from audit.services import audit_record

from . import audit_actions as actions
from .selectors import ledger_imbalance, ledger_reconcile

logger = logging.getLogger(__name__)


@shared_task(acks_late=True)
def ledger_reconcile_all() -> dict[str, int]:
    """Recompute every balance from its postings; any difference is logged and audited."""
    differences = ledger_reconcile()
    unbalanced = ledger_imbalance()
    if differences or unbalanced:
        logger.error(
            "ledger reconciliation: %s account differences, %s unbalanced journals",
            len(differences),
            len(unbalanced),
        )
        with transaction.atomic():
            audit_record(
                actor=None,
                actor_label="system:ledger_reconcile",
                action=actions.RECONCILIATION_FAILED,
                after={
                    "differences": [
                        {
                            "account": d.account_id,
                            "field": d.field,
                            "stored": d.stored,
                            "recomputed": d.recomputed,
                        }
                        for d in differences[:100]
                    ],
                    "unbalanced_journals": [journal for journal, _ in list(unbalanced)[:100]],
                },
            )
    else:
        logger.info("ledger reconciliation: every balance equals its postings")
    return {"differences": len(differences), "unbalanced_journals": len(unbalanced)}
