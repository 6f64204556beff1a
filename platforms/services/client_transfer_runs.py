"""Executing a client's quoted transfer: exactly once, at the quoted rate, under the
client's idempotency key (see `client_transfers` for the quote and what each kind does).
A conversion into a trading account is posted before the server is funded and reversed
when the server refuses; out of one, the server pays first and the conversion follows."""

from __future__ import annotations

from decimal import Decimal
from typing import TYPE_CHECKING, Any

from django.db import IntegrityError, transaction
from django.utils import timezone

from audit.services import audit_record
from brokercrm.errors import ApplicationError, Conflict
from brokercrm.gate import require
from brokercrm.idempotency import IdempotencyKeyReused, idempotency_key_checked
from identity.selectors import profile_get
from platforms.connectors import PlatformRefused
from platforms.models import TradingAccount, TradingTransfer, TransferQuote
from wallets.selectors import journal_by_key, journal_is_reversed
from wallets.services import (
    FxQuote,
    WalletClosed,
    journal_reverse,
    wallet_open,
    wallet_transfer,
)

from .. import audit_actions as actions
from .client_transfers import QuoteExpired, QuoteUsed, transfer_perm
from .funding import trading_transfer_create

if TYPE_CHECKING:
    from wallets.models import JournalEntry, LedgerAccount

Kind = TransferQuote.Kind


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
    require(actor, transfer_perm(quote.kind), quote, detail="You may not move this client's money.")
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
        action=actions.CLIENT_TRANSFER_EXECUTED,
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
