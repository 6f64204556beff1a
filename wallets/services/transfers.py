"""Transfers and FX: rates recorded and quoted with the entity's markup, and wallet-to-wallet
transfers of one client, converted when the currencies differ."""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from django.utils import timezone

from brokercrm.errors import ValidationFailed
from brokercrm.gate import require
from brokercrm.money import QUANTUM, money, round_to
from brokercrm.reference import CURRENCY_MINOR_UNITS

from ..models import FxRate, JournalEntry, LedgerAccount
from .accounts import system_account
from .common import CrossEntityTransfer, WalletClosed
from .journals import JournalSpec, Line, journal_post


@dataclass(frozen=True)
class FxQuote:
    base: str
    quote: str
    mid: Decimal
    markup_bps: int
    rate: Decimal  # what the client gets: mid less the entity's markup
    source: str
    as_of: str


def fx_quote(*, entity: Any, base: str, quote: str) -> FxQuote:
    """The latest published rate for base→quote (or the inverse of quote→base), less the
    entity's markup from its wallet rules."""
    from entities.selectors import RuleSetMissing, ruleset_effective

    direct = FxRate.objects.filter(base=base, quote=quote).order_by("-as_of").first()
    inverse = FxRate.objects.filter(base=quote, quote=base).order_by("-as_of").first()
    if direct is None and inverse is None:
        raise ValidationFailed(f"No exchange rate for {base}/{quote}.", code="fx_rate_missing")
    if direct is not None and (inverse is None or direct.as_of >= inverse.as_of):
        mid, source, as_of = direct.rate, direct.source, direct.as_of
    else:
        mid, source, as_of = (Decimal(1) / inverse.rate), inverse.source, inverse.as_of
    try:
        markup = int(
            ruleset_effective(entity=entity, kind="wallet").document.get("fx_markup_bps", 0)
        )
    except RuleSetMissing:
        markup = 0
    rate = round_to(mid * (Decimal(10000 - markup) / Decimal(10000)), Decimal("1e-10"))
    return FxQuote(base, quote, mid, markup, rate, source, as_of.isoformat())


def fx_converted(amount: Decimal, rate: Decimal) -> Decimal:
    """What `amount` buys at `rate`: the one conversion quotes and transfers share."""
    return round_to(amount * rate, QUANTUM)


def wallet_transfer(
    *,
    actor: Any,
    source: LedgerAccount,
    target: LedgerAccount,
    amount: Any,
    idempotency_key: str,
    fx: FxQuote | None = None,
    reference: str = "",
) -> JournalEntry:
    """Wallet to wallet of the same client inside one entity; converts through FX when the
    currencies differ, recording both legs and the rate applied. With `fx` (a quote the
    client was shown) the conversion uses exactly that rate; without, the latest one."""
    require(
        actor,
        "wallets.transfer_ledgeraccount",
        source,
        detail="You may not move money between this client's wallets.",
    )
    amount = money(amount)
    if source.entity_id != target.entity_id:
        raise CrossEntityTransfer()
    if (
        source.kind != LedgerAccount.Kind.CLIENT_WALLET
        or target.kind != LedgerAccount.Kind.CLIENT_WALLET
    ):
        raise ValidationFailed("Transfers are between client wallets.", code="account_kind_invalid")
    if source.profile_id != target.profile_id:
        raise ValidationFailed(
            "Both wallets must belong to the same client.", code="wallet_owner_mismatch"
        )
    if source.pk == target.pk:
        raise ValidationFailed("Source and target are the same wallet.", code="same_wallet")
    if target.closed_at is not None:
        raise WalletClosed(f"The {target.currency} wallet is closed: it takes no money in.")
    if source.currency == target.currency:
        spec = JournalSpec(
            type=JournalEntry.Type.TRANSFER,
            idempotency_key=idempotency_key,
            lines=[Line(source, -amount), Line(target, amount)],
            reference=reference,
        )
    else:
        from entities.selectors import entity_get

        quote = fx or fx_quote(
            entity=entity_get(source.entity_id),
            base=source.currency,
            quote=target.currency,
        )
        if (quote.base, quote.quote) != (source.currency, target.currency):
            raise ValidationFailed(
                f"The rate is for {quote.base}/{quote.quote}, not "
                f"{source.currency}/{target.currency}.",
                code="fx_pair_mismatch",
            )
        converted = fx_converted(amount, quote.rate)
        if converted <= 0:
            raise ValidationFailed("The amount is too small to convert.", code="amount_invalid")
        fx_source = system_account(
            entity=source.entity_id, kind=LedgerAccount.Kind.FX_POSITION, currency=source.currency
        )
        fx_target = system_account(
            entity=source.entity_id, kind=LedgerAccount.Kind.FX_POSITION, currency=target.currency
        )
        spec = JournalSpec(
            type=JournalEntry.Type.FX_TRANSFER,
            idempotency_key=idempotency_key,
            reference=reference,
            lines=[
                Line(source, -amount),
                Line(fx_source, amount),
                Line(fx_target, -converted),
                Line(target, converted),
            ],
            metadata={
                "fx": {
                    "base": quote.base,
                    "quote": quote.quote,
                    "mid": str(quote.mid),
                    "markup_bps": quote.markup_bps,
                    "rate": str(quote.rate),
                    "source": quote.source,
                    "as_of": quote.as_of,
                },
                "sold": {"currency": source.currency, "amount": str(amount)},
                "bought": {"currency": target.currency, "amount": str(converted)},
            },
        )
    return journal_post(actor=actor, entity=source.entity_id, spec=spec)


def fx_rate_record(*, base: str, quote: str, rate: Any, source: str, as_of: Any = None) -> FxRate:
    if base not in CURRENCY_MINOR_UNITS or quote not in CURRENCY_MINOR_UNITS or base == quote:
        raise ValidationFailed("Give two different known currencies.", code="currency_unknown")
    return FxRate.objects.create(
        base=base,
        quote=quote,
        rate=money(rate, field_name="rate"),
        source=source[:40],
        as_of=as_of or timezone.now(),
    )
