"""The trading-server simulator process on its own wire: input handling, the MT4 comment
limit, determinism of the market, simulated traders, persistence and the bulk endpoints."""

from __future__ import annotations

import json
import urllib.request
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from brokercrm.httpjson import json_request
from brokercrm.simulators import SimulatorProcess

ROOT = Path(__file__).resolve().parents[2]
MT5 = "/mt5/EU-MT5-Live"
MT4 = "/mt4/SC-MT4-Live"


def start_simulator(state: Path, *extra: str) -> SimulatorProcess:
    args = ["--state", str(state), "--tick-ms", "0", "--traders", "0", *extra]
    return SimulatorProcess("platforms.simulator", *args, env={"PYTHONPATH": str(ROOT)}).start()


@pytest.fixture(scope="module")
def sim(tmp_path_factory: pytest.TempPathFactory) -> Iterator[SimulatorProcess]:
    process = start_simulator(tmp_path_factory.mktemp("trading") / "sim.sqlite3")
    yield process
    process.stop()


def call(sim: SimulatorProcess, method: str, path: str, body: Any = None) -> tuple[int, Any]:
    answer = json_request(method, f"{sim.url}{path}", body=body)
    return answer.status, answer.body


def ok(sim: SimulatorProcess, method: str, path: str, body: Any = None) -> Any:
    status, answer = call(sim, method, path, body)
    assert status == 200, answer
    assert not (isinstance(answer, dict) and answer.get("ret")), answer
    return answer


def mt5_user(sim: SimulatorProcess, deposit: str | None = None) -> int:
    login = ok(sim, "POST", f"{MT5}/users", {"Group": "real\\eu\\std-usd", "Name": "T"})["Login"]
    if deposit:
        body = {"Type": "deposit", "Amount": deposit, "Comment": f"seed {login}"}
        ok(sim, "POST", f"{MT5}/users/{login}/balance", body)
    return int(login)


def test_health_and_state_name_both_flavours(sim: SimulatorProcess) -> None:
    assert ok(sim, "GET", "/health") == {"status": "ok", "simulator": "trading"}
    state = ok(sim, "GET", "/admin/state")
    assert {name: s["flavour"] for name, s in state["servers"].items()} == {
        "EU-MT5-Live": "mt5",
        "SC-MT4-Live": "mt4",
    }
    assert len(ok(sim, "GET", "/admin/market")["symbols"]) == 12


def test_bad_input_gets_a_refusal_never_a_500_nor_a_half_written_record(
    sim: SimulatorProcess,
) -> None:
    login = mt5_user(sim, deposit="100.00")
    mt4_login = ok(sim, "POST", f"{MT4}/users", {"group_id": 1, "name": "M"})["login"]
    before = ok(sim, "GET", "/admin/state")["servers"]
    mt5_refusals = [
        ("POST", f"{MT5}/users", [1, 2], "MT_RET_ERR_PARAMS"),
        ("POST", f"{MT5}/users", {"Group": "nope", "Name": "X"}, "MT_RET_USR_INVALID_GROUP"),
        ("POST", f"{MT5}/users", {"Group": "real\\eu\\std-usd"}, "MT_RET_ERR_PARAMS"),
        (
            "POST",
            f"{MT5}/users",
            {"Group": "real\\eu\\std-usd", "Name": "X", "Rights": "x"},
            "MT_RET_ERR_PARAMS",
        ),
        (
            "POST",
            f"{MT5}/users/{login}/balance",
            {"Type": "deposit", "Amount": "1.001"},
            "MT_RET_ERR_PARAMS",
        ),
        (
            "POST",
            f"{MT5}/users/{login}/balance",
            {"Type": "deposit", "Amount": 5},
            "MT_RET_ERR_PARAMS",
        ),
        (
            "POST",
            f"{MT5}/users/{login}/balance",
            {"Type": "gift", "Amount": "5.00"},
            "MT_RET_ERR_PARAMS",
        ),
        (
            "POST",
            f"{MT5}/users/{login}/balance",
            {"Type": "deposit", "Amount": "-5.00"},
            "MT_RET_ERR_PARAMS",
        ),
        (
            "POST",
            f"{MT5}/users/{login}/balance",
            {"Type": "withdrawal", "Amount": "100.01"},
            "MT_RET_REQUEST_NO_MONEY",
        ),
        (
            "POST",
            f"{MT5}/users/abc/balance",
            {"Type": "deposit", "Amount": "1.00"},
            "MT_RET_ERR_PARAMS",
        ),
        (
            "POST",
            f"{MT5}/users/999/balance",
            {"Type": "deposit", "Amount": "1.00"},
            "MT_RET_ERR_NOTFOUND",
        ),
        ("PATCH", f"{MT5}/users/{login}", {"Leverage": 0}, "MT_RET_ERR_PARAMS"),
        ("GET", f"{MT5}/accounts?limit=0", None, "MT_RET_ERR_PARAMS"),
        ("GET", f"{MT5}/deals?after_ticket=x", None, "MT_RET_ERR_PARAMS"),
        ("GET", "/mt5/SC-MT4-Live/groups", None, "MT_RET_ERR_NOSERVICE"),
        ("GET", "/mt5/Nowhere/groups", None, "MT_RET_ERR_NOSERVICE"),
    ]
    for method, path, body, code in mt5_refusals:
        status, answer = call(sim, method, path, body)
        assert 400 <= status < 500, (path, body, answer)
        assert answer["code"] == code, (path, body, answer)
    mt4_refusals = [
        ("POST", f"{MT4}/trades", {"login": mt4_login, "cmd": 0, "amount": 1.0}, 3),
        ("POST", f"{MT4}/trades", {"login": mt4_login, "cmd": 6, "amount": "1"}, 3),
        ("POST", f"{MT4}/trades", {"login": mt4_login, "cmd": 6, "amount": 0}, 3),
        ("POST", f"{MT4}/trades", {"cmd": 6, "amount": 1.0}, 3),
        ("POST", f"{MT4}/trades", {"login": 1, "cmd": 6, "amount": 1.0}, 13),
        ("POST", f"{MT4}/trades", {"login": mt4_login, "cmd": 6, "amount": -1.0}, 134),
        ("POST", f"{MT4}/users", {"group_id": 99, "name": "X"}, 14),
        ("POST", f"{MT4}/users/{mt4_login}", {"enable": 2}, 3),
        ("GET", f"{MT4}/users?offset=-1", None, 3),
        ("GET", "/mt4/EU-MT5-Live/groups", None, 6),
    ]
    for method, path, body, ret in mt4_refusals:
        status, answer = call(sim, method, path, body)
        assert (status, answer["ret"]) == (200, ret), (path, body, answer)
    admin_refusals: list[tuple[str, dict[str, Any]]] = [
        ("/admin/tick", {"ticks": 0}),
        ("/admin/shock", {"symbol": "NOPE", "percent": 1}),
        ("/admin/shock", {"symbol": "EURUSD", "percent": -100}),
        ("/admin/bulk-users", {"server": "EU-MT5-Live", "count": 0, "group": "x"}),
        ("/admin/bulk-change", {"server": "EU-MT5-Live", "fraction": 2}),
        ("/admin/servers", {"name": "X", "flavour": "mt6", "groups": []}),
        (
            "/admin/positions",
            {
                "server": "EU-MT5-Live",
                "login": login,
                "symbol": "EURUSD",
                "side": "buy",
                "volume": 0.001,
            },
        ),
    ]
    for path, body in admin_refusals:
        status, answer = call(sim, "POST", path, body)
        assert 400 <= status < 500, (path, body, answer)
    # json_request cannot send broken JSON; urllib can. Both URLs are our own test server.
    raw = urllib.request.Request(f"{sim.url}{MT5}/users", data=b"{not json", method="POST")  # noqa: S310
    with pytest.raises(urllib.error.HTTPError) as not_json:
        urllib.request.urlopen(raw, timeout=5)  # noqa: S310
    assert not_json.value.code == 400
    assert ok(sim, "GET", "/admin/state")["servers"] == before
    assert ok(sim, "GET", f"{MT5}/users/{login}")["Balance"] == "100.00"


def test_mt4_keeps_31_characters_of_a_comment_and_keys_operations_by_them(
    sim: SimulatorProcess,
) -> None:
    login = ok(sim, "POST", f"{MT4}/users", {"group_id": 1, "name": "M"})["login"]
    long_comment = "op:" + "a" * 28 + "-first-attempt"
    first = ok(
        sim,
        "POST",
        f"{MT4}/trades",
        {"login": login, "cmd": 6, "amount": 12.34, "comment": long_comment},
    )
    assert first["comment"] == long_comment[:31]
    assert (first["amount"], first["balance"], first["repeated"]) == (12.34, 12.34, False)
    # Another tail past 31 characters is the same operation to the server: ids must fit.
    again = ok(
        sim,
        "POST",
        f"{MT4}/trades",
        {"login": login, "cmd": 6, "amount": 12.34, "comment": "op:" + "a" * 28 + "-retry"},
    )
    assert (again["order"], again["repeated"]) == (first["order"], True)
    found = ok(sim, "GET", f"{MT4}/trades?login={login}&comment={long_comment}")["trades"]
    assert [trade["order"] for trade in found] == [first["order"]]
    assert ok(sim, "GET", f"{MT4}/users/{login}")["balance"] == 12.34


def prices_after(sim: SimulatorProcess, ticks: int) -> dict[str, float]:
    ok(sim, "POST", "/admin/tick", {"ticks": ticks})
    symbols = ok(sim, "GET", "/admin/market")["symbols"]
    return {name: spec["price"] for name, spec in symbols.items()}


def test_the_market_is_the_same_walk_across_processes_and_restarts(tmp_path: Path) -> None:
    one = start_simulator(tmp_path / "one.sqlite3", "--seed", "7")
    try:
        straight = prices_after(one, 60)
    finally:
        one.stop()
    two = start_simulator(tmp_path / "two.sqlite3", "--seed", "7")
    try:
        halfway = prices_after(two, 30)
        login = mt5_user(two, deposit="10.00")
    finally:
        two.stop()  # SIGTERM this time; SIGKILL is covered by the connector tests
    # The state file keeps its seed: a different --seed on restart does not rewrite history.
    two = start_simulator(tmp_path / "two.sqlite3", "--seed", "8")
    try:
        assert ok(two, "GET", f"{MT5}/users/{login}")["Balance"] == "10.00"
        assert prices_after(two, 30) == straight
    finally:
        two.stop()
    assert halfway != straight


def test_simulated_traders_trade_and_some_get_stopped_out(tmp_path: Path) -> None:
    process = start_simulator(tmp_path / "sim.sqlite3", "--traders", "4")
    try:
        seeded = ok(
            process,
            "POST",
            "/admin/bulk-users",
            {"server": "SC-MT4-Live", "count": 4, "group": "sc-std-usd", "balance": "1000.00"},
        )
        traders = set(range(seeded["first_login"], seeded["last_login"] + 1))
        ok(process, "POST", "/admin/tick", {"ticks": 1_500})
        kinds: dict[int, int] = {}
        seq = 0
        while True:
            page = ok(process, "GET", f"{MT4}/events?seq={seq}&limit=5000")
            for event in page["events"]:
                assert event["login"] in traders
                kinds[event["type"]] = kinds.get(event["type"], 0) + 1
            if not page["more"]:
                break
            seq = page["events"][-1]["seq"]
        history = ok(process, "GET", f"{MT4}/history?limit=10000")
        entries = {(trade["entry"], trade["cmd"] in (0, 1)) for trade in history["trades"]}
    finally:
        process.stop()
    assert entries == {(0, True), (1, True)}
    assert kinds[1] == history["total"]  # one deal_added per deal
    assert kinds.get(3, 0) >= 1  # margin calls
    assert kinds.get(4, 0) >= 1  # stop-outs


def test_bulk_change_reports_exactly_the_accounts_it_changed(tmp_path: Path) -> None:
    process = start_simulator(tmp_path / "sim.sqlite3")
    try:
        ok(
            process,
            "POST",
            "/admin/bulk-users",
            {
                "server": "EU-MT5-Live",
                "count": 20_000,
                "group": "real\\eu\\std-usd",
                "balance": "500.00",
            },
        )

        def snapshot() -> dict[int, tuple[str, str, int]]:
            rows: dict[int, tuple[str, str, int]] = {}
            after: int | None = 0
            while after is not None:
                page = ok(process, "GET", f"{MT5}/accounts?after_login={after}&limit=10000")
                rows.update(
                    (a["Login"], (a["Balance"], a["Equity"], a["Rights"])) for a in page["Accounts"]
                )
                after = page["NextAfterLogin"]
            return rows

        before = snapshot()
        change = {"server": "EU-MT5-Live", "fraction": 0.1, "seed": 7}
        changed = ok(process, "POST", "/admin/bulk-change", change)
        after = snapshot()
        events = ok(process, "GET", f"{MT5}/events?limit=10000")["Events"]
    finally:
        process.stop()
    differs = {login for login in before if before[login] != after[login]}
    assert set(changed["changed"]) == differs
    assert changed["count"] == len(differs)
    assert 1_700 < len(differs) < 2_300
    assert sorted(event["Login"] for event in events) == sorted(changed["changed"])
    for login in differs:
        balance, equity, _rights = after[login]
        assert balance == equity  # no positions: equity follows the balance


def test_a_config_file_and_the_admin_endpoint_add_servers(tmp_path: Path) -> None:
    config = tmp_path / "servers.json"
    config.write_text(
        json.dumps(
            {
                "servers": [
                    {
                        "name": "UK-MT5-Demo",
                        "flavour": "mt5",
                        "login_start": 700,
                        "groups": [
                            {
                                "name": "demo\\uk\\gbp",
                                "currency": "GBP",
                                "leverage": 30,
                                "margin_call": 90,
                                "stop_out": 40,
                            }
                        ],
                    }
                ]
            }
        )
    )
    process = start_simulator(tmp_path / "sim.sqlite3", "--config", str(config))
    try:
        created = ok(
            process, "POST", "/mt5/UK-MT5-Demo/users", {"Group": "demo\\uk\\gbp", "Name": "U"}
        )
        assert created["Login"] == 700
        added = {
            "name": "SC-MT4-Demo",
            "flavour": "mt4",
            "login_start": 90_000,
            "groups": [{"name": "demo", "currency": "USD"}],
        }
        ok(process, "POST", "/admin/servers", added)
        groups = ok(process, "GET", "/mt4/SC-MT4-Demo/groups")["groups"]
        assert [(g["id"], g["group"]) for g in groups] == [(1, "demo")]
        assert call(process, "GET", "/mt5/EU-MT5-Live/groups")[0] == 404  # not configured
    finally:
        process.stop()
