"""Sync against the simulator process: the full reconcile writes only what changed, deals are
imported once, margin calls and stop-outs reach the client's timeline, and a sync cut off by
the server going away continues where it stopped."""

from __future__ import annotations

import uuid
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest

from audit.models import AuditEvent
from brokercrm.simulators import SimulatorProcess
from platforms.connectors import PlatformUnavailable
from platforms.models import Deal, SyncCursor, TradingAccount, TradingEvent
from platforms.services import sync as sync_module
from platforms.services import (
    sync_state,
    trading_account_open,
    trading_feed_poll,
    trading_server_reconcile,
    trading_transfer_create,
)
from wallets.services import wallet_open
from wallets.tests.factories import fund

from .conftest import Desk, make_desk
from .factories import client_of, sim_admin, start_simulator


def open_accounts(desk: Desk, count: int, **kwargs: Any) -> list[TradingAccount]:
    return [
        trading_account_open(
            actor=desk.retention,
            profile=client_of(desk.brand),
            account_type="pro",
            currency="USD",
            **kwargs,
        )
        for _ in range(count)
    ]


def deposit_on_server(desk: Desk, login: int, amount: str) -> None:
    """Money that reaches the server without the CRM (a dealer's manual operation)."""
    desk.platform.balance_operation(
        login=login, kind="deposit", amount=Decimal(amount), operation_id=str(uuid.uuid4())
    )


def test_a_full_reconcile_writes_only_the_rows_that_changed(desk: Desk) -> None:
    first, second, third = open_accounts(desk, 3)
    trading_server_reconcile(server_id=desk.server.pk)  # in line with the server
    synced_at = dict(TradingAccount.objects.unscoped().values_list("pk", "synced_at"))

    deposit_on_server(desk, first.login, "250.00")
    desk.platform.user_set_rights(second.login, "read_only")
    report = trading_server_reconcile(server_id=desk.server.pk, page_size=2)

    assert report.completed
    assert report.pages >= 2
    assert report.rows_written == 2
    rows = {a.pk: a for a in TradingAccount.objects.unscoped()}
    assert (rows[first.pk].balance, rows[first.pk].equity) == (Decimal("250.00"), Decimal("250.00"))
    assert rows[second.pk].server_rights == "read_only"
    assert rows[third.pk].synced_at == synced_at[third.pk]  # untouched
    assert rows[first.pk].synced_at > synced_at[first.pk]
    assert trading_server_reconcile(server_id=desk.server.pk).rows_written == 0
    state = SyncCursor.objects.unscoped().get(server=desk.server)
    assert (state.accounts_cursor, state.accounts_synced_at is not None) == ("", True)
    assert AuditEvent.objects.filter(action="platforms.reconcile_completed").count() == 3


def test_deals_are_imported_once_even_when_read_again(desk: Desk) -> None:
    (account,) = open_accounts(desk, 1)
    for amount in ("10.00", "20.00", "30.00"):
        deposit_on_server(desk, account.login, amount)

    first = trading_feed_poll(server_id=desk.server.pk, page_size=2)
    ours = Deal.objects.unscoped().filter(account=account).order_by("ticket")
    assert [(d.kind, d.profit) for d in ours] == [
        ("balance", Decimal("10.00")),
        ("balance", Decimal("20.00")),
        ("balance", Decimal("30.00")),
    ]
    assert first.deals_imported == Deal.objects.unscoped().count()

    # When the cursor is lost and the whole history is read again
    SyncCursor.objects.unscoped().filter(server=desk.server).update(deals_cursor="")
    again = trading_feed_poll(server_id=desk.server.pk)

    # Then every deal was seen and none was written twice
    assert (again.deals_seen, again.deals_imported) == (first.deals_seen, 0)
    assert Deal.objects.unscoped().count() == first.deals_imported
    assert trading_feed_poll(server_id=desk.server.pk).deals_seen == 0  # nothing new


@pytest.mark.parametrize("kind", ["mt5", "mt4"])
def test_a_margin_call_and_a_stop_out_are_logged_on_the_client_timeline(
    world: Any, fresh_sim: SimulatorProcess, kind: str
) -> None:
    desk = make_desk(world, kind, fresh_sim.url)
    (account,) = open_accounts(desk, 1, leverage=100)
    wallet = wallet_open(profile=account.profile, currency="USD")
    fund(wallet, "1000.00")
    trading_transfer_create(
        actor=desk.finance,
        account=account,
        direction="deposit",
        amount="1000.00",
        idempotency_key="dep",
    )
    position = sim_admin(
        fresh_sim.url,
        "positions",
        {
            "server": desk.server.server_name,
            "login": account.login,
            "symbol": "EURUSD",
            "side": "buy",
            "volume": 0.5,
        },
    )
    trading_feed_poll(server_id=desk.server.pk)

    sim_admin(fresh_sim.url, "shock", {"symbol": "EURUSD", "percent": -1})
    trading_feed_poll(server_id=desk.server.pk)
    sim_admin(fresh_sim.url, "shock", {"symbol": "EURUSD", "percent": -0.5})
    report = trading_feed_poll(server_id=desk.server.pk)

    events = list(TradingEvent.objects.unscoped().filter(account=account).order_by("seq"))
    assert [event.kind for event in events] == ["margin_call", "stop_out"]
    assert Decimal(events[0].payload["margin_level"]) < 100
    assert events[1].payload["closed_positions"] == [position["ticket"]]
    timeline = AuditEvent.objects.filter(
        object_type="identity.ClientProfile", object_id=str(account.profile_id)
    )
    logged = list(
        timeline.filter(action__in=["platforms.margin_call", "platforms.stop_out"])
        .order_by("seq")
        .values_list("action", "after__login")
    )
    assert logged == [
        ("platforms.margin_call", account.login),
        ("platforms.stop_out", account.login),
    ]
    close = Deal.objects.unscoped().filter(account=account, entry="out").get()
    assert (close.position, close.symbol) == (position["ticket"], "EURUSD")
    assert report.events_recorded == 1
    # Read again from the start: nothing is recorded or logged twice.
    SyncCursor.objects.unscoped().filter(server=desk.server).update(events_cursor="")
    assert trading_feed_poll(server_id=desk.server.pk).events_recorded == 0
    assert timeline.filter(action__startswith="platforms.").count() == 2


class _StopsTheServer:
    """A connector that stops the simulator process right after the first page it reads."""

    def __init__(self, real: Any, sim: SimulatorProcess, method: str) -> None:
        self.real, self.sim, self.method, self.calls = real, sim, method, 0

    def __getattr__(self, name: str) -> Any:
        attribute = getattr(self.real, name)
        if name != self.method:
            return attribute

        def read(*args: Any, **kwargs: Any) -> Any:
            page = attribute(*args, **kwargs)
            self.calls += 1
            if self.calls == 1:
                assert self.sim.process is not None
                self.sim.process.kill()
                self.sim.process.wait()
            return page

        return read


@pytest.mark.parametrize("kind", ["mt5", "mt4"])
def test_a_sync_cut_off_by_the_server_continues_after_its_restart_without_duplicates(
    world: Any, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, kind: str
) -> None:
    state_file = tmp_path / "sim.sqlite3"
    sim = start_simulator(state_file)
    try:
        desk = make_desk(world, kind, sim.url)
        accounts = open_accounts(desk, 5)
        for n, account in enumerate(accounts, start=1):
            deposit_on_server(desk, account.login, f"{n}00.00")
        real = sync_module.server_connector

        # When the server goes away after the first page of a full reconcile
        monkeypatch.setattr(
            sync_module,
            "server_connector",
            lambda server: _StopsTheServer(real(server), sim, "accounts_page"),
        )
        with pytest.raises(PlatformUnavailable):
            trading_server_reconcile(server_id=desk.server.pk, page_size=2)
        stopped_at = sync_state(desk.server)
        assert stopped_at.accounts_cursor != ""
        assert stopped_at.last_error.startswith("platform_unavailable")
        written = TradingAccount.objects.unscoped().filter(balance__gt=0).count()
        assert written == 2  # the first page was committed with its cursor

        # Then after a restart it continues from the stored cursor
        sim = start_simulator(state_file)
        desk.server.base_url = sim.url
        desk.server.save(update_fields=["base_url"])
        monkeypatch.setattr(sync_module, "server_connector", real)
        resumed = trading_server_reconcile(server_id=desk.server.pk, page_size=2)
        assert (resumed.resumed_from, resumed.completed) == (stopped_at.accounts_cursor, True)
        assert (resumed.seen, resumed.rows_written) == (3, 3)
        balances = sorted(TradingAccount.objects.unscoped().values_list("balance", flat=True))
        assert balances == [Decimal(f"{n}00") for n in range(1, 6)]

        # And the same for the deal feed: stopped after one page, resumed after a restart
        monkeypatch.setattr(
            sync_module,
            "server_connector",
            lambda server: _StopsTheServer(real(server), sim, "deals_page"),
        )
        with pytest.raises(PlatformUnavailable):
            trading_feed_poll(server_id=desk.server.pk, page_size=2)
        assert Deal.objects.unscoped().count() == 2
        sim = start_simulator(state_file)
        desk.server.base_url = sim.url
        desk.server.save(update_fields=["base_url"])
        monkeypatch.setattr(sync_module, "server_connector", real)
        trading_feed_poll(server_id=desk.server.pk, page_size=2)
        tickets = list(Deal.objects.unscoped().values_list("ticket", flat=True))
        assert len(tickets) == len(set(tickets)) == 5
        assert {deal.account_id for deal in Deal.objects.unscoped()} == {a.pk for a in accounts}
    finally:
        sim.stop()
