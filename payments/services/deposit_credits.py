"""Deposit credits: a confirmed payment credited from PSP clearing once per PSP transaction
(one by one or batched per entity), parked before KYC approval and released after it."""

from __future__ import annotations

from decimal import Decimal
from typing import TYPE_CHECKING, Any

from django.db import transaction

from audit.services import audit_record
from brokercrm.events.bus import announce
from brokercrm.gate import SYSTEM
from kyc.selectors import withdrawal_blocks
from wallets.services import (
    JournalSpec,
    Line,
    hold_create,
    hold_void,
    journal_post,
    journal_post_batch,
    system_account,
)

from .. import audit_actions as actions
from .. import events
from ..models import Deposit, DepositAttempt, MerchantAccount

if TYPE_CHECKING:
    from identity.models import ClientProfile
    from wallets.models import LedgerAccount


def clearing_account(entity_id: int, currency: str) -> LedgerAccount:
    return system_account(entity=entity_id, kind="psp_clearing", currency=currency)


def _kyc_approved(profile: ClientProfile) -> bool:
    return not any(b.code == "kyc_not_approved" for b in withdrawal_blocks(profile=profile))


def deposit_credit(
    *, attempt: DepositAttempt, psp_transaction_id: str, amount: Decimal, currency: str
) -> str:
    """Credit the wallet for a confirmed payment, once per PSP transaction. Runs inside the
    webhook's transaction. Returns the outcome recorded on the event."""
    deposit = (
        Deposit.objects.in_entity(attempt.entity_id).select_for_update().get(pk=attempt.deposit_id)
    )
    if currency != deposit.currency:
        return "currency_mismatch"
    if amount != deposit.amount:
        return "amount_mismatch"
    if deposit.journal_id is not None:
        return "already_credited"
    merchant = attempt.merchant_account
    clearing = clearing_account(deposit.entity_id, currency)
    journal = journal_post(
        actor=SYSTEM,
        entity=deposit.entity_id,
        spec=JournalSpec(
            type="deposit",
            idempotency_key=f"psp:{merchant.pk}:{psp_transaction_id}",
            lines=[Line(deposit.wallet, amount), Line(clearing, -amount)],
            reference=f"psp:{merchant.code}:{psp_transaction_id}",
            metadata={"deposit": deposit.pk, "attempt": attempt.reference},
        ),
    )
    parked = "parked" in deposit.alternatives and not _kyc_approved(deposit.profile)
    deposit.journal = journal
    deposit.status = Deposit.Status.PARKED if parked else Deposit.Status.CREDITED
    if parked:
        deposit.park_hold = hold_create(
            actor=SYSTEM,
            account=deposit.wallet,
            counter_account=clearing,
            amount=amount,
            purpose="parked_deposit",
            idempotency_key=f"deposit:{deposit.pk}:park",
        )
    deposit.save(update_fields=["journal", "status", "park_hold", "updated_at"])
    DepositAttempt.objects.in_entity(attempt.entity_id).filter(pk=attempt.pk).update(
        status=DepositAttempt.Status.APPROVED, psp_transaction_id=psp_transaction_id
    )
    if not parked:
        announce_credited(deposit)
    # No audit row: the journal (with the PSP reference) and the webhook event are the record,
    # and the audit chain's lock would make every credit of the group wait for the one before.
    return "parked" if parked else "credited"


def deposits_credit_batch(confirmations: list[tuple[MerchantAccount, dict[str, Any]]]) -> list[str]:
    """Credit many confirmed payments in the caller's transaction: the deposits locked in id
    order, one batched journal write per entity. Returns an outcome per confirmation:
    credited, parked, already_credited, unknown_reference, amount_mismatch, currency_mismatch."""
    outcomes = ["unknown_reference"] * len(confirmations)
    wanted: dict[tuple[int, str], int] = {}
    for index, (merchant, data) in enumerate(confirmations):
        wanted[(merchant.pk, str(data.get("reference") or "")[:60])] = index
    if not wanted:
        return outcomes
    attempts = {
        (a.merchant_account_id, a.reference): a
        for a in DepositAttempt.objects.unscoped()
        .filter(reference__in=[reference for _m, reference in wanted])
        .select_related("merchant_account")
    }
    deposit_ids = sorted({a.deposit_id for a in attempts.values()})
    deposits = {
        d.pk: d
        for d in Deposit.objects.unscoped()
        .select_for_update()
        .filter(pk__in=deposit_ids)
        .select_related("wallet", "profile")
        .order_by("pk")
    }
    specs: dict[int, list[tuple[int, Deposit, JournalSpec]]] = {}
    seen_keys: set[str] = set()
    for index, (merchant, data) in enumerate(confirmations):
        attempt = attempts.get((merchant.pk, str(data.get("reference") or "")[:60]))
        if attempt is None:
            continue
        deposit = deposits[attempt.deposit_id]
        psp_id = str(data.get("psp_transaction_id") or "")[:80]
        try:
            amount = Decimal(str(data.get("amount")))
        except (ArithmeticError, ValueError):
            outcomes[index] = "amount_mismatch"
            continue
        key = f"psp:{merchant.pk}:{psp_id}"
        if str(data.get("currency") or "") != deposit.currency:
            outcomes[index] = "currency_mismatch"
        elif not amount.is_finite() or amount != deposit.amount:
            outcomes[index] = "amount_mismatch"
        elif deposit.journal_id is not None or key in seen_keys:
            outcomes[index] = "already_credited"
        elif "parked" in deposit.alternatives:
            # Rare, and it takes a hold: the one-by-one path.
            outcomes[index] = deposit_credit(
                attempt=attempt,
                psp_transaction_id=psp_id,
                amount=amount,
                currency=deposit.currency,
            )
        else:
            seen_keys.add(key)
            clearing = clearing_account(deposit.entity_id, deposit.currency)
            specs.setdefault(deposit.entity_id, []).append(
                (
                    index,
                    deposit,
                    JournalSpec(
                        type="deposit",
                        idempotency_key=key,
                        lines=[Line(deposit.wallet, amount), Line(clearing, -amount)],
                        reference=f"psp:{merchant.code}:{psp_id}",
                        metadata={"deposit": deposit.pk, "attempt": attempt.reference},
                    ),
                )
            )
    changed = []
    confirmed = []
    for entity_id, items in specs.items():
        journals = journal_post_batch(
            actor=SYSTEM, entity=entity_id, specs=[spec for _i, _d, spec in items]
        )
        for (index, deposit, _spec), journal in zip(items, journals, strict=True):
            deposit.journal = journal
            deposit.status = Deposit.Status.CREDITED
            changed.append(deposit)
            outcomes[index] = "credited"
            attempt = attempts[(confirmations[index][0].pk, _reference(confirmations[index][1]))]
            if attempt.status != DepositAttempt.Status.APPROVED:
                # A hosted-page payment: the webhook is the first we hear of its transaction.
                attempt.status = DepositAttempt.Status.APPROVED
                attempt.psp_transaction_id = str(
                    confirmations[index][1].get("psp_transaction_id") or ""
                )[:80]
                confirmed.append(attempt)
    Deposit.objects.unscoped().bulk_update(changed, ["journal", "status"])
    DepositAttempt.objects.unscoped().bulk_update(confirmed, ["status", "psp_transaction_id"])
    for deposit in changed:
        announce_credited(deposit)
    return outcomes


def _reference(data: dict[str, Any]) -> str:
    return str(data.get("reference") or "")[:60]


def announce_credited(deposit: Deposit) -> None:
    """The client's money is in their wallet (told to them, and counted for their IB)."""
    announce(
        events.DEPOSIT_CREDITED,
        entity=deposit.entity_id,
        person=deposit.profile.person_id,
        profile=deposit.profile_id,
        payload={
            "deposit_id": deposit.pk,
            "amount": str(deposit.amount),
            "currency": deposit.currency,
            "wallet_currency": deposit.currency,
            "credited_amount": str(deposit.amount),
        },
    )


def parked_deposits_release() -> int:
    """Release parked deposits of profiles whose KYC has since been approved (beat job)."""
    released = 0
    parked = (
        Deposit.objects.unscoped()
        .filter(status=Deposit.Status.PARKED)
        .select_related("profile", "park_hold")
    )
    for deposit in parked:
        if not _kyc_approved(deposit.profile):
            continue
        with transaction.atomic():
            moved = (
                Deposit.objects.unscoped()
                .filter(pk=deposit.pk, status=Deposit.Status.PARKED)
                .update(status=Deposit.Status.CREDITED)
            )
            if not moved:
                continue
            hold_void(actor=SYSTEM, hold=deposit.park_hold)
            audit_record(
                actor=None,
                actor_label="system:payments",
                action=actions.DEPOSIT_RELEASED,
                entity=deposit.entity_id,
                obj=deposit,
                after={"status": "credited"},
            )
            announce_credited(deposit)
            released += 1
    return released
