"""Money between wallets and trading accounts: the ledger and the server agree, whatever
the server answers (docs/adr/0008). Both connectors, against the simulator process."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

import pytest

from brokercrm.idempotency import IdempotencyKeyReused
from platforms.connectors import InsufficientMargin, LoginNotFound
from platforms.connectors.base import operation_comment
from platforms.models import TradingAccount, TradingTransfer
from platforms.services import (
    platform_ledger_account,
    trading_account_open,
    trading_transfer_create,
    trading_transfers_pending_resolve,
)
from wallets.models import JournalEntry, LedgerAccount
from wallets.services import InsufficientFunds, wallet_open
from wallets.tests.factories import assert_ledger_sound, fund

from .conftest import Desk
from .factories import client_of, sim_admin


@pytest.fixture
def funded(desk: Desk) -> tuple[TradingAccount, LedgerAccount]:
    """An enabled live account and the client's USD wallet holding 1,000."""
    profile = client_of(desk.brand)
    account = trading_account_open(
        actor=desk.retention, profile=profile, account_type="pro", currency="USD"
    )
    wallet = wallet_open(profile=profile, currency="USD")
    fund(wallet, "1000.00")
    return account, wallet


def _balances(account: TradingAccount, wallet: LedgerAccount) -> tuple[Decimal, Decimal]:
    wallet.refresh_from_db()
    return wallet.balance, platform_ledger_account(account).balance


def _deals_with(desk: Desk, operation_id: Any) -> list[Any]:
    comment = operation_comment(str(operation_id))
    deals, cursor = [], None
    while True:
        page = desk.platform.deals_page(cursor, 10_000)
        deals += [deal for deal in page.items if deal.comment == comment]
        if page.next_cursor is None:
            return deals
        cursor = page.next_cursor


def test_deposit_and_withdrawal_keep_ledger_and_server_in_step(desk: Desk, funded: Any) -> None:
    account, wallet = funded

    deposit = trading_transfer_create(
        actor=desk.finance,
        account=account,
        direction="deposit",
        amount="400.00",
        idempotency_key="dep-1",
    )
    withdrawal = trading_transfer_create(
        actor=desk.finance,
        account=account,
        direction="withdrawal",
        amount="150.50",
        idempotency_key="wd-1",
    )

    assert (deposit.status, withdrawal.status) == ("completed", "completed")
    assert desk.platform.user_get(account.login).balance == Decimal("249.50")
    # The wallet paid 400 and got 150.50 back; the server's ledger account holds the rest.
    assert _balances(account, wallet) == (Decimal("750.50"), Decimal("249.50"))
    for transfer in (deposit, withdrawal):
        assert len(_deals_with(desk, transfer.operation_id)) == 1
        journal = JournalEntry.objects.unscoped().get(pk=transfer.journal_id)
        assert (journal.type, journal.idempotency_key) == (
            "platform_transfer",
            f"platform:{transfer.operation_id}",
        )
    account.refresh_from_db()
    assert account.balance == Decimal("249.50")
    assert_ledger_sound(desk.entity)


def test_a_repeat_returns_the_first_transfer_and_a_reused_key_is_refused(
    desk: Desk, funded: Any
) -> None:
    account, wallet = funded
    first = trading_transfer_create(
        actor=desk.finance,
        account=account,
        direction="deposit",
        amount="10.00",
        idempotency_key="dep-2",
    )
    again = trading_transfer_create(
        actor=desk.finance,
        account=account,
        direction="deposit",
        amount="10.00",
        idempotency_key="dep-2",
    )
    assert again.pk == first.pk
    with pytest.raises(IdempotencyKeyReused):
        trading_transfer_create(
            actor=desk.finance,
            account=account,
            direction="deposit",
            amount="11.00",
            idempotency_key="dep-2",
        )
    assert desk.platform.user_get(account.login).balance == Decimal("10.00")
    assert _balances(account, wallet) == (Decimal("990.00"), Decimal("10.00"))


def test_an_answer_lost_after_the_server_applied_is_found_by_operation_id(
    desk: Desk, funded: Any, shared_sim: Any
) -> None:
    account, wallet = funded
    sim_admin(shared_sim.url, "faults", {"drop_after_apply": 1})

    transfer = trading_transfer_create(
        actor=desk.finance,
        account=account,
        direction="deposit",
        amount="300.00",
        idempotency_key="dep-lost",
    )

    assert transfer.status == "completed"
    assert len(_deals_with(desk, transfer.operation_id)) == 1  # applied once
    assert desk.platform.user_get(account.login).balance == Decimal("300.00")
    assert _balances(account, wallet) == (Decimal("700.00"), Decimal("300.00"))
    assert_ledger_sound(desk.entity)


def test_an_unknown_outcome_stays_pending_until_the_server_answers(
    desk: Desk, funded: Any, shared_sim: Any
) -> None:
    account, wallet = funded
    # Both attempts of the connector are dropped before the server applies them.
    sim_admin(shared_sim.url, "faults", {"drop_before_apply": 2})
    transfer = trading_transfer_create(
        actor=desk.finance,
        account=account,
        direction="deposit",
        amount="120.00",
        idempotency_key="dep-unknown",
    )
    assert (transfer.status, transfer.error_code) == ("pending", "platform_timeout")
    # The wallet has paid (the journal came first); the server has not been credited yet.
    assert _balances(account, wallet) == (Decimal("880.00"), Decimal("120.00"))

    assert trading_transfers_pending_resolve(older_than_seconds=0) == {
        "completed": 1,
        "refused": 0,
        "pending": 0,
    }
    transfer.refresh_from_db()
    assert (transfer.status, transfer.attempts) == ("completed", 2)
    assert len(_deals_with(desk, transfer.operation_id)) == 1
    assert desk.platform.user_get(account.login).balance == Decimal("120.00")
    assert_ledger_sound(desk.entity)


def test_a_withdrawal_beyond_free_margin_is_refused_and_moves_nothing(
    desk: Desk, funded: Any
) -> None:
    account, wallet = funded
    trading_transfer_create(
        actor=desk.finance,
        account=account,
        direction="deposit",
        amount="100.00",
        idempotency_key="dep-3",
    )
    with pytest.raises(InsufficientMargin):
        trading_transfer_create(
            actor=desk.finance,
            account=account,
            direction="withdrawal",
            amount="100.01",
            idempotency_key="wd-too-much",
        )
    refused = TradingTransfer.objects.unscoped().get(idempotency_key="wd-too-much")
    assert (refused.status, refused.error_code, refused.journal_id) == (
        "failed",
        "insufficient_margin",
        None,
    )
    assert _balances(account, wallet) == (Decimal("900.00"), Decimal("100.00"))
    assert_ledger_sound(desk.entity)


def test_a_deposit_the_server_refuses_is_reversed_in_the_ledger(desk: Desk, funded: Any) -> None:
    account, wallet = funded
    TradingAccount.objects.unscoped().filter(pk=account.pk).update(login=999_999_999)
    account.refresh_from_db()

    with pytest.raises(LoginNotFound):
        trading_transfer_create(
            actor=desk.finance,
            account=account,
            direction="deposit",
            amount="50.00",
            idempotency_key="dep-refused",
        )

    refused = TradingTransfer.objects.unscoped().get(idempotency_key="dep-refused")
    assert (refused.status, refused.error_code) == ("reversed", "login_not_found")
    reversal = JournalEntry.objects.unscoped().get(pk=refused.reversal_id)
    assert reversal.reverses_id == refused.journal_id
    assert _balances(account, wallet) == (Decimal("1000.00"), Decimal("0"))
    assert_ledger_sound(desk.entity)


def test_a_wallet_without_the_money_is_refused_before_anything_is_written(
    desk: Desk, funded: Any
) -> None:
    account, _wallet = funded
    journals = JournalEntry.objects.unscoped().count()
    with pytest.raises(InsufficientFunds):
        trading_transfer_create(
            actor=desk.finance,
            account=account,
            direction="deposit",
            amount="1000.01",
            idempotency_key="dep-broke",
        )
    assert TradingTransfer.objects.unscoped().count() == 0
    assert JournalEntry.objects.unscoped().count() == journals
    assert desk.platform.user_get(account.login).balance == Decimal("0.00")
