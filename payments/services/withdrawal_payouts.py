"""Withdrawal payouts: each leg sent to its PSP, and settled once (its hold posted, or voided
on failure), with the payout-currency side of a cross-currency payout."""

from __future__ import annotations

from decimal import Decimal

from django.db import transaction

from audit.services import audit_record
from brokercrm.events.bus import announce
from brokercrm.gate import SYSTEM
from brokercrm.httpjson import UpstreamTimeout, UpstreamUnavailable
from wallets.services import JournalSpec, Line, hold_post, hold_void, journal_post, system_account

from .. import audit_actions as actions
from .. import events
from ..gateway import PspRefused
from ..models import DepositAttempt, Withdrawal, WithdrawalLeg
from .routing import gateway_for


def withdrawal_payout(*, withdrawal_id: int) -> str:
    """Send each waiting leg to its PSP (a task after approval; safe to run again: a leg is
    sent once, under its own reference as idempotency key)."""
    withdrawal = Withdrawal.objects.unscoped().select_related("profile").get(pk=withdrawal_id)
    if withdrawal.status != Withdrawal.Status.APPROVED:
        return withdrawal.status
    legs = (
        WithdrawalLeg.objects.in_entity(withdrawal.entity_id)
        .filter(
            withdrawal=withdrawal,
            status__in=[WithdrawalLeg.Status.WAITING, WithdrawalLeg.Status.SENT],
        )
        .select_related("merchant_account__provider", "source_deposit", "bank_account")
    )
    for leg in legs:
        WithdrawalLeg.objects.in_entity(leg.entity_id).filter(pk=leg.pk).update(
            status=WithdrawalLeg.Status.SENT
        )
        gateway = gateway_for(leg.merchant_account)
        if leg.destination == WithdrawalLeg.Destination.CARD:
            attempt = (
                DepositAttempt.objects.in_entity(leg.entity_id)
                .filter(deposit=leg.source_deposit, status=DepositAttempt.Status.APPROVED)
                .first()
            )
            method, instrument = "card", {"original_psp_transaction_id": attempt.psp_transaction_id}
        else:
            method, instrument = "bank_wire", {"iban": leg.bank_account.iban}
        leg.withdrawal = withdrawal
        payout_amount, payout_currency = leg.payout
        try:
            result = gateway.payout(
                reference=leg.reference,
                amount=payout_amount,
                currency=payout_currency,
                method=method,
                instrument=instrument,
                customer={"id": withdrawal.profile_id},
                idempotency_key=leg.reference,
            )
        except UpstreamTimeout:
            try:
                result = gateway.transaction_by_reference(leg.reference)
            except (UpstreamTimeout, UpstreamUnavailable):
                result = None
            if result is None:
                continue  # unknown or not applied: the next run asks (or sends) again
        except UpstreamUnavailable:
            continue
        except PspRefused as exc:
            payout_leg_settle(leg=leg, paid=False, psp_transaction_id="", decline_code=exc.code)
            continue
        if result.status == "pending":
            WithdrawalLeg.objects.in_entity(leg.entity_id).filter(pk=leg.pk).update(
                psp_transaction_id=result.psp_transaction_id
            )
            continue
        payout_leg_settle(
            leg=leg,
            paid=result.status == "approved",
            psp_transaction_id=result.psp_transaction_id,
            decline_code=result.decline_code or "",
        )
    return Withdrawal.objects.unscoped().get(pk=withdrawal_id).status


def payout_leg_settle(
    *, leg: WithdrawalLeg, paid: bool, psp_transaction_id: str, decline_code: str
) -> str:
    """A leg's final outcome, from the payout answer or the PSP's webhook, whichever comes
    first; the second finds the leg settled and changes nothing."""
    with transaction.atomic():
        leg = (
            WithdrawalLeg.objects.in_entity(leg.entity_id)
            .select_for_update()
            .select_related("hold__account", "hold__counter_account")
            .get(pk=leg.pk)
        )
        if leg.status in (
            WithdrawalLeg.Status.PAID,
            WithdrawalLeg.Status.FAILED,
            WithdrawalLeg.Status.VOIDED,
        ):
            return "already_settled"
        withdrawal = (
            Withdrawal.objects.in_entity(leg.entity_id)
            .select_for_update(of=("self",))
            .select_related("profile")
            .get(pk=leg.withdrawal_id)
        )
        if paid:
            hold_post(actor=SYSTEM, hold=leg.hold)
            if leg.converted:
                _payout_fx_leg(withdrawal, leg, psp_transaction_id)
            leg.status = WithdrawalLeg.Status.PAID
        else:
            hold_void(actor=SYSTEM, hold=leg.hold)
            leg.status = WithdrawalLeg.Status.FAILED
            leg.decline_code = decline_code[:40]
        if psp_transaction_id:
            leg.psp_transaction_id = psp_transaction_id
        leg.save(update_fields=["status", "decline_code", "psp_transaction_id"])
        states = set(
            WithdrawalLeg.objects.in_entity(leg.entity_id)
            .filter(withdrawal=withdrawal)
            .values_list("status", flat=True)
        )
        if states <= {WithdrawalLeg.Status.PAID}:
            withdrawal.status = Withdrawal.Status.PAID
            _announce_paid(withdrawal)
        elif states <= {WithdrawalLeg.Status.FAILED}:
            withdrawal.status = Withdrawal.Status.FAILED
        elif states <= {WithdrawalLeg.Status.PAID, WithdrawalLeg.Status.FAILED}:
            withdrawal.status = Withdrawal.Status.PARTIALLY_PAID
        withdrawal.save(update_fields=["status", "updated_at"])
        audit_record(
            actor=None,
            actor_label=f"psp:{leg.merchant_account_id}",
            action=actions.PAYOUT_PAID if paid else actions.PAYOUT_FAILED,
            entity=leg.entity_id,
            obj=withdrawal,
            after={"leg": leg.number, "amount": str(leg.amount), "decline_code": decline_code},
        )
    return "paid" if paid else "failed"


def _announce_paid(withdrawal: Withdrawal) -> None:
    legs = list(WithdrawalLeg.objects.in_entity(withdrawal.entity_id).filter(withdrawal=withdrawal))
    for leg in legs:
        leg.withdrawal = withdrawal
    paid: dict[str, Decimal] = {}
    for amount, currency in (leg.payout for leg in legs):
        paid[currency] = paid.get(currency, Decimal(0)) + amount
    announce(
        events.WITHDRAWAL_PAID,
        entity=withdrawal.entity_id,
        person=withdrawal.profile.person_id,
        profile=withdrawal.profile_id,
        payload={
            "withdrawal_id": withdrawal.pk,
            "amount": str(withdrawal.amount),
            "currency": withdrawal.currency,
            "payout_amount": str(paid.get(withdrawal.payout_currency, Decimal(0))),
            "payout_currency": withdrawal.payout_currency,
            # Card refunds go back in the card's currency: what was paid in each currency.
            "paid": {currency: str(amount) for currency, amount in sorted(paid.items())},
        },
    )


def _payout_fx_leg(withdrawal: Withdrawal, leg: WithdrawalLeg, psp_transaction_id: str) -> None:
    """The payout currency side of a cross-currency payout: FX position → PSP clearing."""
    leg.withdrawal = withdrawal
    payout, currency = leg.payout
    journal_post(
        actor=SYSTEM,
        entity=withdrawal.entity_id,
        spec=JournalSpec(
            type="fx_transfer",
            idempotency_key=f"withdrawal:{withdrawal.pk}:{leg.number}:fx",
            lines=[
                Line(
                    system_account(
                        entity=withdrawal.entity_id, kind="fx_position", currency=currency
                    ),
                    -payout,
                ),
                Line(
                    system_account(
                        entity=withdrawal.entity_id, kind="psp_clearing", currency=currency
                    ),
                    payout,
                ),
            ],
            reference=f"psp:{leg.merchant_account.code}:{psp_transaction_id}"
            if psp_transaction_id
            else leg.reference,
            metadata={"withdrawal": withdrawal.pk, "rate": str(withdrawal.fx_rate)},
        ),
    )
