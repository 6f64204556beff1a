"""Holds: an amount of a client wallet reserved now, then posted or voided exactly once."""

from __future__ import annotations

from typing import Any

from django.db import IntegrityError, transaction
from django.db.models import F
from django.utils import timezone

from brokercrm.errors import ValidationFailed
from brokercrm.gate import authorised_by_caller
from brokercrm.idempotency import IdempotencyKeyReused, idempotency_key_checked, request_hash
from brokercrm.money import money
from brokercrm.transactions import with_retries

from ..models import Hold, JournalEntry, LedgerAccount
from .common import (
    CrossEntityTransfer,
    HoldNotPending,
    InsufficientFunds,
    _constraint_name,
    _is_overdraft,
)
from .journals import JournalSpec, Line, _journal_postings, _journal_row


@authorised_by_caller
@with_retries()
def hold_create(
    *,
    actor: Any,
    account: LedgerAccount,
    counter_account: LedgerAccount,
    amount: Any,
    purpose: str,
    idempotency_key: str,
    metadata: dict[str, Any] | None = None,
) -> Hold:
    """Reserve `amount` of a client wallet now; post or void it later, exactly once."""
    amount = money(amount)
    key = idempotency_key_checked(idempotency_key)
    if account.kind != LedgerAccount.Kind.CLIENT_WALLET:
        raise ValidationFailed("Holds are taken on client wallets.", code="account_kind_invalid")
    if counter_account.entity_id != account.entity_id:
        raise CrossEntityTransfer()
    if counter_account.currency != account.currency:
        raise ValidationFailed(
            "The counter account must be in the wallet's currency.", code="currency_mismatch"
        )
    hold_hash = request_hash(
        {
            "account": account.pk,
            "counter": counter_account.pk,
            "amount": str(amount),
            "purpose": purpose,
        }
    )
    with transaction.atomic():
        try:
            with transaction.atomic():
                hold = Hold.objects.create(
                    entity_id=account.entity_id,
                    account=account,
                    counter_account=counter_account,
                    amount=amount,
                    currency=account.currency,
                    purpose=purpose[:40],
                    idempotency_key=key,
                    request_hash=hold_hash,
                    metadata=metadata or {},
                )
        except IntegrityError as exc:
            if _constraint_name(exc) != "hold_idempotency_key_unique":
                raise
            hold = Hold.objects.in_entity(account.entity_id).get(idempotency_key=key)
            if hold.request_hash != hold_hash:
                raise IdempotencyKeyReused() from exc
            return hold
        try:
            with transaction.atomic():
                LedgerAccount.objects.unscoped().filter(pk=account.pk).update(
                    held=F("held") + amount
                )
        except IntegrityError as exc:
            if _is_overdraft(exc):
                raise InsufficientFunds() from exc
            raise
    return hold


@authorised_by_caller
@with_retries()
def hold_post(*, actor: Any, hold: Hold) -> JournalEntry:
    """Move the held amount to the counter account. A second post (or a post after a void)
    is refused and changes nothing."""
    spec = JournalSpec(
        type=JournalEntry.Type.HOLD_POSTED,
        idempotency_key=f"hold:{hold.pk}:post",
        lines=[Line(hold.account, -hold.amount), Line(hold.counter_account, hold.amount)],
        reference=f"hold:{hold.pk}",
        metadata={"purpose": hold.purpose},
    )
    with transaction.atomic():
        journal, created = _journal_row(actor=actor, entity_id=hold.entity_id, spec=spec)
        # The conditional update is the "exactly once": only one transaction moves it on.
        moved = (
            Hold.objects.in_entity(hold.entity_id)
            .filter(pk=hold.pk, status=Hold.Status.PENDING)
            .update(status=Hold.Status.POSTED, journal=journal, resolved_at=timezone.now())
        )
        if not moved or not created:
            raise HoldNotPending()
        # Release the reservation, then debit: available never dips below zero in between.
        LedgerAccount.objects.unscoped().filter(pk=hold.account_id).update(
            held=F("held") - hold.amount
        )
        _journal_postings(journal, spec)
    return journal


@authorised_by_caller
@with_retries()
def hold_void(*, actor: Any, hold: Hold) -> Hold:
    with transaction.atomic():
        moved = (
            Hold.objects.in_entity(hold.entity_id)
            .filter(pk=hold.pk, status=Hold.Status.PENDING)
            .update(status=Hold.Status.VOIDED, resolved_at=timezone.now())
        )
        if not moved:
            raise HoldNotPending()
        LedgerAccount.objects.unscoped().filter(pk=hold.account_id).update(
            held=F("held") - hold.amount
        )
    return Hold.objects.in_entity(hold.entity_id).get(pk=hold.pk)
