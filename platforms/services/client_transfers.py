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
from django.db import IntegrityError, transaction
from django.utils import timezone

from audit.services import audit_record
from brokercrm.errors import ApplicationError, Conflict, NotFound, ValidationFailed
from brokercrm.gate import require
from brokercrm.idempotency import IdempotencyKeyReused, idempotency_key_checked
from brokercrm.money import money
from brokercrm.reference import CURRENCY_MINOR_UNITS
from entities.selectors import entity_get, wallet_currencies
from identity.selectors import profile_get
from platforms.connectors import PlatformRefused
from platforms.models import AccountType, TradingAccount, TradingTransfer, TransferQuote
from wallets.selectors import journal_by_key, journal_is_reversed
from wallets.services import (
    FxQuote,
    InsufficientFunds,
    WalletClosed,
    fx_converted,
    fx_quote,
    journal_reverse,
    wallet_open,
    wallet_transfer,
)

from .common import AccountNotActive
from .funding import _FUNDABLE, trading_transfer_create

if TYPE_CHECKING:
    from wallets.models import JournalEntry, LedgerAccount

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


def _perm(kind: str) -> str:
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
    require(actor, _perm(kind), source.row, detail="You may not move this client's money.")
    require(actor, _perm(kind), target.row, detail="You may not move this client's money.")
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


def _quote_for_update(quote: TransferQuote) -> TransferQuote:
    return (
        TransferQuote.objects.in_entity(quote.entity_id)
        .select_for_update(of=("self",))
        .select_related("source_wallet", "target_wallet", "source_account", "target_account")
        .get(pk=quote.pk)
    )


def _bound_elsewhere(quote: TransferQuote, key: str) -> None:
    """Refuse a key already bound to another quote, or a quote bound to another key."""
    other = (
        TransferQuote.objects.in_entity(quote.entity_id)
        .filter(idempotency_key=key)
        .exclude(pk=quote.pk)
        .exists()
    )
    if other:
        raise IdempotencyKeyReused("This idempotency key was already used for another transfer.")
    if quote.idempotency_key and quote.idempotency_key != key:
        raise QuoteUsed()


def _ledger_key(quote: TransferQuote) -> str:
    return f"quote:{quote.token}"


def _moved(quote: TransferQuote) -> bool:
    """Whether the quote's money already moved (an earlier attempt that did not finish)."""
    if quote.kind == Kind.WALLET_TO_WALLET:
        return (
            journal_by_key(entity_id=quote.entity_id, idempotency_key=_ledger_key(quote))
            is not None
        )
    if _converts_in(quote) and (
        journal_by_key(entity_id=quote.entity_id, idempotency_key=_fx_key(quote)) is not None
    ):
        return True
    return (
        TradingTransfer.objects.in_entity(quote.entity_id)
        .filter(idempotency_key=_ledger_key(quote))
        .exists()
    )


def _fx_key(quote: TransferQuote) -> str:
    return f"quote:{quote.token}:fx"


def _converts_in(quote: TransferQuote) -> bool:
    """A wallet → account transfer across currencies: converted before the account is funded."""
    return quote.kind == Kind.WALLET_TO_ACCOUNT and quote.from_currency != quote.to_currency


def _account_wallet(quote: TransferQuote, account: TradingAccount) -> LedgerAccount:
    """The client's wallet in the trading account's currency, opened when missing."""
    return wallet_open(profile=profile_get(quote.profile_id), currency=account.currency)


def _convert(
    actor: Any, quote: TransferQuote, source: LedgerAccount, target: LedgerAccount, amount: Decimal
) -> JournalEntry:
    """The quote's conversion between two of the client's wallets, at exactly its rate."""
    return wallet_transfer(
        actor=actor,
        source=source,
        target=target,
        amount=amount,
        idempotency_key=_fx_key(quote),
        fx=_fx_of(quote),
        reference=f"quote:{quote.pk}",
    )


class QuoteUndone(Conflict):
    code = "quote_undone"
    default_detail = (
        "The trading server refused this transfer and its conversion was reversed: ask for a "
        "new quote."
    )


def _refuse_if_undone(quote: TransferQuote, key: str) -> None:
    """A quote whose conversion was reversed moves nothing again."""
    journal = journal_by_key(entity_id=quote.entity_id, idempotency_key=_fx_key(quote))
    if journal is not None and journal_is_reversed(journal):
        _unbind(quote, key)
        raise QuoteUndone()


def _conversion_undo(quote: TransferQuote, reason: str) -> None:
    journal = journal_by_key(entity_id=quote.entity_id, idempotency_key=_fx_key(quote))
    if journal is not None and not journal_is_reversed(journal):
        journal_reverse(actor=None, journal=journal, reason=reason)


def transfer_execute(*, actor: Any, quote: TransferQuote, idempotency_key: str) -> TransferQuote:
    """Execute a quote at exactly its rate and amounts. The same key again returns the first
    result; the key with another quote, a quote confirmed under another key, or an expired
    quote are refused and move nothing."""
    require(actor, _perm(quote.kind), quote, detail="You may not move this client's money.")
    key = idempotency_key_checked(idempotency_key)
    if quote.idempotency_key == key and quote.executed_at is not None:
        return quote
    _bound_elsewhere(quote, key)
    if not _moved(quote) and timezone.now() >= quote.expires_at:
        raise QuoteExpired(
            f"The quote expired at {quote.expires_at.isoformat()}: ask for a new one."
        )
    if quote.kind == Kind.WALLET_TO_WALLET:
        return _execute_between_wallets(actor=actor, quote=quote, key=key)
    return _execute_with_account(actor=actor, quote=quote, key=key)


def _fx_of(quote: TransferQuote) -> FxQuote | None:
    if quote.from_currency == quote.to_currency:
        return None
    return FxQuote(
        base=quote.from_currency,
        quote=quote.to_currency,
        mid=Decimal(quote.fx.get("mid", quote.rate)),
        markup_bps=int(quote.fx.get("markup_bps", 0)),
        rate=quote.rate,
        source=str(quote.fx.get("source", "")),
        as_of=str(quote.fx.get("as_of", "")),
    )


def _audit_executed(actor: Any, quote: TransferQuote) -> None:
    audit_record(
        actor=actor,
        action="platforms.client_transfer_executed",
        entity=quote.entity_id,
        obj=quote,
        after={
            "kind": quote.kind,
            "from": f"{quote.from_amount} {quote.from_currency}",
            "to": f"{quote.to_amount} {quote.to_currency}",
            "rate": quote.rate,
            "journal": quote.journal_id,
            "trading_transfer": quote.trading_transfer_id,
        },
    )


def _execute_between_wallets(*, actor: Any, quote: TransferQuote, key: str) -> TransferQuote:
    try:
        with transaction.atomic(durable=True):
            quote = _quote_for_update(quote)
            if quote.idempotency_key == key and quote.executed_at is not None:
                return quote
            _bound_elsewhere(quote, key)
            journal = wallet_transfer(
                actor=actor,
                source=quote.source_wallet,
                target=quote.target_wallet,
                amount=quote.from_amount,
                idempotency_key=_ledger_key(quote),
                fx=_fx_of(quote),
                reference=f"quote:{quote.pk}",
            )
            quote.idempotency_key = key
            quote.executed_at = timezone.now()
            quote.journal = journal
            quote.save(update_fields=["idempotency_key", "executed_at", "journal"])
            _audit_executed(actor, quote)
    except IntegrityError as exc:
        # The key was bound to another quote by a concurrent request.
        raise IdempotencyKeyReused() from exc
    return quote


def _bind(quote: TransferQuote, key: str) -> TransferQuote:
    try:
        with transaction.atomic(durable=True):
            quote = _quote_for_update(quote)
            _bound_elsewhere(quote, key)
            if not quote.idempotency_key:
                quote.idempotency_key = key
                quote.save(update_fields=["idempotency_key"])
    except IntegrityError as exc:
        raise IdempotencyKeyReused() from exc
    return quote


def _execute_with_account(*, actor: Any, quote: TransferQuote, key: str) -> TransferQuote:
    target = quote.target_wallet
    if target is not None and target.closed_at is not None:
        raise WalletClosed(f"Your {target.currency} wallet is closed: it takes no money in.")
    # The server call cannot sit inside a transaction: the key is bound first, so a second
    # key for the same quote is refused while this one is under way.
    quote = _bind(quote, key)
    deposit = quote.kind == Kind.WALLET_TO_ACCOUNT
    account = quote.target_account if deposit else quote.source_account
    conversion = None
    if _converts_in(quote):
        _refuse_if_undone(quote, key)
        try:
            conversion = _convert(
                actor,
                quote,
                quote.source_wallet,
                _account_wallet(quote, account),
                quote.from_amount,
            )
        except ApplicationError:
            _unbind(quote, key)  # the wallet no longer covers it: nothing moved
            raise
    refused = "The trading server refused the deposit the conversion was for."
    try:
        transfer = trading_transfer_create(
            actor=actor,
            account=account,
            direction=TradingTransfer.Direction.DEPOSIT
            if deposit
            else TradingTransfer.Direction.WITHDRAWAL,
            amount=quote.to_amount if deposit else quote.from_amount,
            idempotency_key=_ledger_key(quote),
        )
    except PlatformRefused:
        transfer = (
            TradingTransfer.objects.in_entity(quote.entity_id)
            .filter(idempotency_key=_ledger_key(quote))
            .first()
        )
        _conversion_undo(quote, refused)
        if transfer is None:
            _unbind(quote, key)
            raise
    except ApplicationError:
        recorded = (
            TradingTransfer.objects.in_entity(quote.entity_id)
            .filter(idempotency_key=_ledger_key(quote))
            .exists()
        )
        if not recorded:  # refused before the transfer was written: nothing stays moved
            _conversion_undo(quote, refused)
            _unbind(quote, key)
        raise
    if (
        not deposit
        and quote.from_currency != quote.to_currency
        and transfer.status == TradingTransfer.Status.COMPLETED
    ):
        # The server paid into the wallet in the account's currency; convert at the quote.
        conversion = _convert(actor, quote, transfer.wallet, quote.target_wallet, quote.from_amount)
    elif not deposit and quote.from_currency != quote.to_currency:
        return quote  # the server's answer is not known yet: the same request again finishes
    with transaction.atomic(durable=True):
        quote = _quote_for_update(quote)
        if quote.executed_at is None:
            quote.executed_at = timezone.now()
            quote.trading_transfer = transfer
            quote.journal_id = conversion.pk if conversion is not None else transfer.journal_id
            quote.save(update_fields=["executed_at", "trading_transfer", "journal"])
            _audit_executed(actor, quote)
    return quote


def _unbind(quote: TransferQuote, key: str) -> None:
    with transaction.atomic(durable=True):
        TransferQuote.objects.in_entity(quote.entity_id).filter(
            pk=quote.pk, idempotency_key=key, executed_at__isnull=True
        ).update(idempotency_key="")
