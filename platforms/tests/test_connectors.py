"""Both connectors against the real simulator process: one interface, two wire flavours.

Every test runs once per flavour. The simulator runs with `--tick-ms 0 --traders 0`, so prices,
deals and events follow from the test's own calls only.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from dataclasses import replace
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest

from brokercrm.errors import ValidationFailed
from brokercrm.httpjson import json_request
from brokercrm.simulators import DropConnection, JsonApp, Request, SimulatorProcess, start_in_thread
from platforms.connectors import (
    GroupUnknown,
    InsufficientMargin,
    LoginNotFound,
    OperationConflict,
    PlatformTimeout,
    PlatformUnavailable,
    TradingPlatform,
    connector_for,
)
from platforms.connectors.base import (
    OperationKind,
    Rights,
    TradingEvent,
    operation_comment,
    operation_id_from_comment,
)

ROOT = Path(__file__).resolve().parents[2]
SERVERS: dict[str, dict[str, str]] = {
    "mt5": {"server": "EU-MT5-Live", "usd": "real\\eu\\pro-usd", "eur": "real\\eu\\std-eur"},
    "mt4": {"server": "SC-MT4-Live", "usd": "sc-pro-usd", "eur": "sc-std-eur"},
}


def start_simulator(state: Path) -> SimulatorProcess:
    return SimulatorProcess(
        "platforms.simulator",
        "--state",
        str(state),
        "--tick-ms",
        "0",
        "--traders",
        "0",
        env={"PYTHONPATH": str(ROOT)},
    ).start()


@pytest.fixture(scope="module")
def shared_sim(tmp_path_factory: pytest.TempPathFactory) -> Iterator[SimulatorProcess]:
    sim = start_simulator(tmp_path_factory.mktemp("trading") / "sim.sqlite3")
    yield sim
    sim.stop()


@pytest.fixture
def fresh_sim(tmp_path: Path) -> Iterator[SimulatorProcess]:
    sim = start_simulator(tmp_path / "sim.sqlite3")
    yield sim
    sim.stop()


@pytest.fixture(params=["mt5", "mt4"])
def kind(request: pytest.FixtureRequest) -> str:
    return str(request.param)


def platform_for(sim: SimulatorProcess, kind: str) -> TradingPlatform:
    return connector_for(kind, sim.url, SERVERS[kind]["server"], timeout=5.0)  # type: ignore[arg-type]


@pytest.fixture
def platform(shared_sim: SimulatorProcess, kind: str) -> TradingPlatform:
    return platform_for(shared_sim, kind)


def admin(sim: SimulatorProcess, path: str, body: dict[str, Any]) -> Any:
    answer = json_request("POST", f"{sim.url}/admin/{path}", body=body)
    assert answer.status == 200, answer.body
    return answer.body


def new_client(platform: TradingPlatform, kind: str, *, deposit: str | None = None) -> int:
    account = platform.user_create(
        group=SERVERS[kind]["usd"],
        name="Client Test",
        email="client@example.test",
        leverage=100,
        rights="enabled",
        comment=f"crm:{uuid.uuid4().hex[:12]}",
    )
    if deposit:
        platform.balance_operation(
            login=account.login,
            kind="deposit",
            amount=Decimal(deposit),
            operation_id=str(uuid.uuid4()),
        )
    return account.login


def test_a_user_is_created_in_a_group_and_reads_back(platform: TradingPlatform, kind: str) -> None:
    created = platform.user_create(
        group=SERVERS[kind]["eur"],
        name="Anna Example",
        email="anna@example.test",
        leverage=50,
        rights="enabled",
        comment="crm:acc-42",
    )
    assert created.login > 0
    assert (created.group, created.currency, created.leverage) == (SERVERS[kind]["eur"], "EUR", 50)
    assert (created.rights, created.name, created.comment) == (
        "enabled",
        "Anna Example",
        "crm:acc-42",
    )
    assert (created.balance, created.credit, created.equity) == (Decimal("0.00"),) * 3
    assert created.margin_level is None
    assert platform.user_get(created.login) == created
    assert {group.name for group in platform.groups()} >= {SERVERS[kind]["eur"]}


def test_an_unknown_group_or_login_is_refused_and_creates_nothing(
    platform: TradingPlatform, kind: str
) -> None:
    before = new_client(platform, kind)
    with pytest.raises(GroupUnknown) as refused:
        platform.user_create(
            group="no-such-group", name="X", email="", leverage=100, rights="enabled", comment=""
        )
    assert refused.value.code == "group_unknown"
    assert new_client(platform, kind) == before + 1  # no login was used up
    with pytest.raises(LoginNotFound) as missing:
        platform.user_get(999_999_999)
    assert missing.value.code == "login_not_found"


def test_a_login_is_found_again_by_the_comment_it_was_created_with(
    platform: TradingPlatform, kind: str
) -> None:
    comment = f"crm:{uuid.uuid4().hex}"
    created = platform.user_create(
        group=SERVERS[kind]["usd"],
        name="Lost Answer",
        email="",
        leverage=100,
        rights="enabled",
        comment=comment,
    )
    assert platform.users_by_comment(comment) == [created]
    assert platform.users_by_comment(f"crm:{uuid.uuid4().hex}") == []


def test_rights_change(platform: TradingPlatform, kind: str) -> None:
    login = new_client(platform, kind)
    states: tuple[Rights, ...] = ("read_only", "disabled", "enabled")
    for rights in states:
        assert platform.user_set_rights(login, rights).rights == rights
        assert platform.user_get(login).rights == rights


def test_deposit_withdrawal_and_credit_move_balance_and_credit(
    platform: TradingPlatform, kind: str
) -> None:
    login = new_client(platform, kind)
    steps: list[tuple[OperationKind, str, str, str]] = [
        ("deposit", "1000.00", "1000.00", "0.00"),
        ("withdrawal", "250.50", "749.50", "0.00"),
        ("credit_in", "100.00", "749.50", "100.00"),
        ("credit_out", "40.00", "749.50", "60.00"),
    ]
    for operation_kind, amount, balance, credit in steps:
        operation_id = str(uuid.uuid4())
        result = platform.balance_operation(
            login=login, kind=operation_kind, amount=Decimal(amount), operation_id=operation_id
        )
        assert (result.operation_id, result.kind, result.amount) == (
            operation_id,
            operation_kind,
            Decimal(amount),
        )
        assert (result.new_balance, result.new_credit) == (Decimal(balance), Decimal(credit))
        assert (result.applied, result.replayed) == (True, False)
        assert platform.operation_find(login, operation_id) == replace(result, replayed=True)
    account = platform.user_get(login)
    assert (account.balance, account.credit, account.equity, account.free_margin) == (
        Decimal("749.50"),
        Decimal("60.00"),
        Decimal("809.50"),
        Decimal("809.50"),
    )


def test_a_repeated_operation_id_is_applied_once_and_a_reused_one_refused(
    platform: TradingPlatform, kind: str
) -> None:
    login = new_client(platform, kind)
    operation_id = str(uuid.uuid4())
    first = platform.balance_operation(
        login=login, kind="deposit", amount=Decimal("10.00"), operation_id=operation_id
    )
    again = platform.balance_operation(
        login=login, kind="deposit", amount=Decimal("10.00"), operation_id=operation_id
    )
    assert (again.ticket, again.new_balance, again.replayed) == (
        first.ticket,
        first.new_balance,
        True,
    )
    with pytest.raises(OperationConflict):
        platform.balance_operation(
            login=login, kind="deposit", amount=Decimal("11.00"), operation_id=operation_id
        )
    assert platform.user_get(login).balance == Decimal("10.00")
    with pytest.raises(ValidationFailed):
        platform.balance_operation(
            login=login, kind="deposit", amount=Decimal("1.005"), operation_id="x"
        )


def test_a_withdrawal_beyond_free_margin_is_refused(
    shared_sim: SimulatorProcess, platform: TradingPlatform, kind: str
) -> None:
    login = new_client(platform, kind, deposit="1000.00")
    admin(
        shared_sim,
        "positions",
        {
            "server": platform.server,
            "login": login,
            "symbol": "USDJPY",
            "side": "buy",
            "volume": 0.5,
        },
    )
    account = platform.user_get(login)
    assert Decimal(0) < account.free_margin < account.balance
    operation_id = str(uuid.uuid4())
    with pytest.raises(InsufficientMargin) as refused:
        platform.balance_operation(
            login=login,
            kind="withdrawal",
            amount=account.free_margin + Decimal("0.01"),
            operation_id=operation_id,
        )
    assert refused.value.code == "insufficient_margin"
    assert platform.user_get(login).balance == account.balance
    assert platform.operation_find(login, operation_id) is None
    allowed = platform.balance_operation(
        login=login, kind="withdrawal", amount=account.free_margin, operation_id=operation_id
    )
    assert allowed.new_balance == account.balance - account.free_margin


def test_an_answer_lost_after_apply_is_found_by_id_and_not_applied_twice(
    shared_sim: SimulatorProcess, platform: TradingPlatform, kind: str
) -> None:
    login = new_client(platform, kind, deposit="100.00")
    admin(shared_sim, "faults", {"drop_after_apply": 1})
    operation_id = str(uuid.uuid4())
    result = platform.balance_operation(
        login=login, kind="deposit", amount=Decimal("25.00"), operation_id=operation_id
    )
    assert (result.applied, result.replayed, result.new_balance) == (True, True, Decimal("125.00"))
    assert platform.user_get(login).balance == Decimal("125.00")
    comment = operation_comment(operation_id)
    deals = [deal for deal in _all_deals(platform) if deal.comment == comment]
    assert [(deal.ticket, deal.login, deal.profit) for deal in deals] == [
        (result.ticket, login, Decimal("25.00"))
    ]


def test_an_answer_lost_before_apply_is_retried_once(
    shared_sim: SimulatorProcess, platform: TradingPlatform, kind: str
) -> None:
    login = new_client(platform, kind)
    admin(shared_sim, "faults", {"drop_before_apply": 1})
    result = platform.balance_operation(
        login=login, kind="deposit", amount=Decimal("40.00"), operation_id=str(uuid.uuid4())
    )
    assert (result.replayed, result.new_balance) == (False, Decimal("40.00"))
    assert platform.user_get(login).balance == Decimal("40.00")


def test_nothing_listening_is_unavailable(kind: str) -> None:
    platform = connector_for(kind, "http://127.0.0.1:9", "X", timeout=2.0)  # type: ignore[arg-type]
    with pytest.raises(PlatformUnavailable) as unavailable:
        platform.user_get(1)
    assert unavailable.value.code == "platform_unavailable"


def _all_deals(platform: TradingPlatform, limit: int = 1_000) -> list[Any]:
    deals: list[Any] = []
    cursor: str | None = None
    while True:
        page = platform.deals_page(cursor, limit)
        deals.extend(page.items)
        if page.next_cursor is None:
            return deals
        cursor = page.next_cursor


def test_deals_and_events_page_with_cursors_without_duplicates(
    platform: TradingPlatform, kind: str
) -> None:
    login = new_client(platform, kind)
    tickets = [
        platform.balance_operation(
            login=login, kind="deposit", amount=Decimal(n), operation_id=str(uuid.uuid4())
        ).ticket
        for n in range(1, 8)
    ]
    deals = _all_deals(platform, limit=3)
    seen = [deal.ticket for deal in deals]
    assert len(seen) == len(set(seen))
    assert seen == sorted(seen)
    ours = [deal for deal in deals if deal.login == login]
    assert [deal.ticket for deal in ours] == tickets
    assert {(deal.kind, deal.entry) for deal in ours} == {("balance", None)}
    assert all(deal.time.tzinfo is not None for deal in ours)

    events: list[TradingEvent] = []
    cursor: str | None = None
    while True:
        page = platform.events_page(cursor, 4)
        events.extend(page.items)
        if page.next_cursor is None:
            break
        cursor = page.next_cursor
    cursors = [int(event.cursor) for event in events]
    assert len(cursors) == len(set(cursors))
    assert cursors == sorted(cursors)
    mine = [event.kind for event in events if event.login == login]
    assert mine == ["user_updated"] + ["deal_added", "account_updated"] * 7
    # A consumer keeps resume_cursor and later sees only what happened since.
    platform.user_set_rights(login, "read_only")
    later = platform.events_page(page.resume_cursor, 100)
    assert [(e.kind, e.login, e.payload["rights"]) for e in later.items] == [
        ("user_updated", login, "read_only")
    ]


def test_a_margin_call_and_a_stop_out_reach_the_event_feed(
    fresh_sim: SimulatorProcess, kind: str
) -> None:
    platform = platform_for(fresh_sim, kind)
    login = new_client(platform, kind, deposit="1000.00")
    opened = admin(
        fresh_sim,
        "positions",
        {
            "server": platform.server,
            "login": login,
            "symbol": "EURUSD",
            "side": "buy",
            "volume": 0.5,
        },
    )
    start = platform.events_page(None, 1_000).resume_cursor
    first = admin(fresh_sim, "shock", {"symbol": "EURUSD", "percent": -1})
    after_first = platform.user_get(login)
    assert after_first.margin_level is not None
    assert after_first.margin_level < 100
    second = admin(fresh_sim, "shock", {"symbol": "EURUSD", "percent": -0.5})

    events = platform.events_page(start, 1_000).items
    kinds = [event.kind for event in events if event.login == login]
    assert kinds == ["margin_call", "deal_added", "stop_out", "account_updated"]
    stop_out = next(event for event in events if event.kind == "stop_out")
    assert stop_out.payload["closed_positions"] == [opened["ticket"]]
    # Closed at the shocked price: profit on 0.5 lot (50,000 EUR), two commissions of 1.50.
    profit = ((Decimal(str(second["price_after"])) - Decimal("1.085")) * 50_000).quantize(
        Decimal("0.01")
    )
    assert first["price_before"] == 1.085
    account = platform.user_get(login)
    assert account.balance == Decimal("1000.00") - Decimal("3.00") + profit
    assert (account.margin, account.margin_level, account.equity) == (
        Decimal("0.00"),
        None,
        account.balance,
    )
    close = _all_deals(platform)[-1]
    assert (close.kind, close.entry, close.position, close.profit) == (
        "sell",
        "out",
        opened["ticket"],
        profit,
    )


def test_a_killed_simulator_restarts_with_users_balances_deals_and_cursors(
    tmp_path: Path, kind: str
) -> None:
    state = tmp_path / "sim.sqlite3"
    sim = start_simulator(state)
    try:
        platform = platform_for(sim, kind)
        login = new_client(platform, kind, deposit="500.00")
        operation_id = str(uuid.uuid4())
        platform.balance_operation(
            login=login, kind="credit_in", amount=Decimal("50.00"), operation_id=operation_id
        )
        before = platform.user_get(login)
        deals_before = _all_deals(platform)
        events = platform.events_page(None, 1_000)
    finally:
        assert sim.process is not None
        sim.process.kill()  # SIGKILL: no chance to flush anything
        sim.process.wait()

    restarted = start_simulator(state)
    try:
        platform = platform_for(restarted, kind)
        assert platform.user_get(login) == before
        assert _all_deals(platform) == deals_before
        assert platform.events_page(None, 1_000).items == events.items
        assert platform.events_page(events.resume_cursor, 1_000).items == ()
        again = platform.balance_operation(
            login=login, kind="credit_in", amount=Decimal("50.00"), operation_id=operation_id
        )
        assert (again.replayed, again.new_credit) == (True, Decimal("50.00"))
        assert new_client(platform, kind) == login + 1  # logins are never handed out twice
    finally:
        restarted.stop()


def test_a_bulk_load_of_100k_users_reads_back_in_one_paged_pass(
    fresh_sim: SimulatorProcess, kind: str
) -> None:
    platform = platform_for(fresh_sim, kind)
    loaded = admin(
        fresh_sim,
        "bulk-users",
        {
            "server": platform.server,
            "count": 100_000,
            "group": SERVERS[kind]["usd"],
            "balance": "1000.00",
        },
    )
    count, logins, cursor = 0, set[int](), None
    while True:
        page = platform.accounts_page(cursor, 5_000)
        count += len(page.items)
        logins.update(account.login for account in page.items)
        if page.next_cursor is None:
            break
        cursor = page.next_cursor
    assert count == len(logins) == 100_000
    assert min(logins) == loaded["first_login"]
    assert max(logins) == loaded["last_login"]
    assert page.items[-1].balance == Decimal("1000.00")


def test_operation_ids_fit_the_31_characters_mt4_keeps() -> None:
    an_uuid = str(uuid.uuid4())
    for operation_id in (an_uuid, "wd-2024-000123", "x" * 200, "payout:ünïcode/1"):
        comment = operation_comment(operation_id)
        assert comment.startswith("op:")
        assert len(comment) <= 31
    assert operation_id_from_comment(operation_comment(an_uuid)) == an_uuid
    assert operation_id_from_comment(operation_comment("wd-2024-000123")) == "wd-2024-000123"
    assert operation_comment("x" * 200) != operation_comment("x" * 201)


def _fake_mt5(posts: list[int], lookup: list[Any]) -> JsonApp:
    """An in-process MT5 fake whose balance endpoint fails with 502 once, then works."""
    app = JsonApp("fake-mt5")
    operation = {
        "Deal": 77,
        "Login": 1,
        "Type": "deposit",
        "Amount": "5.00",
        "Balance": "5.00",
        "Credit": "0.00",
        "TimeMsc": 1_700_000_000_123,
    }

    @app.route("POST", "/mt5/{server}/users/{login}/balance")
    def post(request: Request) -> Any:
        posts.append(1)
        return (502, {"code": "bad_gateway"}) if len(posts) == 1 else operation

    @app.route("GET", "/mt5/{server}/users/{login}/balance")
    def find(request: Request) -> Any:
        answer = lookup.pop(0)
        if answer == "drop":
            raise DropConnection
        return {"Operation": operation if answer else None}

    return app


@pytest.mark.parametrize(
    ("lookups", "posts_made", "replayed"),
    [([True], 1, True), ([False], 2, False)],
    ids=["found-after-502", "absent-after-502-so-retried"],
)
def test_a_server_error_on_a_balance_operation_is_looked_up_before_any_retry(
    lookups: list[Any], posts_made: int, replayed: bool
) -> None:
    posts: list[int] = []
    url, stop = start_in_thread(_fake_mt5(posts, list(lookups)))
    try:
        result = connector_for("mt5", url, "X").balance_operation(
            login=1, kind="deposit", amount=Decimal("5.00"), operation_id="dep-1"
        )
    finally:
        stop()
    assert (len(posts), result.replayed, result.ticket) == (posts_made, replayed, 77)
    assert result.time.isoformat() == "2023-11-14T22:13:20.123000+00:00"


def test_a_lookup_that_is_lost_too_reports_an_unknown_outcome_with_the_id() -> None:
    posts: list[int] = []
    url, stop = start_in_thread(_fake_mt5(posts, ["drop"]))
    try:
        with pytest.raises(PlatformTimeout) as unknown:
            connector_for("mt5", url, "X").balance_operation(
                login=1, kind="deposit", amount=Decimal("5.00"), operation_id="dep-2"
            )
    finally:
        stop()
    assert len(posts) == 1  # never retried while the outcome is unknown
    assert unknown.value.as_dict()["operation_id"] == "dep-2"
    assert unknown.value.code == "platform_timeout"
