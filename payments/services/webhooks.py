"""PSP webhooks: an inbox. A verified delivery is recorded in one statement and acknowledged
at once; a worker then acts on the recorded events in batches (credits through one batched
ledger write). Duplicates are counted at the door, so each event is acted on once, and the
credit itself is idempotent on the PSP transaction id.

Why an inbox: a PSP wants a fast 2xx and retries otherwise, and acting on each delivery inside
the request (a locked deposit, a journal, its postings) bounded the API to the slowest part."""

from __future__ import annotations

import json
import logging
import os
import time
from typing import Any

from django.db import connection, transaction

from brokercrm.errors import NotFound, ValidationFailed

from ..models import DepositAttempt, MerchantAccount, WebhookEvent, WithdrawalLeg
from .deposit_checkout import deposit_payer_declined
from .deposit_credits import deposits_credit_batch

logger = logging.getLogger("brokercrm.webhooks")

PENDING = ""  # outcome of an event not acted on yet
BATCH = 500
# Deliveries inside one window share one processing task, started when the window closes.
WINDOW_SECONDS = 0.5
_last_window = -1


def merchant_for_webhook(code: str) -> MerchantAccount:
    merchant = (
        MerchantAccount.objects.unscoped().select_related("provider").filter(code=code).first()
    )
    if merchant is None:
        raise NotFound("Unknown merchant account.", code="merchant_unknown")
    return merchant


def merchant_webhook_secret(merchant: MerchantAccount) -> str:
    return os.environ.get(merchant.webhook_secret_env, "")


_RECEIVE = """
    INSERT INTO payments_webhookevent (entity_id, merchant_account_id, event_id, type,
        psp_transaction_id, signature, body, outcome, deliveries, received_at)
    VALUES (%s, %s, %s, %s, %s, %s, %s::jsonb, '', 1, now())
    ON CONFLICT (merchant_account_id, event_id)
        DO UPDATE SET deliveries = payments_webhookevent.deliveries + 1
    RETURNING (xmax = 0) AS inserted, signature
"""


def psp_webhook_receive(*, merchant: MerchantAccount, event: dict[str, Any], signature: str) -> str:
    """Record a verified delivery: "accepted" (new), "duplicate" (seen, re-signed) or
    "replayed" (the very same signed bytes again). One statement, one round trip."""
    event_id = str(event.get("id") or "")[:100]
    event_type = str(event.get("type") or "")[:40]
    if not event_id or not event_type:
        raise ValidationFailed("The event has no id or type.", code="webhook_event_invalid")
    data = event["data"]
    with connection.cursor() as cursor:
        cursor.execute(
            _RECEIVE,
            [
                merchant.entity_id,
                merchant.pk,
                event_id,
                event_type,
                str(data.get("psp_transaction_id") or "")[:80],
                signature[:120],
                json.dumps(event),
            ],
        )
        inserted, first_signature = cursor.fetchone()
    if inserted:
        transaction.on_commit(_schedule_processing)
        return "accepted"
    if first_signature == signature[:120]:
        # The same signed bytes: a PSP duplicate sent within the same second, or a captured
        # delivery replayed. Nothing is done twice either way; a 2xx stops a PSP retrying.
        logger.warning("PSP webhook delivered again verbatim: %s %s", merchant.code, event_id)
        return "replayed"
    return "duplicate"


def _schedule_processing() -> None:
    global _last_window
    from ..tasks import psp_webhooks_process_task

    if psp_webhooks_process_task.app.conf.task_always_eager:
        psp_webhooks_process_task.apply()  # run inline: there is no later to wait for
        return
    now = time.time()
    window = int(now / WINDOW_SECONDS)
    if window == _last_window:
        return  # this window's task is already on its way and starts after it closes
    _last_window = window
    psp_webhooks_process_task.apply_async(countdown=(window + 1) * WINDOW_SECONDS - now + 0.05)


def psp_webhooks_process(*, batch: int = BATCH) -> int:
    """Act on every recorded event not acted on yet, in batches; returns how many. Safe to run
    concurrently (rows are claimed with SKIP LOCKED) and again (acted-on events are skipped)."""
    done = 0
    while True:
        with transaction.atomic(durable=True):
            events = list(
                WebhookEvent.objects.unscoped()
                .select_for_update(skip_locked=True, of=("self",))
                .filter(outcome=PENDING)
                .select_related("merchant_account")
                .order_by("pk")[:batch]
            )
            if not events:
                return done
            credits = [e for e in events if e.type == "payment.succeeded"]
            outcomes = deposits_credit_batch(
                [(e.merchant_account, e.body.get("data") or {}) for e in credits]
            )
            for event, outcome in zip(credits, outcomes, strict=True):
                event.outcome = outcome
            for event in events:
                if event.type != "payment.succeeded":
                    event.outcome = _act(event)
                if event.outcome not in (
                    "credited",
                    "parked",
                    "recorded",
                    "ignored",
                    "already_credited",
                    "paid",
                    "failed",
                ):
                    logger.warning("PSP webhook %s: %s", event.event_id, event.outcome)
            WebhookEvent.objects.unscoped().bulk_update(events, ["outcome"])
            done += len(events)


def _act(event: WebhookEvent) -> str:
    merchant = event.merchant_account
    data = event.body.get("data") or {}
    reference = str(data.get("reference") or "")[:60]
    if event.type == "payment.declined":
        code = str(data.get("decline_code") or "")[:40]
        attempts = DepositAttempt.objects.in_entity(merchant.entity_id).filter(
            reference=reference, merchant_account=merchant, status=DepositAttempt.Status.SENT
        )
        attempt = attempts.first()
        updated = attempts.update(
            status=DepositAttempt.Status.DECLINED,
            decline_code=code,
            decline_category=str(data.get("decline_category") or "")[:4],
            psp_transaction_id=str(data.get("psp_transaction_id") or "")[:80],
        )
        if updated and attempt is not None:
            # A payment on the hosted page: the webhook is its only answer.
            deposit_payer_declined(deposit_id=attempt.deposit_id, code=code or "declined")
        return "recorded" if updated else "ignored"
    if event.type in ("payout.paid", "payout.failed"):
        from .withdrawal_payouts import payout_leg_settle

        leg = (
            WithdrawalLeg.objects.in_entity(merchant.entity_id)
            .filter(reference=reference, merchant_account=merchant)
            .first()
        )
        if leg is None:
            return "unknown_reference"
        return payout_leg_settle(
            leg=leg,
            paid=event.type == "payout.paid",
            psp_transaction_id=str(data.get("psp_transaction_id") or "")[:80],
            decline_code=str(data.get("decline_code") or ""),
        )
    return "ignored"
