"""PSP webhooks, once verified (brokercrm.api.webhooks checks the signature): each event is
recorded once per merchant account and acted on in the same transaction, so a failure leaves
nothing and the PSP's retry is processed afresh; duplicates are counted, replays refused."""

from __future__ import annotations

import json
import logging
import os
from decimal import Decimal, InvalidOperation
from typing import Any

from django.db import connection, transaction
from django.db.models import F

from brokercrm.errors import NotFound, ValidationFailed

from ..models import DepositAttempt, MerchantAccount, WebhookEvent, WithdrawalLeg
from .deposits import deposit_credit

logger = logging.getLogger("brokercrm.webhooks")


def merchant_for_webhook(code: str) -> MerchantAccount:
    merchant = (
        MerchantAccount.objects.unscoped().select_related("provider").filter(code=code).first()
    )
    if merchant is None:
        raise NotFound("Unknown merchant account.", code="merchant_unknown")
    return merchant


def merchant_webhook_secret(merchant: MerchantAccount) -> str:
    return os.environ.get(merchant.webhook_secret_env, "")


def _amount(value: Any) -> Decimal:
    try:
        amount = Decimal(str(value))
    except (InvalidOperation, ValueError):
        raise ValidationFailed(
            "The event's amount is not a number.", code="webhook_event_invalid"
        ) from None
    if not amount.is_finite():
        raise ValidationFailed("The event's amount is not finite.", code="webhook_event_invalid")
    return amount


def psp_webhook_process(*, merchant: MerchantAccount, event: dict[str, Any], signature: str) -> str:
    event_id = str(event.get("id") or "")[:100]
    event_type = str(event.get("type") or "")[:40]
    data = event["data"]
    if not event_id or not event_type:
        raise ValidationFailed("The event has no id or type.", code="webhook_event_invalid")
    psp_id = str(data.get("psp_transaction_id") or "")[:80]
    with transaction.atomic(durable=True):
        with connection.cursor() as cursor:
            cursor.execute(
                "INSERT INTO payments_webhookevent (entity_id, merchant_account_id, event_id, type,"
                " psp_transaction_id, signature, body, outcome, deliveries, received_at)"
                " VALUES (%s, %s, %s, %s, %s, %s, %s::jsonb, '', 1, now())"
                " ON CONFLICT (merchant_account_id, event_id) DO NOTHING RETURNING id",
                [
                    merchant.entity_id,
                    merchant.pk,
                    event_id,
                    event_type,
                    psp_id,
                    signature[:120],
                    json.dumps(event),
                ],
            )
            row = cursor.fetchone()
        if row is None:
            seen = WebhookEvent.objects.in_entity(merchant.entity_id).get(
                merchant_account=merchant, event_id=event_id
            )
            WebhookEvent.objects.in_entity(merchant.entity_id).filter(pk=seen.pk).update(
                deliveries=F("deliveries") + 1
            )
            if seen.signature == signature[:120]:
                # The very same signed bytes again: a PSP duplicate sent within the same second,
                # or someone replaying a captured delivery. Either way nothing is done twice;
                # the answer is a success so that a PSP does not keep retrying it.
                logger.warning(
                    "PSP webhook delivered again verbatim: %s %s", merchant.code, event_id
                )
                return "replayed"
            return "duplicate"
        outcome = _act(merchant, event_type, data, psp_id)
        WebhookEvent.objects.in_entity(merchant.entity_id).filter(pk=row[0]).update(outcome=outcome)
    if outcome not in ("credited", "parked", "recorded", "ignored", "already_credited"):
        logger.warning("PSP webhook %s %s: %s", merchant.code, event_id, outcome)
    return outcome


def _act(merchant: MerchantAccount, event_type: str, data: dict[str, Any], psp_id: str) -> str:
    reference = str(data.get("reference") or "")[:60]
    if event_type.startswith("payment."):
        attempt = (
            DepositAttempt.objects.in_entity(merchant.entity_id)
            .select_related("merchant_account")
            .filter(reference=reference, merchant_account=merchant)
            .first()
        )
        if attempt is None:
            return "unknown_reference"
        if event_type == "payment.succeeded":
            return deposit_credit(
                attempt=attempt,
                psp_transaction_id=psp_id,
                amount=_amount(data.get("amount")),
                currency=str(data.get("currency") or ""),
            )
        if event_type == "payment.declined":
            DepositAttempt.objects.in_entity(merchant.entity_id).filter(
                pk=attempt.pk, status=DepositAttempt.Status.SENT
            ).update(
                status=DepositAttempt.Status.DECLINED,
                decline_code=str(data.get("decline_code") or "")[:40],
            )
            return "recorded"
        return "ignored"
    if event_type.startswith("payout."):
        from .withdrawals import payout_leg_settle

        leg = (
            WithdrawalLeg.objects.in_entity(merchant.entity_id)
            .filter(reference=reference, merchant_account=merchant)
            .first()
        )
        if leg is None:
            return "unknown_reference"
        return payout_leg_settle(
            leg=leg,
            paid=event_type == "payout.paid",
            psp_transaction_id=psp_id,
            decline_code=str(data.get("decline_code") or ""),
        )
    return "ignored"
