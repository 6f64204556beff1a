import logging

from celery import shared_task

from .selectors import audit_chain_verify

logger = logging.getLogger(__name__)


@shared_task(acks_late=True)
def audit_verify_chain() -> dict[str, object]:
    report = audit_chain_verify()
    if report.ok:
        logger.info(
            "audit chain intact: %s rows, head #%s %s",
            report.rows_checked,
            report.head_seq,
            report.head_hash,
        )
    else:
        brk = report.first_break
        logger.error(
            "audit chain broken at seq %s (event %s): %s", brk.seq, brk.event_id, brk.problem
        )
    return {"ok": report.ok, "rows": report.rows_checked, "head_seq": report.head_seq}
