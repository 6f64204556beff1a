"""Withdrawals: blocks first, return-to-source split into legs, a hold per leg, an approval
queue by risk and amount (maker-checker above the high threshold), payout through the PSP,
and each leg's hold posted on success or voided on failure or rejection.

This module takes the request; the approvals are in withdrawal_decisions, the payouts in
withdrawal_payouts."""

from __future__ import annotations

from decimal import Decimal
from typing import TYPE_CHECKING, Any

from django.db import IntegrityError, transaction
from django.db.models import Sum

from audit.services import audit_record
from brokercrm.errors import ApplicationError, Conflict, ValidationFailed
from brokercrm.gate import require
from brokercrm.idempotency import IdempotencyKeyReused, idempotency_key_checked
from brokercrm.idempotency import request_hash as hash_of
from brokercrm.money import minor_unit, money, round_minor
from entities.selectors import RuleSetMissing, ruleset_effective
from kyc.selectors import kyc_risk_level, withdrawal_blocks
from wallets.selectors import client_wallet
from wallets.services import fx_quote, hold_create, system_account

from .. import audit_actions as actions
from ..models import (
    BankAccount,
    Deposit,
    DepositAttempt,
    MerchantAccount,
    PaymentMethod,
    Withdrawal,
    WithdrawalLeg,
)
from .routing import NoRoute, route_for
from .withdrawal_decisions import _approved

if TYPE_CHECKING:
    from identity.models import ClientProfile


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


def bank_payout_merchant(profile: ClientProfile, currency: str, amount: Decimal) -> MerchantAccount:
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


def quote_source(quote: Any) -> str:
    return f"{quote.source} {quote.as_of} mid {quote.mid} markup {quote.markup_bps} bps"


def _rate_fixed(
    profile: ClientProfile, currency: str, payout_currency: str, quoted_rate: Decimal | None
) -> Any:
    quote = fx_quote(entity=profile.entity_id, base=currency, quote=payout_currency)
    if quoted_rate is not None and Decimal(quoted_rate) != quote.rate:
        raise Conflict(
            f"The {currency}/{payout_currency} rate is now {quote.rate}; confirm the new rate.",
            code="rate_changed",
            extra={"rate": str(quote.rate), "source": quote_source(quote)},
        )
    return quote


def withdrawal_request(
    *,
    actor: Any,
    profile: ClientProfile,
    amount: Any,
    currency: str,
    idempotency_key: str,
    payout_currency: str | None = None,
    bank_account: BankAccount | None = None,
    quoted_rate: Decimal | None = None,
) -> Withdrawal:
    """Take a withdrawal: its legs (cards first, the rest to a verified bank account), a hold
    per leg, and the approval it needs. A cross-currency payout is converted at the rate quoted
    now, fixed on the withdrawal; `quoted_rate` (the one the client was shown) must still be
    it, or the request is refused `rate_changed` with the new rate."""
    require(actor, "payments.add_withdrawal", profile)
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
                "merchant_account": bank_payout_merchant(profile, payout_currency, rest),
            }
        )
    approval, ruleset_reference = _approval_needed(profile, amount, currency)
    cross = payout_currency != currency
    quote = _rate_fixed(profile, currency, payout_currency, quoted_rate) if cross else None
    # Card refunds go back in the card's currency; only what is paid to the bank converts.
    counters = {
        kind: system_account(entity=profile.entity_id, kind=kind, currency=currency)
        for kind in ("fx_position", "psp_clearing")
    }
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
                fx_rate=quote.rate if quote else None,
                fx_source=quote_source(quote) if quote else "",
                approval_needed=approval,
                risk_level=kyc_risk_level(profile=profile),
                withdrawal_ruleset=ruleset_reference,
                requested_by=actor if authenticated else None,
                requested_label=actor.get_username() if authenticated else f"client:{profile.pk}",
                idempotency_key=key,
                request_hash=request_hash,
            )
            for number, leg in enumerate(plan, start=1):
                converts = quote is not None and leg["destination"] == "bank"
                hold = hold_create(
                    actor=actor,
                    account=wallet,
                    counter_account=counters["fx_position" if converts else "psp_clearing"],
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
                    payout_amount=round_minor(leg["amount"] * quote.rate, payout_currency)
                    if converts
                    else None,
                    **leg,
                )
            audit_record(
                actor=actor if authenticated else None,
                actor_label=None if authenticated else f"client:{profile.pk}",
                action=actions.WITHDRAWAL_REQUESTED,
                entity=profile.entity_id,
                obj=withdrawal,
                after={
                    "amount": str(amount),
                    "currency": currency,
                    "payout_currency": payout_currency,
                    "fx_rate": str(quote.rate) if quote else "",
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
