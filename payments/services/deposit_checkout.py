"""Deposits on the PSP's hosted payment page: the client is sent to the PSP, types their card
and passes the bank's one-time code there (we never see the card), and comes back to the
brand's page. The result reaches us by the PSP's signed webhook, as for every deposit: the
credit happens on the webhook (deposit_credits), never on the client's return.

    processing → awaiting_payer (the page is open) → credited | parked | declined
               → failed (the PSP could not open a page: offer another method)
"""

from __future__ import annotations

import urllib.parse
from typing import TYPE_CHECKING, Any

from django.db import IntegrityError, transaction

from brokercrm.errors import ValidationFailed
from brokercrm.gate import require
from brokercrm.httpjson import UpstreamTimeout, UpstreamUnavailable
from brokercrm.idempotency import IdempotencyKeyReused, idempotency_key_checked
from brokercrm.idempotency import request_hash as hash_of
from brokercrm.money import money
from identity.crypto import blind_index_hex
from wallets.services import wallet_open

from ..gateway import PspCheckout, PspRefused
from ..models import Deposit, DepositAttempt, MerchantAccount, PaymentMethod
from .deposits import (
    _attempt_set,
    _deposit_audit,
    _deposit_set,
    actor_label_of,
    audit_deposit_created,
    deposit_admitted,
    deposit_method_of,
    deposit_repeated,
    deposit_route,
    email_verified_checked,
)
from .routing import gateway_for, local_alternatives

if TYPE_CHECKING:
    from identity.models import ClientProfile

MAX_RETURN_URL = 2000


def _return_url_checked(value: str) -> str:
    value = (value or "").strip()
    parts = urllib.parse.urlsplit(value)
    if len(value) > MAX_RETURN_URL or parts.scheme not in ("http", "https") or not parts.netloc:
        raise ValidationFailed(
            "Give the page of your site the payer comes back to (an http or https address).",
            code="return_url_invalid",
        )
    return value


def deposit_checkout_create(
    *,
    actor: Any,
    profile: ClientProfile,
    amount: Any,
    currency: str,
    method: str,
    return_url: str,
    idempotency_key: str,
) -> Deposit:
    """Start a deposit paid on the PSP's hosted page. Returns it `awaiting_payer` with the
    `redirect_url` to send the payer to, or `failed` (with the methods to offer instead) when
    no page could be opened. A repeat with the same key and body returns the same deposit and
    page; the same key with another body is refused."""
    require(actor, "payments.add_deposit", profile)
    email_verified_checked(actor, profile)
    amount = money(amount)
    key = idempotency_key_checked(idempotency_key)
    payment_method = deposit_method_of(method)
    if payment_method.kind != PaymentMethod.Kind.CARD:
        raise ValidationFailed(
            f"{payment_method.name} is not paid on the hosted page; choose a card method.",
            code="method_not_hosted",
        )
    return_url = _return_url_checked(return_url)
    request_hash = hash_of(
        {
            "profile": profile.pk,
            "amount": str(amount),
            "currency": currency,
            "method": method,
            "return_url": return_url,
            "hosted": True,
        }
    )
    existing = deposit_repeated(profile, key, request_hash)
    if existing is not None:
        return existing
    parked = deposit_admitted(profile, amount, currency)
    route = deposit_route(profile, currency, payment_method, amount)
    merchant = route.families[0][1][0]
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
                # The card stays at the PSP: each hosted payment is refunded to itself.
                instrument_fingerprint=blind_index_hex("checkout", f"{profile.entity_id}:{key}"),
                instrument_label="card (hosted page)",
                routing_rule=route.rule,
                idempotency_key=key,
                request_hash=request_hash,
                created_by=actor_label_of(actor, profile),
                alternatives=["parked"] if parked else [],
                return_url=return_url,
            )
            attempt = DepositAttempt.objects.create(
                entity_id=profile.entity_id,
                deposit=deposit,
                merchant_account=merchant,
                number=1,
                reference=f"dep{deposit.pk}-1",
            )
            audit_deposit_created(actor, profile, deposit, route, parked)
    except IntegrityError:
        twin = Deposit.objects.in_entity(profile.entity_id).get(idempotency_key=key)
        if twin.request_hash != request_hash:
            raise IdempotencyKeyReused() from None
        return twin
    return _page_open(deposit, attempt, merchant, profile)


def _checkout(
    merchant: MerchantAccount, attempt: DepositAttempt, deposit: Deposit, profile: ClientProfile
) -> PspCheckout | None:
    """The PSP's page, asked for twice at most under the attempt's reference as key (a
    timed-out first call may have opened it: the second returns the same page)."""
    gateway = gateway_for(merchant)
    for _turn in range(2):
        try:
            return gateway.checkout_create(
                reference=attempt.reference,
                amount=deposit.amount,
                currency=deposit.currency,
                method=deposit.method.code,
                customer={"id": profile.pk, "country": profile.residence_country},
                return_url=deposit.return_url,
                idempotency_key=attempt.reference,
            )
        except (UpstreamTimeout, UpstreamUnavailable):
            continue
    return None


def _page_open(
    deposit: Deposit, attempt: DepositAttempt, merchant: MerchantAccount, profile: ClientProfile
) -> Deposit:
    def failed(code: str) -> Deposit:
        alternatives = [
            method
            for method in local_alternatives(
                entity_id=deposit.entity_id,
                country=profile.residence_country,
                currency=deposit.currency,
                amount=deposit.amount,
            )
            if method != deposit.method.code
        ]
        return _deposit_set(deposit, Deposit.Status.FAILED, code=code, alternatives=alternatives)

    try:
        checkout = _checkout(merchant, attempt, deposit, profile)
    except PspRefused as exc:
        _attempt_set(attempt, DepositAttempt.Status.DECLINED, code=exc.code, category="hard")
        return failed(exc.code)
    if checkout is None:
        _attempt_set(attempt, DepositAttempt.Status.UNKNOWN, code="no_answer", category="soft")
        return failed("psp_unavailable")
    with transaction.atomic():
        moved = (
            Deposit.objects.in_entity(deposit.entity_id)
            .filter(pk=deposit.pk, status=Deposit.Status.PROCESSING)
            .update(status=Deposit.Status.AWAITING_PAYER, redirect_url=checkout.url)
        )
        if moved:
            _deposit_audit(deposit, Deposit.Status.AWAITING_PAYER, "", None)
    return Deposit.objects.in_entity(deposit.entity_id).get(pk=deposit.pk)


def deposit_payer_declined(*, deposit_id: int, code: str) -> None:
    """The PSP's webhook says the hosted-page payment was declined (a failed one-time code, a
    refused card): the deposit is declined with the PSP's code. Runs in the webhook's
    transaction; a deposit that is no longer waiting for its payer is left as it is."""
    rows = Deposit.objects.unscoped().filter(pk=deposit_id, status=Deposit.Status.AWAITING_PAYER)
    deposit = rows.first()
    if deposit is not None and rows.update(status=Deposit.Status.DECLINED, decline_code=code[:40]):
        _deposit_audit(deposit, Deposit.Status.DECLINED, code, None)
