"""Withdrawals: blocks first, return-to-source split into legs, a hold per leg, an approval
queue by risk and amount (maker-checker above the high threshold), payout through the PSP,
and each leg's hold posted on success or voided on failure or rejection."""

from __future__ import annotations

from decimal import Decimal
from typing import TYPE_CHECKING, Any

from django.db import IntegrityError, transaction
from django.db.models import Sum

from audit.services import audit_record
from brokercrm.errors import ApplicationError, Conflict, PermissionDenied, ValidationFailed
from brokercrm.httpjson import UpstreamTimeout, UpstreamUnavailable
from brokercrm.idempotency import IdempotencyKeyReused, idempotency_key_checked
from brokercrm.idempotency import request_hash as hash_of
from brokercrm.money import minor_unit, money, round_minor
from brokercrm.scoping import scope_for
from entities.selectors import RuleSetMissing, ruleset_effective
from kyc.selectors import kyc_risk_level, withdrawal_blocks
from wallets.selectors import client_wallet
from wallets.services import (
    JournalSpec,
    Line,
    fx_quote,
    hold_create,
    hold_post,
    hold_void,
    journal_post,
    system_account,
)

from ..gateway import PspRefused
from ..models import (
    BankAccount,
    Deposit,
    DepositAttempt,
    MerchantAccount,
    PaymentMethod,
    Withdrawal,
    WithdrawalLeg,
)
from .routing import NoRoute, gateway_for, route_for

if TYPE_CHECKING:
    from identity.models import ClientProfile

FINANCE_PERM = "payments.approve_withdrawal"
COMPLIANCE_PERM = "payments.approve_withdrawal_compliance"


class WithdrawalRefused(ApplicationError):
    code = "withdrawal_refused"
    status = 422


def _card_sources(profile: ClientProfile, currency: str) -> list[tuple[Deposit, Decimal]]:
    """Card deposits still refundable: per card, what was deposited less what was already
    refunded to it (legs not failed or voided), attributed to the card's latest deposit."""
    deposits = list(
        Deposit.objects.in_entity(profile.entity_id)
        .filter(
            profile=profile,
            currency=currency,
            method__kind=PaymentMethod.Kind.CARD,
            status__in=[Deposit.Status.CREDITED, Deposit.Status.PARKED],
        )
        .order_by("pk")
    )
    by_card: dict[str, list[Deposit]] = {}
    for deposit in deposits:
        by_card.setdefault(deposit.instrument_fingerprint, []).append(deposit)
    sources = []
    for cards in by_card.values():
        deposited = sum((d.amount for d in cards), Decimal(0))
        refunded = WithdrawalLeg.objects.in_entity(profile.entity_id).filter(
            source_deposit__in=cards
        ).exclude(status__in=[WithdrawalLeg.Status.FAILED, WithdrawalLeg.Status.VOIDED]).aggregate(
            total=Sum("amount")
        )["total"] or Decimal(0)
        if deposited > refunded:
            sources.append((cards[-1], deposited - refunded))
    return sources


def _approval_needed(profile: ClientProfile, amount: Decimal, currency: str) -> tuple[str, str]:
    try:
        ruleset = ruleset_effective(
            entity=profile.entity_id, kind="withdrawal", country=profile.residence_country
        )
        rules, reference = ruleset.document, ruleset.reference
    except RuleSetMissing:
        return Withdrawal.Approval.FINANCE_AND_COMPLIANCE, ""
    if rules["currency"] != currency:
        amount = (
            amount * fx_quote(entity=profile.entity_id, base=currency, quote=rules["currency"]).mid
        )
    low = kyc_risk_level(profile=profile) == "low"
    if low and amount <= Decimal(rules["auto_approve_limit"]):
        return Withdrawal.Approval.AUTO, reference
    if amount <= Decimal(rules["finance_approval_limit"]):
        return Withdrawal.Approval.FINANCE, reference
    return Withdrawal.Approval.FINANCE_AND_COMPLIANCE, reference


def _card_merchant(deposit: Deposit) -> MerchantAccount:
    attempt = (
        DepositAttempt.objects.in_entity(deposit.entity_id)
        .select_related("merchant_account__provider")
        .filter(deposit=deposit, status=DepositAttempt.Status.APPROVED)
        .first()
    )
    if attempt is None:
        raise WithdrawalRefused("The card deposit has no approved attempt.", code="source_unknown")
    return attempt.merchant_account


def _bank_merchant(profile: ClientProfile, currency: str, amount: Decimal) -> MerchantAccount:
    method = PaymentMethod.objects.filter(code="bank_wire").first()
    if method is None:
        raise NoRoute("No bank payout method is configured.")
    route = route_for(
        entity_id=profile.entity_id,
        country=profile.residence_country,
        currency=currency,
        method=method,
        amount=amount,
    )
    return route.families[0][1][0]


def withdrawal_request(
    *,
    actor: Any,
    profile: ClientProfile,
    amount: Any,
    currency: str,
    idempotency_key: str,
    payout_currency: str | None = None,
    bank_account: BankAccount | None = None,
) -> Withdrawal:
    amount = money(amount)
    key = idempotency_key_checked(idempotency_key)
    payout_currency = payout_currency or currency
    request_hash = hash_of(
        {
            "profile": profile.pk,
            "amount": str(amount),
            "currency": currency,
            "payout": payout_currency,
            "bank": bank_account.pk if bank_account else None,
        }
    )
    existing = Withdrawal.objects.in_entity(profile.entity_id).filter(idempotency_key=key).first()
    if existing is not None:
        if existing.request_hash != request_hash:
            raise IdempotencyKeyReused()
        return existing
    blocks = withdrawal_blocks(profile=profile)
    if blocks:
        raise WithdrawalRefused(
            "The client may not withdraw now: " + " ".join(b.detail for b in blocks),
            code="withdrawal_blocked",
            extra={"reasons": [b.code for b in blocks]},
        )
    if amount != amount.quantize(minor_unit(currency)):
        raise ValidationFailed(f"{currency} has no amounts this small.", code="amount_invalid")
    wallet = client_wallet(entity_id=profile.entity_id, profile_id=profile.pk, currency=currency)
    if wallet is None:
        raise WithdrawalRefused(f"The client has no {currency} wallet.", code="wallet_not_found")
    if wallet.balance - wallet.held < amount:
        raise WithdrawalRefused("Not enough available funds.", code="insufficient_funds")
    plan: list[dict[str, Any]] = []
    rest = amount
    for deposit, refundable in _card_sources(profile, currency):
        if rest <= 0:
            break
        part = min(rest, refundable)
        plan.append(
            {
                "destination": "card",
                "source_deposit": deposit,
                "amount": part,
                "merchant_account": _card_merchant(deposit),
            }
        )
        rest -= part
    if rest > 0:
        if bank_account is None:
            bank_account = (
                BankAccount.objects.in_entity(profile.entity_id)
                .filter(profile=profile, verified=True)
                .order_by("-pk")
                .first()
            )
        if (
            bank_account is None
            or bank_account.profile_id != profile.pk
            or not bank_account.verified
        ):
            raise WithdrawalRefused(
                "What is not refunded to cards goes to a verified bank account; there is none.",
                code="bank_account_required",
            )
        plan.append(
            {
                "destination": "bank",
                "bank_account": bank_account,
                "amount": rest,
                "merchant_account": _bank_merchant(profile, payout_currency, rest),
            }
        )
    approval, ruleset_reference = _approval_needed(profile, amount, currency)
    cross = payout_currency != currency
    counter = system_account(
        entity=profile.entity_id,
        kind="fx_position" if cross else "psp_clearing",
        currency=currency,
    )
    authenticated = getattr(actor, "is_authenticated", False)
    try:
        with transaction.atomic():
            withdrawal = Withdrawal.objects.create(
                entity_id=profile.entity_id,
                profile=profile,
                wallet=wallet,
                amount=amount,
                currency=currency,
                payout_currency=payout_currency,
                approval_needed=approval,
                risk_level=kyc_risk_level(profile=profile),
                withdrawal_ruleset=ruleset_reference,
                requested_by=actor if authenticated else None,
                requested_label=actor.get_username() if authenticated else f"client:{profile.pk}",
                idempotency_key=key,
                request_hash=request_hash,
            )
            for number, leg in enumerate(plan, start=1):
                hold = hold_create(
                    actor=actor,
                    account=wallet,
                    counter_account=counter,
                    amount=leg["amount"],
                    purpose="withdrawal",
                    idempotency_key=f"withdrawal:{withdrawal.pk}:{number}",
                )
                WithdrawalLeg.objects.create(
                    entity_id=profile.entity_id,
                    withdrawal=withdrawal,
                    number=number,
                    hold=hold,
                    reference=f"wd{withdrawal.pk}-{number}",
                    **leg,
                )
            audit_record(
                actor=actor if authenticated else None,
                actor_label=None if authenticated else f"client:{profile.pk}",
                action="payments.withdrawal_requested",
                entity=profile.entity_id,
                obj=withdrawal,
                after={
                    "amount": str(amount),
                    "currency": currency,
                    "payout_currency": payout_currency,
                    "approval": approval,
                    "legs": [[leg["destination"], str(leg["amount"])] for leg in plan],
                },
            )
            if approval == Withdrawal.Approval.AUTO:
                _approved(withdrawal, actor=None, reason="below the automatic approval limit")
    except IntegrityError:
        twin = Withdrawal.objects.in_entity(profile.entity_id).filter(idempotency_key=key).first()
        if twin is None:
            raise
        if twin.request_hash != request_hash:
            raise IdempotencyKeyReused() from None
        return twin
    return Withdrawal.objects.in_entity(profile.entity_id).get(pk=withdrawal.pk)


def _approved(withdrawal: Withdrawal, *, actor: Any, reason: str) -> None:
    """Everything approved: fix the FX rate now (for a cross-currency payout), then pay."""
    from ..tasks import withdrawal_payout_task

    if withdrawal.payout_currency != withdrawal.currency:
        quote = fx_quote(
            entity=withdrawal.entity_id, base=withdrawal.currency, quote=withdrawal.payout_currency
        )
        withdrawal.fx_rate = quote.rate
        withdrawal.fx_source = (
            f"{quote.source} {quote.as_of} mid {quote.mid} markup {quote.markup_bps} bps"
        )
        for leg in WithdrawalLeg.objects.in_entity(withdrawal.entity_id).filter(
            withdrawal=withdrawal
        ):
            leg.payout_amount = round_minor(leg.amount * quote.rate, withdrawal.payout_currency)
            leg.save(update_fields=["payout_amount"])
    withdrawal.status = Withdrawal.Status.APPROVED
    withdrawal.decision_reason = reason
    withdrawal.save()
    audit_record(
        actor=actor,
        actor_label=None if actor else "system:payments",
        action="payments.withdrawal_approved",
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
                action="payments.withdrawal_first_approval",
                entity=withdrawal.entity_id,
                obj=withdrawal,
                after={"reason": reason},
            )
    return withdrawal


def withdrawal_reject(*, actor: Any, withdrawal: Withdrawal, reason: str) -> Withdrawal:
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
            .select_for_update()
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
            action="payments.withdrawal_rejected",
            entity=withdrawal.entity_id,
            obj=withdrawal,
            after={"reason": reason},
        )
    return withdrawal


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
        try:
            result = gateway.payout(
                reference=leg.reference,
                amount=leg.payout_amount or leg.amount,
                currency=withdrawal.payout_currency,
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
            .select_for_update()
            .get(pk=leg.withdrawal_id)
        )
        if paid:
            hold_post(actor=None, hold=leg.hold)
            if withdrawal.payout_currency != withdrawal.currency:
                _payout_fx_leg(withdrawal, leg, psp_transaction_id)
            leg.status = WithdrawalLeg.Status.PAID
        else:
            hold_void(actor=None, hold=leg.hold)
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
        elif states <= {WithdrawalLeg.Status.FAILED}:
            withdrawal.status = Withdrawal.Status.FAILED
        elif states <= {WithdrawalLeg.Status.PAID, WithdrawalLeg.Status.FAILED}:
            withdrawal.status = Withdrawal.Status.PARTIALLY_PAID
        withdrawal.save(update_fields=["status", "updated_at"])
        audit_record(
            actor=None,
            actor_label=f"psp:{leg.merchant_account_id}",
            action="payments.payout_paid" if paid else "payments.payout_failed",
            entity=leg.entity_id,
            obj=withdrawal,
            after={"leg": leg.number, "amount": str(leg.amount), "decline_code": decline_code},
        )
    return "paid" if paid else "failed"


def _payout_fx_leg(withdrawal: Withdrawal, leg: WithdrawalLeg, psp_transaction_id: str) -> None:
    """The payout currency side of a cross-currency payout: FX position → PSP clearing."""
    payout = leg.payout_amount or leg.amount
    currency = withdrawal.payout_currency
    journal_post(
        actor=None,
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
