"""Transfers a client confirms: quoted first (rate, both amounts, an expiry), executed at
exactly the quoted rate under the client's idempotency key.

- wallet → wallet of the same client, converted through FX when the currencies differ
  (`wallets.services.wallet_transfer` with the quoted rate);
- wallet → trading account and back (`trading_transfer_create`). When the wallet's currency is
  not the account's, the money passes through the client's wallet in the account's currency:
  into a trading account, the conversion is posted first (at the quoted rate) and the account
  funded with what it bought, cut to the server's cents (a fraction of a cent stays in that
  wallet, the client's); out of one, the server pays into that wallet and the conversion
  follows. A deposit the server refuses reverses both journals, so nothing is left converted.

A quote moves money at most once: the journal or trading transfer it makes is keyed by the
quote's token. The client's key is bound to the quote that executed under it, so the same key
again returns that result and the key with another quote is refused."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta
from decimal import ROUND_DOWN, Decimal
from typing import TYPE_CHECKING, Any

from django.conf import settings
from django.utils import timezone

from brokercrm.errors import ApplicationError, Conflict, NotFound, ValidationFailed
from brokercrm.gate import require
from brokercrm.money import money
from brokercrm.reference import CURRENCY_MINOR_UNITS
from entities.selectors import entity_get, wallet_currencies
from platforms.models import AccountType, TradingAccount, TradingTransfer, TransferQuote
from wallets.services import (
    InsufficientFunds,
    WalletClosed,
    fx_converted,
    fx_quote,
)

from .common import AccountNotActive
from .funding import _FUNDABLE

if TYPE_CHECKING:
    from wallets.models import LedgerAccount

Kind = TransferQuote.Kind


class QuoteExpired(ApplicationError):
    code = "quote_expired"
    default_detail = "The quote has expired: ask for a new one and confirm it in time."


class QuoteUsed(Conflict):
    code = "quote_used"
    default_detail = "This quote was already confirmed under another idempotency key."


class TransferRefused(Conflict):
    code = "transfer_refused"
    default_detail = "The trading server refused the transfer; no money moved."


def quote_seconds() -> int:
    return int(getattr(settings, "TRANSFER_QUOTE_SECONDS", 60))


@dataclass(frozen=True)
class Endpoint:
    """One side of a transfer: a client wallet or a trading account."""

    wallet: LedgerAccount | None = None
    account: TradingAccount | None = None

    @property
    def row(self) -> Any:
        return self.wallet if self.wallet is not None else self.account

    @property
    def currency(self) -> str:
        return self.row.currency


def _kind(source: Endpoint, target: Endpoint) -> str:
    if source.wallet is not None and target.wallet is not None:
        return Kind.WALLET_TO_WALLET
    if source.wallet is not None and target.account is not None:
        return Kind.WALLET_TO_ACCOUNT
    if source.account is not None and target.wallet is not None:
        return Kind.ACCOUNT_TO_WALLET
    raise ValidationFailed(
        "Move money between two trading accounts through your wallet.",
        code="transfer_kind_invalid",
    )


def transfer_perm(kind: str) -> str:
    return (
        "wallets.transfer_ledgeraccount"
        if kind == Kind.WALLET_TO_WALLET
        else "platforms.fund_tradingaccount"
    )


def _checked_amount(value: Any, source: Endpoint, target: Endpoint, kind: str) -> Decimal:
    amount = money(value)
    if amount <= 0:
        raise ValidationFailed("The amount must be above zero.", code="amount_invalid")
    places = CURRENCY_MINOR_UNITS.get(source.currency, 2)
    if kind != Kind.WALLET_TO_WALLET:
        places = min(places, 2)  # what trading servers take
    if amount != amount.quantize(Decimal(1).scaleb(-places)):
        raise ValidationFailed(
            f"{source.currency} amounts have at most {places} decimal places here.",
            code="amount_invalid",
        )
    return amount


def _check_endpoints(source: Endpoint, target: Endpoint, kind: str, amount: Decimal) -> None:
    if source.row.entity_id != target.row.entity_id or (
        source.row.profile_id != target.row.profile_id
    ):
        raise NotFound("No such record.", code="not_found")
    if kind == Kind.WALLET_TO_WALLET and source.wallet.pk == target.wallet.pk:
        raise ValidationFailed("Source and target are the same wallet.", code="same_wallet")
    if target.wallet is not None and target.wallet.closed_at is not None:
        raise WalletClosed(f"Your {target.currency} wallet is closed: it takes no money in.")
    account = source.account or target.account
    if account is not None:
        wallet = source.wallet or target.wallet
        if wallet.currency != account.currency and account.currency not in wallet_currencies(
            entity_get(account.entity_id)
        ):
            raise ValidationFailed(
                f"Trading account {account.login} is in {account.currency}, a currency this "
                "entity keeps no wallets in: it is funded in that currency only.",
                code="currency_mismatch",
            )
        if account.account_type == AccountType.DEMO:
            raise ValidationFailed(
                "Demo accounts are not funded from wallets.", code="demo_account"
            )
        direction = (
            TradingTransfer.Direction.DEPOSIT
            if kind == Kind.WALLET_TO_ACCOUNT
            else TradingTransfer.Direction.WITHDRAWAL
        )
        if account.status not in _FUNDABLE[direction]:
            raise AccountNotActive(
                f"The trading account is {account.get_status_display().lower()}: "
                f"no {direction} now."
            )
    if source.wallet is not None and source.wallet.available < amount:
        raise InsufficientFunds(
            f"Your {source.currency} wallet has {source.wallet.available:.2f} available."
        )


def transfer_quote_create(
    *, actor: Any, source: Endpoint, target: Endpoint, amount: Any
) -> TransferQuote:
    """Quote a transfer between two of one client's wallets and trading accounts: the rate,
    what leaves the source and what reaches the target, valid for `quote_seconds()`."""
    kind = _kind(source, target)
    require(actor, transfer_perm(kind), source.row, detail="You may not move this client's money.")
    require(actor, transfer_perm(kind), target.row, detail="You may not move this client's money.")
    amount = _checked_amount(amount, source, target, kind)
    _check_endpoints(source, target, kind, amount)
    rate, fx, to_amount = Decimal(1), {}, amount
    if source.currency != target.currency:
        found = fx_quote(
            entity=entity_get(source.row.entity_id),
            base=source.currency,
            quote=target.currency,
        )
        rate, to_amount = found.rate, fx_converted(amount, found.rate)
        if kind == Kind.WALLET_TO_ACCOUNT:  # trading servers take cents
            to_amount = to_amount.quantize(Decimal("0.01"), rounding=ROUND_DOWN)
        fx = {
            "mid": str(found.mid),
            "markup_bps": found.markup_bps,
            "source": found.source,
            "as_of": found.as_of,
        }
        if to_amount <= 0:
            raise ValidationFailed("The amount is too small to convert.", code="amount_invalid")
    return TransferQuote.objects.create(
        entity_id=source.row.entity_id,
        profile_id=source.row.profile_id,
        kind=kind,
        source_wallet=source.wallet,
        source_account=source.account,
        target_wallet=target.wallet,
        target_account=target.account,
        from_amount=amount,
        from_currency=source.currency,
        to_amount=to_amount,
        to_currency=target.currency,
        rate=rate,
        fx=fx,
        expires_at=timezone.now() + timedelta(seconds=quote_seconds()),
    )
