"""Recovery of deposits a dead process left behind.

`deposit_create` charges the PSP attempt by attempt inside the client's request. A worker
killed between creating an attempt and recording the deposit's outcome (deploy, OOM) leaves the
deposit `processing` and its attempts `sent` or `unknown`, although the PSP may have taken the
money. A beat job asks the PSP about each such attempt by reference, the lookup the timeout path
uses, and finishes the deposit as the request would have:

- an approved attempt: the attempt is approved and the deposit `authorised`; the credit then
  comes, as for every deposit, from the PSP's webhook through the inbox, idempotent on the PSP
  transaction id (a webhook that came earlier has credited it already and it is no longer
  `processing`);
- every attempt final and none approved: the deposit `failed` with code `interrupted` and the
  local methods to offer instead;
- any attempt still without an answer (PSP unreachable, still pending, our merchant
  configuration missing): left for the next sweep.

Deposits left `awaiting_payer` are swept the same way once the PSP's hosted page has expired
(`PSP_CHECKOUT_MINUTES`, and a margin): a payment made on the page before it expired whose
webhook was lost is found by reference and authorised; no payment under the reference means
the payer walked away, and the deposit is `expired` (code `payer_abandoned`). A payment that
still arrives later is credited all the same: the webhook credits whatever the status.

The PSP is asked outside any transaction; the outcome is then written in one transaction per
deposit, on a row locked with SKIP LOCKED and checked to be still in the state it was found in,
with its audit row, so two sweeps, or a sweep and the webhook worker, never both act on one
deposit."""

from __future__ import annotations

import logging
from dataclasses import asdict, dataclass
from datetime import datetime, timedelta
from typing import Any

from django.conf import settings
from django.db import transaction
from django.db.models import Max
from django.db.models.functions import Greatest
from django.utils import timezone

from audit.services import audit_record
from brokercrm.httpjson import UpstreamError

from .. import audit_actions as actions
from ..gateway import PspRefused, PspResult, psp_amount
from ..models import Deposit, DepositAttempt
from .routing import gateway_for, local_alternatives

logger = logging.getLogger(__name__)

INTERRUPTED = "interrupted"
PAYER_ABANDONED = "payer_abandoned"
# The PSP holds no transaction under the attempt's reference: the charge never reached it.
NOT_AT_PSP = "not_at_psp"
STUCK_AFTER = timedelta(minutes=15)
_OPEN = (DepositAttempt.Status.SENT, DepositAttempt.Status.UNKNOWN)


class _Waiting:
    """No final answer for an attempt yet (unreachable PSP, pending, missing configuration)."""


WAITING = _Waiting()
Answer = PspResult | None | _Waiting


@dataclass
class StuckDepositsSweep:
    authorised: int = 0
    failed: int = 0
    expired: int = 0  # awaiting the payer past the page's life, and nothing paid
    waiting: int = 0  # an attempt still has no final answer: the next sweep asks again
    skipped: int = 0  # locked by another sweep or the webhook worker, or no longer processing
    errors: int = 0  # an unexpected error, logged: the next sweep tries again

    def as_dict(self) -> dict[str, int]:
        return asdict(self)


def checkout_abandoned_after() -> timedelta:
    """When an unpaid hosted page is surely expired at the PSP: its life, and a margin."""
    return timedelta(minutes=int(getattr(settings, "PSP_CHECKOUT_MINUTES", 60)) + 15)


def deposits_stuck_find(
    *,
    older_than: timedelta = STUCK_AFTER,
    limit: int = 200,
    status: str = Deposit.Status.PROCESSING,
) -> list[int]:
    """Ids of deposits still in `status` (`processing`, or `awaiting_payer`) with no activity
    (the deposit's last change, its latest attempt) since `older_than` ago, oldest first."""
    cutoff = timezone.now() - older_than
    return list(
        Deposit.objects.unscoped()
        .filter(status=status)
        .annotate(latest_attempt=Max("attempts__created_at"))
        # PostgreSQL's GREATEST ignores NULL: a deposit without attempts counts its own time.
        .annotate(last_activity=Greatest("updated_at", "latest_attempt"))
        .filter(last_activity__lt=cutoff)
        .order_by("pk")
        .values_list("pk", flat=True)[:limit]
    )


def deposits_stuck_resolve(
    *,
    older_than: timedelta = STUCK_AFTER,
    limit: int = 200,
    abandoned_after: timedelta | None = None,
) -> StuckDepositsSweep:
    """Finish deposits a dead process left `processing`, and hosted-page deposits whose page
    expired unpaid (beat job; safe to run concurrently and again). One deposit's failure is
    logged and never stops the sweep."""
    sweep = StuckDepositsSweep()
    # Merchant accounts whose PSP did not answer in this sweep are not asked again in it: a PSP
    # that times out must not hold the sweep for a timeout per deposit.
    silent: set[int] = set()
    abandoned_after = checkout_abandoned_after() if abandoned_after is None else abandoned_after
    found = [
        (deposit_id, Deposit.Status.PROCESSING, timezone.now() - older_than)
        for deposit_id in deposits_stuck_find(older_than=older_than, limit=limit)
    ] + [
        (deposit_id, Deposit.Status.AWAITING_PAYER, timezone.now() - abandoned_after)
        for deposit_id in deposits_stuck_find(
            older_than=abandoned_after, limit=limit, status=Deposit.Status.AWAITING_PAYER
        )
    ]
    for deposit_id, status, cutoff in found:
        try:
            outcome = _stuck_deposit_resolve(deposit_id, cutoff, silent, status)
        except Exception:  # one deposit's problem (a bad configuration...) stops no other
            logger.exception(
                "Stuck deposit %s could not be resolved; retried next sweep.", deposit_id
            )
            outcome = "errors"
        setattr(sweep, outcome, getattr(sweep, outcome) + 1)
    if sweep.authorised or sweep.failed or sweep.expired or sweep.errors:
        logger.info("Stuck deposits sweep: %s", sweep.as_dict())
    return sweep


def _stuck_deposit_resolve(
    deposit_id: int, cutoff: datetime, silent: set[int], found_in: str = Deposit.Status.PROCESSING
) -> str:
    deposit = Deposit.objects.unscoped().select_related("method", "profile").get(pk=deposit_id)
    if deposit.status != found_in:
        return "skipped"
    attempts = list(
        DepositAttempt.objects.in_entity(deposit.entity_id)
        .filter(deposit_id=deposit_id, status__in=_OPEN)
        .select_related("merchant_account__provider")
    )
    # Asked before any lock is taken: a slow PSP must not hold the webhook worker up.
    answers = {attempt.pk: _psp_answer(deposit, attempt, silent) for attempt in attempts}
    with transaction.atomic(durable=True):
        locked = (
            Deposit.objects.unscoped()
            .select_for_update(skip_locked=True)
            .filter(pk=deposit_id, status=found_in)
            .first()
        )
        if locked is None:
            return "skipped"
        current = list(
            DepositAttempt.objects.in_entity(deposit.entity_id)
            .filter(deposit_id=deposit_id)
            .order_by("number")
        )
        if locked.updated_at >= cutoff or any(a.created_at >= cutoff for a in current):
            return "skipped"  # a live request moved on since the candidates were found
        approved: DepositAttempt | None = None
        open_left = False
        resolved: dict[str, str] = {}
        for attempt in current:
            status = attempt.status
            if status in _OPEN:
                status = _attempt_close(attempt, answers.get(attempt.pk, WAITING))
                if status in _OPEN:
                    open_left = True
                else:
                    resolved[attempt.reference] = status
            if status == DepositAttempt.Status.APPROVED and approved is None:
                approved = attempt
        if approved is not None:
            _deposit_finish(locked, Deposit.Status.AUTHORISED, resolved=resolved, was=found_in)
            return "authorised"
        if open_left:
            return "waiting"
        if found_in == Deposit.Status.AWAITING_PAYER:
            declined = (
                DepositAttempt.objects.in_entity(deposit.entity_id)
                .filter(deposit_id=deposit_id, status=DepositAttempt.Status.DECLINED)
                .exclude(decline_code__in=["", NOT_AT_PSP])
                .order_by("-number")
                .values_list("decline_code", flat=True)
                .first()
            )
            if declined:  # paid on the page and declined; its webhook was lost
                _deposit_finish(
                    locked,
                    Deposit.Status.DECLINED,
                    code=declined,
                    resolved=resolved,
                    was=found_in,
                )
                return "failed"
            _deposit_finish(
                locked,
                Deposit.Status.EXPIRED,
                code=PAYER_ABANDONED,
                resolved=resolved,
                was=found_in,
            )
            return "expired"
        alternatives = [
            code
            for code in local_alternatives(
                entity_id=locked.entity_id,
                country=deposit.profile.residence_country,
                currency=locked.currency,
                amount=locked.amount,
            )
            if code != deposit.method.code
        ]
        _deposit_finish(
            locked,
            Deposit.Status.FAILED,
            code=INTERRUPTED,
            alternatives=alternatives,
            resolved=resolved,
            was=found_in,
        )
        return "failed"


def _psp_answer(deposit: Deposit, attempt: DepositAttempt, silent: set[int]) -> Answer:
    merchant = attempt.merchant_account
    if merchant.pk in silent:
        return WAITING
    try:
        result = gateway_for(merchant).transaction_by_reference(attempt.reference)
    except PspRefused as exc:
        silent.add(merchant.pk)
        # A 4xx to a lookup: our merchant account is unknown to the PSP or misconfigured.
        logger.warning(
            "Stuck deposit %s: merchant account %s refused the lookup of %s (%s); check its "
            "configuration.",
            deposit.pk,
            merchant.code,
            attempt.reference,
            exc.code,
        )
        return WAITING
    except UpstreamError as exc:
        silent.add(merchant.pk)
        logger.info("Stuck deposit %s: no answer about %s: %s", deposit.pk, attempt.reference, exc)
        return WAITING
    if result is None:
        return None
    if (result.amount, result.currency) != (
        psp_amount(deposit.amount, deposit.currency),
        deposit.currency,
    ):
        logger.error(
            "Stuck deposit %s: the PSP holds %s %s under %s, not %s %s; left for finance.",
            deposit.pk,
            result.amount,
            result.currency,
            attempt.reference,
            deposit.amount,
            deposit.currency,
        )
        return WAITING
    return result


def _attempt_close(attempt: DepositAttempt, answer: Answer) -> str:
    """Record the PSP's final answer on an open attempt; returns the attempt's status."""
    if isinstance(answer, _Waiting) or (answer is not None and answer.status == "pending"):
        return attempt.status
    fields: dict[str, Any]
    if answer is None:
        fields = {
            "status": DepositAttempt.Status.DECLINED,
            "decline_code": NOT_AT_PSP,
            "decline_category": "soft",
        }
    elif answer.status == "approved":
        fields = {
            "status": DepositAttempt.Status.APPROVED,
            "decline_code": "",
            "decline_category": "",
            "psp_transaction_id": answer.psp_transaction_id,
        }
    else:
        fields = {
            "status": DepositAttempt.Status.DECLINED,
            "decline_code": (answer.decline_code or "declined")[:40],
            "decline_category": answer.decline_category or "hard",
            "psp_transaction_id": answer.psp_transaction_id,
        }
    updated = (
        DepositAttempt.objects.in_entity(attempt.entity_id)
        .filter(pk=attempt.pk, status__in=_OPEN)
        .update(**fields)
    )
    if not updated:
        # The webhook worker recorded a decline meanwhile: take what is stored.
        return DepositAttempt.objects.in_entity(attempt.entity_id).get(pk=attempt.pk).status
    return fields["status"]


def _deposit_finish(
    deposit: Deposit,
    status: str,
    *,
    code: str = "",
    alternatives: list[str] | None = None,
    resolved: dict[str, str],
    was: str = Deposit.Status.PROCESSING,
) -> None:
    deposit.status = status
    deposit.decline_code = code
    update_fields = ["status", "decline_code", "updated_at"]
    if alternatives is not None:
        deposit.alternatives = alternatives
        update_fields.append("alternatives")
    deposit.save(update_fields=update_fields)
    audit_record(
        actor=None,
        actor_label="system:payments",
        action=actions.DEPOSIT_BY_STATUS[status],
        entity=deposit.entity_id,
        obj=deposit,
        before={"status": was},
        after={
            "status": status,
            "decline_code": code,
            "alternatives": alternatives or [],
            "resolved_by": "stuck_deposits_sweep",
            "attempts": resolved,
        },
    )
