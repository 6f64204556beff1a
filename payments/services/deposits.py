"""Deposits: intent → attempts through the route's gateway families → a verified webhook
credits the wallet from PSP clearing exactly once.

This module takes the deposit and runs its attempts; the credit is in deposit_credits."""

from __future__ import annotations

import logging
from decimal import Decimal
from typing import TYPE_CHECKING, Any

from django.db import IntegrityError, transaction
from django.db.models import Sum

from audit.services import audit_record
from brokercrm.errors import ApplicationError, PermissionDenied, ValidationFailed
from brokercrm.gate import is_client, require
from brokercrm.httpjson import UpstreamTimeout, UpstreamUnavailable
from brokercrm.idempotency import IdempotencyKeyReused, idempotency_key_checked
from brokercrm.idempotency import request_hash as hash_of
from brokercrm.money import minor_unit, money
from entities.selectors import RuleSetMissing, ruleset_effective
from identity.choices import ProfileStatus
from identity.crypto import blind_index_hex
from identity.selectors import person_is_blocked, profile_email_verified
from wallets.services import wallet_open

from .. import audit_actions as actions
from ..gateway import PspRefused, PspResult
from ..models import Deposit, DepositAttempt, MerchantAccount, PaymentMethod
from .deposit_credits import _kyc_approved
from .routing import NoRoute, Route, gateway_for, local_alternatives, route_for

if TYPE_CHECKING:
    from identity.models import ClientProfile

logger = logging.getLogger(__name__)


class DepositRefused(ApplicationError):
    code = "deposit_refused"
    status = 422


def _instrument_identity(method: PaymentMethod, instrument: dict[str, Any]) -> tuple[str, str]:
    """A keyed fingerprint (for return-to-source) and a label; the number itself is not kept."""
    if method.kind == PaymentMethod.Kind.CARD:
        number = "".join(ch for ch in str(instrument.get("card_number", "")) if ch.isdigit())
        if not 12 <= len(number) <= 19:
            raise ValidationFailed("Give a card number.", code="instrument_invalid")
        return blind_index_hex("card", number), f"card …{number[-4:]}"
    if method.kind == PaymentMethod.Kind.BANK:
        iban = str(instrument.get("iban", "")).replace(" ", "").upper()
        if not iban:
            raise ValidationFailed("Give an IBAN.", code="instrument_invalid")
        return blind_index_hex("iban", iban), f"IBAN …{iban[-4:]}"
    return "", method.code


def _deposit_rules(profile: ClientProfile) -> dict[str, Any]:
    try:
        return ruleset_effective(
            entity=profile.entity_id, kind="deposit", country=profile.residence_country
        ).document
    except RuleSetMissing:
        return {"before_kyc": "refuse", "park_cap": "0"}


def email_verified_checked(actor: Any, profile: ClientProfile) -> None:
    """A client deposits only once their e-mail address is verified (it proves the login is
    theirs); staff depositing for a client on the phone are not held to it."""
    if is_client(actor) and not profile_email_verified(profile):
        raise PermissionDenied(
            "Verify your e-mail address first: follow the link we sent you.",
            code="email_unverified",
        )


def deposit_method_of(code: str) -> PaymentMethod:
    payment_method = PaymentMethod.objects.filter(code=code).first()
    if payment_method is None:
        raise ValidationFailed(f"Unknown payment method {code!r}.", code="method_unknown")
    return payment_method


def deposit_repeated(profile: ClientProfile, key: str, request_hash: str) -> Deposit | None:
    """The deposit a repeated request under `key` already made (IdempotencyKeyReused when the
    key came with another body), or None for a new request."""
    existing = Deposit.objects.in_entity(profile.entity_id).filter(idempotency_key=key).first()
    if existing is not None and existing.request_hash != request_hash:
        raise IdempotencyKeyReused()
    return existing


def deposit_admitted(profile: ClientProfile, amount: Decimal, currency: str) -> bool:
    """Whether the profile may deposit `amount` now; True when it is to be parked until KYC
    approval. Raises with the reason otherwise."""
    if profile.status in (
        ProfileStatus.RESTRICTED,
        ProfileStatus.CLOSED,
        ProfileStatus.PENDING,
    ):
        raise DepositRefused(f"The profile is {profile.status}.", code="profile_not_eligible")
    if person_is_blocked(profile.person_id):
        raise DepositRefused("The client is blocked for AML reasons.", code="aml_block")
    if amount != amount.quantize(minor_unit(currency)):
        raise ValidationFailed(f"{currency} has no amounts this small.", code="amount_invalid")
    if _kyc_approved(profile):
        return False
    rules = _deposit_rules(profile)
    if rules.get("before_kyc") != "park":
        raise DepositRefused("Deposits open once KYC is approved.", code="kyc_required")
    already = Deposit.objects.in_entity(profile.entity_id).filter(
        profile=profile,
        status__in=[
            Deposit.Status.PARKED,
            Deposit.Status.AUTHORISED,
            Deposit.Status.PROCESSING,
            Deposit.Status.AWAITING_PAYER,
        ],
        currency=currency,
    ).aggregate(total=Sum("amount"))["total"] or Decimal(0)
    if already + amount > Decimal(str(rules.get("park_cap", "0"))):
        raise DepositRefused(
            f"Before KYC approval at most {rules.get('park_cap')} may be parked.",
            code="park_cap_exceeded",
        )
    return True


def deposit_route(
    profile: ClientProfile, currency: str, payment_method: PaymentMethod, amount: Decimal
) -> Route:
    """The route, or NoRoute carrying the local methods that do have one."""
    try:
        return route_for(
            entity_id=profile.entity_id,
            country=profile.residence_country,
            currency=currency,
            method=payment_method,
            amount=amount,
        )
    except NoRoute as exc:
        exc.extra = {
            "alternatives": local_alternatives(
                entity_id=profile.entity_id,
                country=profile.residence_country,
                currency=currency,
                amount=amount,
            )
        }
        raise


def deposit_create(
    *,
    actor: Any,
    profile: ClientProfile,
    amount: Any,
    currency: str,
    method: str,
    instrument: dict[str, Any],
    idempotency_key: str,
) -> Deposit:
    """Start a deposit and run its attempts. Returns the deposit: authorised (the PSP's webhook
    will credit it), declined (hard), or failed with the local methods to offer instead."""
    require(actor, "payments.add_deposit", profile)
    email_verified_checked(actor, profile)
    amount = money(amount)
    key = idempotency_key_checked(idempotency_key)
    payment_method = deposit_method_of(method)
    fingerprint, label = _instrument_identity(payment_method, instrument)
    request_hash = hash_of(
        {
            "profile": profile.pk,
            "amount": str(amount),
            "currency": currency,
            "method": method,
            "instrument": fingerprint,
        }
    )
    existing = deposit_repeated(profile, key, request_hash)
    if existing is not None:
        return existing
    parked = deposit_admitted(profile, amount, currency)
    route = deposit_route(profile, currency, payment_method, amount)
    wallet = wallet_open(profile=profile, currency=currency)
    try:
        with transaction.atomic():
            deposit = Deposit.objects.create(
                entity_id=profile.entity_id,
                profile=profile,
                wallet=wallet,
                amount=amount,
                currency=currency,
                method=payment_method,
                instrument_fingerprint=fingerprint,
                instrument_label=label,
                routing_rule=route.rule,
                idempotency_key=key,
                request_hash=request_hash,
                created_by=actor_label_of(actor, profile),
                alternatives=["parked"] if parked else [],
            )
            audit_deposit_created(actor, profile, deposit, route, parked)
    except IntegrityError:
        # A concurrent twin with the same key won: answer with it.
        twin = Deposit.objects.in_entity(profile.entity_id).get(idempotency_key=key)
        if twin.request_hash != request_hash:
            raise IdempotencyKeyReused() from None
        return twin
    return _run_attempts(deposit, route, instrument, profile)


def actor_label_of(actor: Any, profile: ClientProfile) -> str:
    if getattr(actor, "is_authenticated", False):
        return actor.get_username()
    return str(actor) if actor is not None and not is_client(actor) else f"client:{profile.pk}"


def audit_deposit_created(
    actor: Any, profile: ClientProfile, deposit: Deposit, route: Route, parked: bool
) -> None:
    authenticated = getattr(actor, "is_authenticated", False)
    audit_record(
        actor=actor if authenticated else None,
        actor_label=None if authenticated else actor_label_of(actor, profile),
        action=actions.DEPOSIT_CREATED,
        entity=profile.entity_id,
        obj=deposit,
        after={
            "amount": str(deposit.amount),
            "currency": deposit.currency,
            "method": deposit.method.code,
            "route": route.rule.name,
            "parked": parked,
            "hosted": bool(deposit.return_url),
        },
    )


def _charge(
    merchant: MerchantAccount,
    attempt: DepositAttempt,
    deposit: Deposit,
    instrument: dict[str, Any],
    profile: ClientProfile,
) -> PspResult | None:
    gateway = gateway_for(merchant)
    try:
        return gateway.charge(
            reference=attempt.reference,
            amount=deposit.amount,
            currency=deposit.currency,
            method=deposit.method.code,
            instrument=instrument,
            customer={"id": profile.pk, "country": profile.residence_country},
            idempotency_key=attempt.reference,
        )
    except UpstreamTimeout:
        # It may have been applied: ask before deciding anything.
        try:
            return gateway.transaction_by_reference(attempt.reference)
        except (UpstreamTimeout, UpstreamUnavailable):
            return None
    except UpstreamUnavailable:
        return None


def _run_attempts(
    deposit: Deposit, route: Any, instrument: dict[str, Any], profile: ClientProfile
) -> Deposit:
    number = 0
    last_code = ""
    for _family, merchants in route.families:
        for turn in range(1 + route.rule.soft_retries):
            merchant = merchants[turn % len(merchants)]
            number += 1
            attempt = DepositAttempt.objects.create(
                entity_id=deposit.entity_id,
                deposit=deposit,
                merchant_account=merchant,
                number=number,
                reference=f"dep{deposit.pk}-{number}",
            )
            try:
                result = _charge(merchant, attempt, deposit, instrument, profile)
            except PspRefused as exc:
                # The PSP refused the request itself (configuration): this family cannot help.
                _attempt_set(
                    attempt, DepositAttempt.Status.DECLINED, code=exc.code, category="hard"
                )
                last_code = exc.code
                break
            if result is None:
                _attempt_set(
                    attempt, DepositAttempt.Status.UNKNOWN, code="no_answer", category="soft"
                )
                last_code = "no_answer"
                continue
            if result.status == "approved":
                _attempt_set(
                    attempt, DepositAttempt.Status.APPROVED, psp_id=result.psp_transaction_id
                )
                return _deposit_set(deposit, Deposit.Status.AUTHORISED, only_if_processing=True)
            category = result.decline_category or "hard"
            _attempt_set(
                attempt,
                DepositAttempt.Status.DECLINED,
                code=result.decline_code or "",
                category=category,
                psp_id=result.psp_transaction_id,
            )
            last_code = result.decline_code or "declined"
            if category == "hard":
                return _deposit_set(deposit, Deposit.Status.DECLINED, code=last_code)
    alternatives = local_alternatives(
        entity_id=deposit.entity_id,
        country=profile.residence_country,
        currency=deposit.currency,
        amount=deposit.amount,
    )
    alternatives = [code for code in alternatives if code != deposit.method.code]
    return _deposit_set(deposit, Deposit.Status.FAILED, code=last_code, alternatives=alternatives)


def _attempt_set(
    attempt: DepositAttempt, status: str, *, code: str = "", category: str = "", psp_id: str = ""
) -> None:
    DepositAttempt.objects.in_entity(attempt.entity_id).filter(pk=attempt.pk).update(
        status=status,
        decline_code=code[:40],
        decline_category=category,
        **({"psp_transaction_id": psp_id} if psp_id else {}),
    )


def _deposit_set(
    deposit: Deposit,
    status: str,
    *,
    code: str = "",
    alternatives: list[str] | None = None,
    only_if_processing: bool = False,
) -> Deposit:
    rows = Deposit.objects.in_entity(deposit.entity_id).filter(pk=deposit.pk)
    if only_if_processing or status in (Deposit.Status.DECLINED, Deposit.Status.FAILED):
        # The webhook may already have credited it: never move a credited deposit back.
        rows = rows.filter(status=Deposit.Status.PROCESSING)
    fields: dict[str, Any] = {"status": status, "decline_code": code[:40]}
    if alternatives is not None:
        fields["alternatives"] = alternatives
    with transaction.atomic():
        if rows.update(**fields):
            _deposit_audit(deposit, status, code, alternatives)
    return Deposit.objects.in_entity(deposit.entity_id).get(pk=deposit.pk)


def _deposit_audit(
    deposit: Deposit, status: str, code: str, alternatives: list[str] | None
) -> None:
    audit_record(
        actor=None,
        actor_label="system:payments",
        action=actions.DEPOSIT_BY_STATUS[status],
        entity=deposit.entity_id,
        obj=deposit,
        after={"status": status, "decline_code": code, "alternatives": alternatives or []},
    )
