"""Reads of payments for a client's front end: the deposit methods open to them, and whether
(and why not) they may withdraw, with the rate a cross-currency payout would use."""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from datetime import UTC, datetime
from decimal import Decimal
from typing import TYPE_CHECKING, Any

from django.db.models import OuterRef, Prefetch, QuerySet, Subquery, Sum
from django.utils import timezone

from brokercrm.errors import ApplicationError
from brokercrm.money import minor_unit
from kyc.selectors import withdrawal_blocks
from wallets.selectors import client_wallet
from wallets.services import fx_quote

from .models import (
    BankAccount,
    Deposit,
    DepositAttempt,
    PaymentMethod,
    RoutingRule,
    Withdrawal,
    WithdrawalLeg,
)

if TYPE_CHECKING:
    from identity.models import ClientProfile


@dataclass(frozen=True)
class DepositMethod:
    code: str
    name: str
    kind: str
    currency: str
    min_amount: Decimal
    max_amount: Decimal | None  # None: no upper limit
    hosted_page: bool  # paid on the PSP's hosted page (cards) rather than by instrument


def deposit_methods(*, profile: ClientProfile, currency: str) -> list[DepositMethod]:
    """The methods a client of this entity and residence country can deposit `currency` with:
    those with an active route to an active merchant account, with the amount range the
    routes together accept."""
    country = profile.residence_country
    rules = (
        RoutingRule.objects.in_entity(profile.entity_id)
        .filter(active=True, currency=currency, targets__merchant_account__active=True)
        .select_related("method")
        .distinct()
        .order_by("method__code", "priority", "pk")
    )
    found: dict[str, list[RoutingRule]] = {}
    for rule in rules:
        if "*" not in rule.countries and country not in rule.countries:
            continue
        if not rule.method.available_in(country):
            continue
        found.setdefault(rule.method.code, []).append(rule)
    methods = []
    for rules_of_method in found.values():
        method = rules_of_method[0].method
        highs = [r.max_amount for r in rules_of_method]
        methods.append(
            DepositMethod(
                code=method.code,
                name=method.name,
                kind=method.kind,
                currency=currency,
                min_amount=min(r.min_amount for r in rules_of_method),
                max_amount=None if None in highs else max(h for h in highs if h is not None),
                hosted_page=method.kind == PaymentMethod.Kind.CARD,
            )
        )
    return methods


# --- withdrawals -------------------------------------------------------------------------------


@dataclass(frozen=True)
class Block:
    code: str
    detail: str
    until: datetime | None = None


@dataclass(frozen=True)
class Quote:
    base: str
    quote: str
    rate: Decimal
    mid: Decimal
    markup_bps: int
    source: str
    as_of: str


@dataclass
class Eligibility:
    currency: str
    payout_currency: str
    balance: Decimal = Decimal(0)
    available: Decimal = Decimal(0)
    card_refundable: Decimal = Decimal(0)
    bank_accounts: list[int] = field(default_factory=list)
    quote: Quote | None = None
    blocks: list[Block] = field(default_factory=list)

    @property
    def eligible(self) -> bool:
        return not self.blocks


_COOLING_OFF_END = re.compile(r"(\d{4}-\d{2}-\d{2} \d{2}:\d{2}) UTC")


def _until(block: Any) -> datetime | None:
    """When a time-bound block ends: the KYC block's own `until` where it carries one, else
    the end time its sentence gives."""
    until = getattr(block, "until", None)
    if until is not None:
        return until
    found = _COOLING_OFF_END.search(block.detail)
    if found is None:
        return None
    return datetime.strptime(found.group(1), "%Y-%m-%d %H:%M").replace(tzinfo=UTC)


def card_refundable(profile: ClientProfile, currency: str) -> Decimal:
    """What return-to-source would send back to cards: card deposits less card refunds."""
    deposited = Deposit.objects.in_entity(profile.entity_id).filter(
        profile=profile,
        currency=currency,
        method__kind=PaymentMethod.Kind.CARD,
        status__in=[Deposit.Status.CREDITED, Deposit.Status.PARKED],
    ).aggregate(total=Sum("amount"))["total"] or Decimal(0)
    refunded = WithdrawalLeg.objects.in_entity(profile.entity_id).filter(
        withdrawal__profile=profile,
        withdrawal__currency=currency,
        destination=WithdrawalLeg.Destination.CARD,
    ).exclude(status__in=[WithdrawalLeg.Status.FAILED, WithdrawalLeg.Status.VOIDED]).aggregate(
        total=Sum("amount")
    )["total"] or Decimal(0)
    return max(deposited - refunded, Decimal(0))


def withdrawal_eligibility(
    *,
    profile: ClientProfile,
    currency: str,
    payout_currency: str | None = None,
    amount: Decimal | None = None,
    now: datetime | None = None,
) -> Eligibility:
    """Every reason the client may not withdraw `currency` (paid out in `payout_currency`)
    now, each with a code, a sentence and, where it ends by itself, when; and the rate a
    cross-currency payout would use (the request is held to the same rate)."""
    from .services.withdrawals import bank_payout_merchant

    now = now or timezone.now()
    payout_currency = payout_currency or currency
    result = Eligibility(currency=currency, payout_currency=payout_currency)
    result.blocks = [
        Block(b.code, b.detail, _until(b)) for b in withdrawal_blocks(profile=profile, now=now)
    ]
    wallet = client_wallet(entity_id=profile.entity_id, profile_id=profile.pk, currency=currency)
    if wallet is None:
        result.blocks.append(Block("wallet_not_found", f"You have no {currency} wallet."))
        return result
    result.balance, result.available = wallet.balance, wallet.balance - wallet.held
    wanted = amount if amount is not None else result.available
    if result.available <= 0 or (amount is not None and amount > result.available):
        result.blocks.append(
            Block(
                "insufficient_funds",
                f"Your available {currency} balance is {result.available:.2f}.",
            )
        )
    result.card_refundable = card_refundable(profile, currency)
    if wanted > 0:
        to_bank = max(wanted - result.card_refundable, Decimal(0))
    else:
        # Nothing to withdraw yet: say now what the first withdrawal will need.
        to_bank = Decimal(0) if result.card_refundable else minor_unit(currency)
    accounts = BankAccount.objects.in_entity(profile.entity_id).filter(profile=profile)
    result.bank_accounts = list(accounts.filter(verified=True).values_list("pk", flat=True))
    if to_bank > 0 and not result.bank_accounts:
        if accounts.exists():
            result.blocks.append(
                Block(
                    "bank_account_unverified",
                    "Your bank account is not verified yet; we check it within a working day.",
                )
            )
        else:
            result.blocks.append(
                Block(
                    "bank_account_missing",
                    "Add a bank account in your own name: what cannot go back to your cards "
                    "is paid there.",
                )
            )
    if to_bank > 0:
        try:
            bank_payout_merchant(profile, payout_currency, to_bank)
        except ApplicationError:
            result.blocks.append(
                Block("no_route", f"We cannot pay out in {payout_currency} to your country.")
            )
    if payout_currency != currency:
        try:
            quote = fx_quote(entity=profile.entity_id, base=currency, quote=payout_currency)
        except ApplicationError:
            result.blocks.append(
                Block("fx_rate_missing", f"No exchange rate for {currency}/{payout_currency}.")
            )
        else:
            result.quote = Quote(
                quote.base,
                quote.quote,
                quote.rate,
                quote.mid,
                quote.markup_bps,
                quote.source,
                quote.as_of,
            )
    return result


# --- the client's own rows (portal pages) ------------------------------------------------------


def _dated(
    rows: QuerySet, currency: str, since: datetime | None, until: datetime | None
) -> QuerySet:
    if currency:
        rows = rows.filter(currency=currency)
    if since is not None:
        rows = rows.filter(created_at__gte=since)
    if until is not None:
        rows = rows.filter(created_at__lt=until)
    return rows


def client_deposits(
    *,
    entity_id: int,
    profile_id: int,
    currency: str = "",
    since: datetime | None = None,
    until: datetime | None = None,
) -> QuerySet[Deposit]:
    """The profile's deposits made in [since, until), newest first, with their method and
    latest attempt reference (`reference`)."""
    latest = (
        DepositAttempt.objects.unscoped()
        .filter(deposit_id=OuterRef("pk"))
        .order_by("-number")
        .values("reference")[:1]
    )
    rows = (
        Deposit.objects.in_entity(entity_id)
        .filter(profile_id=profile_id)
        .select_related("method")
        .annotate(reference=Subquery(latest))
        .order_by("-created_at", "-pk")
    )
    return _dated(rows, currency, since, until)


def client_deposit_by_reference(
    *, entity_id: int, profile_id: int, reference: str
) -> Deposit | None:
    """The profile's deposit one of whose attempts has this reference (None for anyone
    else's)."""
    if not reference:
        return None
    return (
        client_deposits(entity_id=entity_id, profile_id=profile_id)
        .filter(attempts__reference=reference)
        .first()
    )


def client_withdrawals(
    *,
    entity_id: int,
    profile_id: int,
    currency: str = "",
    since: datetime | None = None,
    until: datetime | None = None,
) -> QuerySet[Withdrawal]:
    """The profile's withdrawals requested in [since, until), newest first, with their legs in
    order (card refunds first, then the bank leg)."""
    legs = WithdrawalLeg.objects.unscoped().order_by("number").select_related("bank_account")
    rows = (
        Withdrawal.objects.in_entity(entity_id)
        .filter(profile_id=profile_id)
        .prefetch_related(Prefetch("legs", queryset=legs))
        .order_by("-created_at", "-pk")
    )
    return _dated(rows, currency, since, until)


def client_bank_accounts(*, entity_id: int, profile_id: int) -> QuerySet[BankAccount]:
    """The profile's payout bank accounts, newest first."""
    return BankAccount.objects.in_entity(entity_id).filter(profile_id=profile_id).order_by("-pk")


def client_bank_account(*, entity_id: int, profile_id: int, account_id: int) -> BankAccount | None:
    """One of the profile's bank accounts by id (None for anyone else's)."""
    return (
        client_bank_accounts(entity_id=entity_id, profile_id=profile_id)
        .filter(pk=account_id)
        .first()
    )
