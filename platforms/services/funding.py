"""Money between a client's wallet and their trading account (docs/adr/0008).

Both directions first commit a `TradingTransfer` with our operation id, under the caller's
idempotency key, then send the balance operation, then record its outcome. The source of the
money is always debited first:

- deposit (wallet → trading): the journal debiting the wallet is posted in the same
  transaction as the transfer row, so the money cannot be spent twice; then the server is
  credited. A refusal reverses the journal. An unknown outcome leaves the transfer pending.
- withdrawal (trading → wallet): the server is debited first (it refuses what the free margin
  does not cover); the journal crediting the wallet is posted in the transaction that marks
  the transfer completed. A refusal moves nothing.

A pending transfer is sent again with the same operation id (by a repeat of the request or by
the pending-transfers job) until the server answers for sure: the server applies an operation
id once, and a lost answer is found again by that id (the connector looks it up).
"""

from __future__ import annotations

import hashlib
import json
import logging
from datetime import timedelta
from decimal import Decimal
from typing import TYPE_CHECKING, Any

from django.db import IntegrityError, transaction
from django.utils import timezone

from audit.services import audit_record
from brokercrm.errors import ApplicationError, ValidationFailed
from brokercrm.gate import is_system, require
from brokercrm.idempotency import IdempotencyKeyReused, idempotency_key_checked
from brokercrm.money import money
from brokercrm.reference import CURRENCY_MINOR_UNITS
from identity.selectors import profile_get
from platforms.connectors import BalanceResult, PlatformError, PlatformRefused
from platforms.connectors.base import MAX_AMOUNT as MAX_SERVER_AMOUNT
from platforms.models import AccountType, TradingAccount, TradingTransfer
from wallets.choices import AccountKind, JournalType
from wallets.selectors import client_wallet, journal_get
from wallets.services import (
    InsufficientFunds,
    JournalSpec,
    Line,
    journal_post,
    journal_reverse,
    system_account,
    wallet_open,
)

from .. import audit_actions as actions
from .accounts import _refuse_if_blocked
from .common import (
    SYSTEM_LABEL,
    AccountMissingOnServer,
    AccountNotActive,
    actor_of,
    server_connector,
)
from .controls import account_missing_on_server

if TYPE_CHECKING:
    from wallets.models import LedgerAccount

logger = logging.getLogger(__name__)
_FUNDABLE = {
    TradingTransfer.Direction.DEPOSIT: (
        TradingAccount.Status.ENABLED,
        TradingAccount.Status.READ_ONLY,
    ),
    # Money may always come back to the wallet from an account that has a login.
    TradingTransfer.Direction.WITHDRAWAL: (
        TradingAccount.Status.ENABLED,
        TradingAccount.Status.READ_ONLY,
        TradingAccount.Status.DISABLED,
        TradingAccount.Status.CLOSED,
    ),
}


def platform_ledger_account(account: TradingAccount) -> LedgerAccount:
    """The entity's ledger account for money held on this trading server, in this currency:
    one per server, so the ledger can be reconciled against each server's balances."""
    return system_account(
        entity=account.entity_id,
        kind=AccountKind.PLATFORM_TRANSFER,
        currency=account.currency,
        name=f"server:{account.server_id}",
    )


def _amount(value: Any, currency: str) -> Decimal:
    amount = money(value)
    if amount >= MAX_SERVER_AMOUNT:
        raise ValidationFailed(
            "Trading servers take amounts below one billion.", code="amount_invalid"
        )
    places = min(CURRENCY_MINOR_UNITS.get(currency, 2), 2)
    if amount != amount.quantize(Decimal(1).scaleb(-places)):
        raise ValidationFailed(
            f"Trading servers take {currency} amounts with at most {places} decimal places.",
            code="amount_invalid",
        )
    return amount


def _client_wallet(account: TradingAccount, *, open_missing: bool) -> LedgerAccount:
    wallet = client_wallet(
        entity_id=account.entity_id, profile_id=account.profile_id, currency=account.currency
    )
    if wallet is None and open_missing:
        profile = profile_get(account.profile_id)
        wallet = wallet_open(profile=profile, currency=account.currency)
    if wallet is None:
        raise InsufficientFunds(f"The client has no {account.currency} wallet to pay from.")
    return wallet


def trading_transfer_create(
    *, actor: Any, account: TradingAccount, direction: str, amount: Any, idempotency_key: str
) -> TradingTransfer:
    """Move `amount` between the client's wallet in the account's currency and the account.
    Returns the transfer: completed, or pending while the server's answer is unknown. A
    refusal by the server is raised after it was recorded (and, for a deposit, reversed)."""
    require(
        actor,
        "platforms.fund_tradingaccount",
        account,
        detail="You may not move money for this trading account.",
    )
    if direction not in _FUNDABLE:
        raise ValidationFailed("direction is deposit or withdrawal.", code="direction_invalid")
    amount = _amount(amount, account.currency)
    key = idempotency_key_checked(idempotency_key)
    request_hash = hashlib.sha256(
        json.dumps([account.pk, direction, str(amount)]).encode()
    ).hexdigest()

    existing = (
        TradingTransfer.objects.in_entity(account.entity_id).filter(idempotency_key=key).first()
    )
    if existing is None:
        account = (
            TradingAccount.objects.in_entity(account.entity_id)
            .select_related("server")
            .get(pk=account.pk)
        )
        if account.account_type == AccountType.DEMO:
            raise ValidationFailed(
                "Demo accounts are not funded from wallets.", code="demo_account"
            )
        if account.status not in _FUNDABLE[direction]:
            raise AccountNotActive(
                f"The account is {account.get_status_display().lower()}: no {direction} now."
            )
        if account_missing_on_server(account):
            # A deposit would debit the wallet for a login that cannot be credited, and a
            # withdrawal has no server balance to come from: a person looks first.
            raise AccountMissingOnServer(
                f"Login {account.login} was not found on {account.server.name} by the last"
                f" reconcile: no {direction} until the control failure is resolved."
            )
        if direction == TradingTransfer.Direction.DEPOSIT:
            _refuse_if_blocked(profile_get(account.profile_id), demo=False)
        wallet = _client_wallet(
            account, open_missing=direction == TradingTransfer.Direction.WITHDRAWAL
        )
        try:
            existing = _transfer_start(
                actor=actor,
                account=account,
                wallet=wallet,
                direction=direction,
                amount=amount,
                key=key,
                request_hash=request_hash,
            )
        except IntegrityError:
            # The same key arrived twice at once: the other request holds it.
            existing = TradingTransfer.objects.in_entity(account.entity_id).get(idempotency_key=key)
    if existing.request_hash != request_hash:
        raise IdempotencyKeyReused()
    if existing.status != TradingTransfer.Status.PENDING:
        return existing
    return trading_transfer_send(transfer_id=existing.pk, raise_refusal=True)


def _transfer_start(
    *,
    actor: Any,
    account: TradingAccount,
    wallet: LedgerAccount,
    direction: str,
    amount: Decimal,
    key: str,
    request_hash: str,
) -> TradingTransfer:
    with transaction.atomic(durable=True):
        transfer = TradingTransfer.objects.create(
            entity_id=account.entity_id,
            account=account,
            wallet=wallet,
            direction=direction,
            amount=amount,
            currency=account.currency,
            idempotency_key=key,
            request_hash=request_hash,
            actor=actor_of(actor),
        )
        if direction == TradingTransfer.Direction.DEPOSIT:
            # The wallet pays first; InsufficientFunds rolls the transfer back with it.
            transfer.journal = journal_post(
                actor=actor,
                entity=account.entity_id,
                spec=_spec(transfer, account, wallet, -amount),
            )
            transfer.save(update_fields=["journal"])
        audit_record(
            actor=actor,
            actor_label=SYSTEM_LABEL if is_system(actor) else None,
            action=actions.TRANSFER_REQUESTED,
            entity=account.entity_id,
            obj=transfer,
            after={
                "account": account.pk,
                "login": account.login,
                "direction": direction,
                "amount": amount,
                "currency": account.currency,
                "operation_id": transfer.operation_id,
            },
        )
    return transfer


def _spec(
    transfer: TradingTransfer,
    account: TradingAccount,
    wallet: LedgerAccount,
    wallet_amount: Decimal,
) -> JournalSpec:
    """The journal of a transfer: the wallet against the server's ledger account."""
    return JournalSpec(
        type=JournalType.PLATFORM_TRANSFER,
        idempotency_key=f"platform:{transfer.operation_id}",
        lines=[Line(wallet, wallet_amount), Line(platform_ledger_account(account), -wallet_amount)],
        reference=f"trading:{account.server.server_name}:{account.login}",
        metadata={"transfer": transfer.pk, "direction": transfer.direction},
    )


def trading_transfer_send(*, transfer_id: int, raise_refusal: bool = False) -> TradingTransfer:
    """Send (or send again) a pending transfer's balance operation and record the outcome."""
    transfer = (
        TradingTransfer.objects.unscoped()
        .select_related("account__server", "wallet")
        .get(pk=transfer_id)
    )
    if transfer.status != TradingTransfer.Status.PENDING:
        return transfer
    account = transfer.account
    platform = server_connector(account.server)
    TradingTransfer.objects.in_entity(transfer.entity_id).filter(pk=transfer.pk).update(
        attempts=transfer.attempts + 1
    )
    try:
        result = platform.balance_operation(
            login=account.login,
            kind="deposit"
            if transfer.direction == TradingTransfer.Direction.DEPOSIT
            else "withdrawal",
            amount=transfer.amount.quantize(Decimal("0.01")),
            operation_id=str(transfer.operation_id),
        )
    except PlatformRefused as refused:
        _transfer_refused(transfer, refused)
        if raise_refusal:
            refused.extra = {**refused.extra, "transfer": transfer.pk}
            raise
        return TradingTransfer.objects.unscoped().get(pk=transfer.pk)
    except PlatformError as unknown:
        # Timeout or unreachable: the outcome is unknown until the server answers for sure.
        TradingTransfer.objects.in_entity(transfer.entity_id).filter(pk=transfer.pk).update(
            error_code=unknown.code, error_detail=unknown.detail[:1000]
        )
        return TradingTransfer.objects.unscoped().get(pk=transfer.pk)
    return _transfer_completed(transfer, result)


def _transfer_completed(transfer: TradingTransfer, result: BalanceResult) -> TradingTransfer:
    with transaction.atomic(durable=True):
        transfer = (
            TradingTransfer.objects.in_entity(transfer.entity_id)
            .select_for_update()
            .select_related("account__server", "wallet")
            .get(pk=transfer.pk)
        )
        if transfer.status != TradingTransfer.Status.PENDING:
            return transfer
        account = transfer.account
        if transfer.direction == TradingTransfer.Direction.WITHDRAWAL:
            transfer.journal = journal_post(
                actor=transfer.actor,
                entity=transfer.entity_id,
                spec=_spec(transfer, account, transfer.wallet, transfer.amount),
            )
        transfer.status = TradingTransfer.Status.COMPLETED
        transfer.server_ticket = result.ticket
        transfer.server_balance_after = result.new_balance
        transfer.completed_at = timezone.now()
        transfer.error_code = transfer.error_detail = ""
        transfer.save()
        # The balance the server reported with the operation; the next sync brings the rest.
        TradingAccount.objects.in_entity(account.entity_id).filter(pk=account.pk).update(
            balance=result.new_balance, credit=result.new_credit
        )
        audit_record(
            actor=transfer.actor,
            actor_label=None if transfer.actor_id else SYSTEM_LABEL,
            action=actions.TRANSFER_COMPLETED,
            entity=transfer.entity_id,
            obj=transfer,
            after={
                "login": account.login,
                "direction": transfer.direction,
                "amount": transfer.amount,
                "ticket": result.ticket,
                "server_balance": result.new_balance,
                "found_again": result.replayed,
                "journal": transfer.journal_id,
            },
        )
    return transfer


def _transfer_refused(transfer: TradingTransfer, refused: PlatformError) -> None:
    with transaction.atomic(durable=True):
        transfer = (
            TradingTransfer.objects.in_entity(transfer.entity_id)
            .select_for_update()
            .get(pk=transfer.pk)
        )
        if transfer.status != TradingTransfer.Status.PENDING:
            return
        if transfer.journal_id is not None:
            journal = journal_get(entity_id=transfer.entity_id, journal_id=transfer.journal_id)
            transfer.reversal = journal_reverse(
                actor=None,
                journal=journal,
                reason=f"The trading server refused the deposit: {refused.code}",
            )
            transfer.status = TradingTransfer.Status.REVERSED
        else:
            transfer.status = TradingTransfer.Status.FAILED
        transfer.error_code = refused.code[:50]
        transfer.error_detail = refused.detail[:1000]
        transfer.completed_at = timezone.now()
        transfer.save()
        audit_record(
            actor=None,
            actor_label=SYSTEM_LABEL,
            action=actions.TRANSFER_REFUSED,
            entity=transfer.entity_id,
            obj=transfer,
            after={
                "status": transfer.status,
                "code": refused.code,
                "detail": refused.detail,
                "reversal": transfer.reversal_id,
            },
        )


def trading_transfers_pending_resolve(*, older_than_seconds: int = 30) -> dict[str, int]:
    """Send pending transfers again until the server answers for sure (run every minute)."""
    cutoff = timezone.now() - timedelta(seconds=older_than_seconds)
    outcome = {"completed": 0, "refused": 0, "pending": 0}
    for transfer_id in (
        TradingTransfer.objects.unscoped()
        .filter(status=TradingTransfer.Status.PENDING, created_at__lt=cutoff)
        .order_by("pk")
        .values_list("pk", flat=True)
    ):
        try:
            transfer = trading_transfer_send(transfer_id=transfer_id)
        except ApplicationError as error:  # a misconfigured server: the others go on
            logger.warning("pending trading transfer %s: %s", transfer_id, error.as_dict())
            outcome["pending"] += 1
            continue
        if transfer.status == TradingTransfer.Status.COMPLETED:
            outcome["completed"] += 1
        elif transfer.status == TradingTransfer.Status.PENDING:
            outcome["pending"] += 1
        else:
            outcome["refused"] += 1
    return outcome
