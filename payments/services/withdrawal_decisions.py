"""Withdrawal decisions: finance and compliance approvals (maker-checker), rejection, and the
FX rate fixed once everything is approved."""

from __future__ import annotations

from typing import Any

from django.db import transaction

from audit.services import audit_record
from brokercrm.errors import ApplicationError, Conflict, PermissionDenied, ValidationFailed
from brokercrm.events.bus import announce
from brokercrm.gate import require
from brokercrm.money import round_minor
from brokercrm.scoping import scope_for
from wallets.services import fx_quote, hold_void

from .. import audit_actions as actions
from .. import events
from ..models import Withdrawal, WithdrawalLeg

FINANCE_PERM = "payments.approve_withdrawal"
COMPLIANCE_PERM = "payments.approve_withdrawal_compliance"


def _approved(withdrawal: Withdrawal, *, actor: Any, reason: str) -> None:
    """Everything approved: fix the FX rate now (for a cross-currency payout), then pay."""
    from ..tasks import withdrawal_payout_task

    if withdrawal.payout_currency != withdrawal.currency and withdrawal.fx_rate is None:
        # Taken before the rate was fixed at the request: fix it now.
        quote = fx_quote(
            entity=withdrawal.entity_id, base=withdrawal.currency, quote=withdrawal.payout_currency
        )
        withdrawal.fx_rate = quote.rate
        withdrawal.fx_source = (
            f"{quote.source} {quote.as_of} mid {quote.mid} markup {quote.markup_bps} bps"
        )
        for leg in WithdrawalLeg.objects.in_entity(withdrawal.entity_id).filter(
            withdrawal=withdrawal, destination=WithdrawalLeg.Destination.BANK
        ):
            leg.payout_amount = round_minor(leg.amount * quote.rate, withdrawal.payout_currency)
            leg.save(update_fields=["payout_amount"])
    withdrawal.status = Withdrawal.Status.APPROVED
    withdrawal.decision_reason = reason
    withdrawal.save()
    audit_record(
        actor=actor,
        actor_label=None if actor else "system:payments",
        action=actions.WITHDRAWAL_APPROVED,
        entity=withdrawal.entity_id,
        obj=withdrawal,
        after={
            "reason": reason,
            "fx_rate": str(withdrawal.fx_rate or ""),
            "fx_source": withdrawal.fx_source,
        },
    )
    withdrawal_id = withdrawal.pk
    transaction.on_commit(lambda: withdrawal_payout_task.delay(withdrawal_id))


def withdrawal_approve(*, actor: Any, withdrawal: Withdrawal, reason: str) -> Withdrawal:
    """Finance approves; above the high threshold compliance approves too, and the two are
    different people. Nobody approves a withdrawal they requested."""
    require(actor, "payments.view_withdrawal", withdrawal)
    if not reason.strip():
        raise ValidationFailed("Give a reason for the audit trail.", code="reason_required")
    finance = scope_for(actor, FINANCE_PERM).contains(withdrawal)
    compliance = scope_for(actor, COMPLIANCE_PERM).contains(withdrawal)
    if not (finance or compliance):
        raise PermissionDenied()
    with transaction.atomic(durable=True):
        withdrawal = (
            Withdrawal.objects.in_entity(withdrawal.entity_id)
            .select_for_update()
            .get(pk=withdrawal.pk)
        )
        if withdrawal.status != Withdrawal.Status.PENDING_APPROVAL:
            raise Conflict(
                "The withdrawal is not waiting for approval.", code="withdrawal_not_pending"
            )
        if withdrawal.requested_by_id == actor.pk:
            raise ApplicationError(
                "The requester cannot approve.", code="maker_checker_same_person"
            )
        if actor.pk in (withdrawal.finance_approver_id, withdrawal.compliance_approver_id):
            raise ApplicationError(
                "A second approver must be another person.", code="maker_checker_same_person"
            )
        two = withdrawal.approval_needed == Withdrawal.Approval.FINANCE_AND_COMPLIANCE
        if finance and withdrawal.finance_approver_id is None:
            withdrawal.finance_approver = actor
        elif two and compliance and withdrawal.compliance_approver_id is None:
            withdrawal.compliance_approver = actor
        else:
            raise PermissionDenied("The approval this withdrawal still needs is not yours to give.")
        complete = withdrawal.finance_approver_id is not None and (
            not two or withdrawal.compliance_approver_id is not None
        )
        if complete:
            _approved(withdrawal, actor=actor, reason=reason)
        else:
            withdrawal.save(update_fields=["finance_approver", "compliance_approver", "updated_at"])
            audit_record(
                actor=actor,
                action=actions.WITHDRAWAL_FIRST_APPROVAL,
                entity=withdrawal.entity_id,
                obj=withdrawal,
                after={"reason": reason},
            )
    return withdrawal


def withdrawal_reject(*, actor: Any, withdrawal: Withdrawal, reason: str) -> Withdrawal:
    """Finance or compliance refuse it: every leg's hold voided (the money is back in the
    wallet), and the client told (WITHDRAWAL_REJECTED)."""
    require(actor, "payments.view_withdrawal", withdrawal)
    if not reason.strip():
        raise ValidationFailed("Give a reason for the audit trail.", code="reason_required")
    if not (
        scope_for(actor, FINANCE_PERM).contains(withdrawal)
        or scope_for(actor, COMPLIANCE_PERM).contains(withdrawal)
    ):
        raise PermissionDenied()
    with transaction.atomic(durable=True):
        withdrawal = (
            Withdrawal.objects.in_entity(withdrawal.entity_id)
            .select_for_update(of=("self",))
            .select_related("profile")
            .get(pk=withdrawal.pk)
        )
        if withdrawal.status != Withdrawal.Status.PENDING_APPROVAL:
            raise Conflict(
                "The withdrawal is not waiting for approval.", code="withdrawal_not_pending"
            )
        for leg in WithdrawalLeg.objects.in_entity(withdrawal.entity_id).filter(
            withdrawal=withdrawal
        ):
            hold_void(actor=actor, hold=leg.hold)
            leg.status = WithdrawalLeg.Status.VOIDED
            leg.save(update_fields=["status"])
        withdrawal.status = Withdrawal.Status.REJECTED
        withdrawal.decision_reason = reason
        withdrawal.save(update_fields=["status", "decision_reason", "updated_at"])
        audit_record(
            actor=actor,
            action=actions.WITHDRAWAL_REJECTED,
            entity=withdrawal.entity_id,
            obj=withdrawal,
            after={"reason": reason},
        )
        announce(
            events.WITHDRAWAL_REJECTED,
            entity=withdrawal.entity_id,
            person=withdrawal.profile.person_id,
            profile=withdrawal.profile_id,
            payload={
                "withdrawal_id": withdrawal.pk,
                "amount": str(withdrawal.amount),
                "currency": withdrawal.currency,
                "reason_code": "rejected_by_staff",
                "reason": reason,
            },
        )
    return withdrawal
