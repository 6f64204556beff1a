"""The simulator's state: one SQLite file, one connection, one lock.

Every change is its own transaction (WAL, `synchronous=NORMAL`): a commit reaches the OS before
the answer is sent, so a process killed with SIGKILL restarts with every user, operation, deal
and event it ever acknowledged. One lock around the connection keeps the threaded HTTP server
simple; the simulator's work per request is small enough that it never becomes the bottleneck.

Money is held as integer cents; prices and volumes are floats. Reads return the slotted
dataclasses of `records`, which the two API flavours format in their own way.
"""

from __future__ import annotations

import json
import sqlite3
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from platforms.simulator.config import ServerConfig
from platforms.simulator.market import SYMBOLS, start_prices
from platforms.simulator.records import (
    EVENT_KINDS,
    AccountRow,
    DealRow,
    EventRow,
    GroupRow,
    PositionRow,
    SimError,
    money_str,
    now_ms,
)

_SCHEMA = """
CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS servers (
    name TEXT PRIMARY KEY, flavour TEXT NOT NULL, next_login INTEGER NOT NULL,
    user_count INTEGER NOT NULL DEFAULT 0);
CREATE TABLE IF NOT EXISTS groups (
    server TEXT NOT NULL, group_id INTEGER NOT NULL, name TEXT NOT NULL,
    currency TEXT NOT NULL, leverage INTEGER NOT NULL,
    margin_call REAL NOT NULL, stop_out REAL NOT NULL,
    PRIMARY KEY (server, name), UNIQUE (server, group_id));
CREATE TABLE IF NOT EXISTS users (
    server TEXT NOT NULL, login INTEGER NOT NULL, group_name TEXT NOT NULL,
    name TEXT NOT NULL, email TEXT NOT NULL, leverage INTEGER NOT NULL,
    rights TEXT NOT NULL, comment TEXT NOT NULL,
    balance_c INTEGER NOT NULL DEFAULT 0, credit_c INTEGER NOT NULL DEFAULT 0,
    equity_c INTEGER NOT NULL DEFAULT 0, margin_c INTEGER NOT NULL DEFAULT 0,
    mc_state INTEGER NOT NULL DEFAULT 0,
    created_ms INTEGER NOT NULL, updated_ms INTEGER NOT NULL,
    PRIMARY KEY (server, login)) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS deleted_users AS SELECT * FROM users WHERE 0;
CREATE TABLE IF NOT EXISTS prices (symbol TEXT PRIMARY KEY, price REAL NOT NULL);
CREATE TABLE IF NOT EXISTS positions (
    ticket INTEGER PRIMARY KEY, server TEXT NOT NULL, login INTEGER NOT NULL,
    symbol TEXT NOT NULL, side TEXT NOT NULL, volume REAL NOT NULL,
    open_price REAL NOT NULL, open_tick INTEGER NOT NULL, open_ms INTEGER NOT NULL);
CREATE INDEX IF NOT EXISTS positions_by_login ON positions (server, login);
CREATE TABLE IF NOT EXISTS deals (
    ticket INTEGER PRIMARY KEY AUTOINCREMENT, server TEXT NOT NULL, login INTEGER NOT NULL,
    action TEXT NOT NULL, entry TEXT, symbol TEXT NOT NULL DEFAULT '',
    volume REAL NOT NULL DEFAULT 0, price REAL NOT NULL DEFAULT 0,
    profit_c INTEGER NOT NULL DEFAULT 0, commission_c INTEGER NOT NULL DEFAULT 0,
    swap_c INTEGER NOT NULL DEFAULT 0, comment TEXT NOT NULL DEFAULT '',
    time_ms INTEGER NOT NULL, position INTEGER);
CREATE INDEX IF NOT EXISTS deals_by_server ON deals (server, ticket);
CREATE TABLE IF NOT EXISTS operations (
    server TEXT NOT NULL, op_key TEXT NOT NULL, login INTEGER NOT NULL, kind TEXT NOT NULL,
    amount_c INTEGER NOT NULL, ticket INTEGER NOT NULL,
    balance_c INTEGER NOT NULL, credit_c INTEGER NOT NULL, time_ms INTEGER NOT NULL,
    PRIMARY KEY (server, op_key)) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS events (
    seq INTEGER PRIMARY KEY AUTOINCREMENT, server TEXT NOT NULL, kind TEXT NOT NULL,
    login INTEGER NOT NULL, time_ms INTEGER NOT NULL, payload TEXT NOT NULL);
CREATE INDEX IF NOT EXISTS events_by_server ON events (server, seq);
"""

_MAX_OFFSET_HINTS = 10_000
# Deal tickets start high so they are never mistaken for logins in logs and screenshots.
_FIRST_DEAL_TICKET = 10_000_000


_ACCOUNT_SELECT = (
    "SELECT u.server, u.login, u.group_name, g.group_id, g.currency, u.name, u.email,"
    " u.leverage, u.rights, u.comment, u.balance_c, u.credit_c, u.equity_c, u.margin_c,"
    " u.created_ms, u.updated_ms FROM users u"
    " JOIN groups g ON g.server = u.server AND g.name = u.group_name"
)
_DEAL_SELECT = (
    "SELECT ticket, server, login, action, entry, symbol, volume, price, profit_c,"
    " commission_c, swap_c, comment, time_ms, position FROM deals"
)


class Store:
    def __init__(self, path: Path | str, *, seed: int) -> None:
        self.lock = threading.RLock()
        self._depth = 0
        self._offset_hints: dict[tuple[str, str, int], int] = {}
        self.db = sqlite3.connect(str(path), check_same_thread=False, isolation_level=None)
        self.db.execute("PRAGMA journal_mode=WAL")
        self.db.execute("PRAGMA synchronous=NORMAL")
        self.db.executescript(_SCHEMA)
        with self.write():
            stored_seed = self.meta("seed")
            # A state file keeps the seed it was created with: restarting with another --seed
            # must not rewrite the history of a market that already moved.
            if stored_seed is None:
                self.set_meta("seed", str(seed))
                self.set_meta("tick", "0")
                self.db.execute(
                    "INSERT OR IGNORE INTO sqlite_sequence (name, seq) VALUES ('deals', ?)",
                    (_FIRST_DEAL_TICKET,),
                )
            self.seed = int(self.meta("seed") or seed)
            self.tick = int(self.meta("tick") or 0)
            self.prices = start_prices()
            for symbol, price in self.db.execute("SELECT symbol, price FROM prices"):
                if symbol in SYMBOLS:
                    self.prices[symbol] = price

    def close(self) -> None:
        with self.lock:
            self.db.close()

    @contextmanager
    def write(self) -> Iterator[sqlite3.Connection]:
        """One transaction; nested uses join the outer one (so helpers compose)."""
        with self.lock:
            if self._depth:
                self._depth += 1
                try:
                    yield self.db
                finally:
                    self._depth -= 1
                return
            self.db.execute("BEGIN IMMEDIATE")
            self._depth = 1
            try:
                yield self.db
            except BaseException:
                self.db.execute("ROLLBACK")
                raise
            else:
                self.db.execute("COMMIT")
            finally:
                self._depth = 0

    def meta(self, key: str) -> str | None:
        row = self.db.execute("SELECT value FROM meta WHERE key = ?", (key,)).fetchone()
        return row[0] if row else None

    def set_meta(self, key: str, value: str) -> None:
        self.db.execute(
            "INSERT INTO meta (key, value) VALUES (?, ?)"
            " ON CONFLICT (key) DO UPDATE SET value = excluded.value",
            (key, value),
        )

    def save_market(self) -> None:
        self.set_meta("tick", str(self.tick))
        self.db.executemany(
            "INSERT INTO prices (symbol, price) VALUES (?, ?)"
            " ON CONFLICT (symbol) DO UPDATE SET price = excluded.price",
            sorted(self.prices.items()),
        )

    # --- servers and groups -----------------------------------------------------------------

    def ensure_server(self, server: ServerConfig) -> None:
        """Add a server and any of its groups not yet present; existing ones are kept as they
        are, so a restart with the same config changes nothing."""
        with self.write() as db:
            db.execute(
                "INSERT OR IGNORE INTO servers (name, flavour, next_login) VALUES (?, ?, ?)",
                (server.name, server.flavour, server.login_start),
            )
            for group in server.groups:
                exists = db.execute(
                    "SELECT 1 FROM groups WHERE server = ? AND name = ?", (server.name, group.name)
                ).fetchone()
                if exists:
                    continue
                group_id = group.group_id
                if group_id is None:
                    row = db.execute(
                        "SELECT COALESCE(MAX(group_id), 0) + 1 FROM groups WHERE server = ?",
                        (server.name,),
                    ).fetchone()
                    group_id = row[0]
                db.execute(
                    "INSERT INTO groups (server, group_id, name, currency, leverage,"
                    " margin_call, stop_out) VALUES (?, ?, ?, ?, ?, ?, ?)",
                    (
                        server.name,
                        group_id,
                        group.name,
                        group.currency,
                        group.leverage,
                        group.margin_call,
                        group.stop_out,
                    ),
                )

    def servers(self) -> list[tuple[str, str]]:
        with self.lock:
            return list(self.db.execute("SELECT name, flavour FROM servers ORDER BY name"))

    def server_flavour(self, server: str) -> str:
        with self.lock:
            row = self.db.execute("SELECT flavour FROM servers WHERE name = ?", (server,))
            found = row.fetchone()
        if not found:
            raise SimError("server_unknown", f"No server named {server!r} is hosted here.")
        return str(found[0])

    def groups(self, server: str) -> list[GroupRow]:
        with self.lock:
            rows = self.db.execute(
                "SELECT server, group_id, name, currency, leverage, margin_call, stop_out"
                " FROM groups WHERE server = ? ORDER BY group_id",
                (server,),
            ).fetchall()
        return [GroupRow(*row) for row in rows]

    def group(
        self, server: str, *, name: str | None = None, group_id: int | None = None
    ) -> GroupRow:
        for group in self.groups(server):
            if group.name == name or (group_id is not None and group.group_id == group_id):
                return group
        raise SimError("group_unknown", f"Server {server} has no group {name or group_id!r}.")

    # --- users -------------------------------------------------------------------------------

    def allocate_logins(self, server: str, count: int) -> int:
        """Reserve `count` consecutive logins for users inserted in the same transaction;
        returns the first. The server's user count moves with it (and with the admin's
        deletions), so MT4's offset paging need not count rows on every page."""
        with self.write() as db:
            row = db.execute("SELECT next_login FROM servers WHERE name = ?", (server,)).fetchone()
            if row is None:
                raise SimError("server_unknown", f"No server named {server!r} is hosted here.")
            db.execute(
                "UPDATE servers SET next_login = next_login + ?, user_count = user_count + ?"
                " WHERE name = ?",
                (count, count, server),
            )
            return int(row[0])

    def user_count(self, server: str) -> int:
        with self.lock:
            row = self.db.execute("SELECT user_count FROM servers WHERE name = ?", (server,))
            found = row.fetchone()
        return int(found[0]) if found else 0

    def account(self, server: str, login: int) -> AccountRow:
        with self.lock:
            row = self.db.execute(
                f"{_ACCOUNT_SELECT} WHERE u.server = ? AND u.login = ?", (server, login)
            ).fetchone()
        if row is None:
            self.server_flavour(server)  # an unknown server is reported as such
            raise SimError("login_not_found", f"Login {login} does not exist on {server}.")
        return AccountRow(*row)

    def accounts_after(
        self, server: str, after_login: int, limit: int
    ) -> tuple[list[AccountRow], bool]:
        with self.lock:
            rows = self.db.execute(
                f"{_ACCOUNT_SELECT} WHERE u.server = ? AND u.login > ? ORDER BY u.login LIMIT ?",
                (server, after_login, limit + 1),
            ).fetchall()
        return [AccountRow(*row) for row in rows[:limit]], len(rows) > limit

    def accounts_with_comment(self, server: str, comment: str) -> list[AccountRow]:
        """Users whose comment is exactly `comment`, by login: how a client finds the login it
        created when the answer to the create was lost (it put its own reference there)."""
        with self.lock:
            rows = self.db.execute(
                f"{_ACCOUNT_SELECT} WHERE u.server = ? AND u.comment = ? ORDER BY u.login",
                (server, comment),
            ).fetchall()
        return [AccountRow(*row) for row in rows]

    def accounts_offset(self, server: str, offset: int, limit: int) -> tuple[list[AccountRow], int]:
        rows = self._offset_rows(
            _ACCOUNT_SELECT + " WHERE u.server = ?", "u.login", 1, server, offset, limit
        )
        return [AccountRow(*row) for row in rows], self.user_count(server)

    def forget_offsets(self) -> None:
        """After a user is deleted or restored: the rows at an offset have moved."""
        with self.lock:
            self._offset_hints.clear()

    def _offset_rows(
        self, select: str, key: str, key_index: int, server: str, offset: int, limit: int
    ) -> list[Any]:
        """A page by offset, as MT4 pages. Keys (logins, tickets) only grow and rows are
        deleted only by the admin (who calls `forget_offsets`), so the row at an offset does
        not change: the key that ended the previous page turns the next sequential request
        into an index seek instead of skipping `offset` rows."""
        with self.lock:
            after = self._offset_hints.get((select, server, offset))
            if after is not None:
                query = f"{select} AND {key} > ? ORDER BY {key} LIMIT ?"
                rows = self.db.execute(query, (server, after, limit)).fetchall()
            else:
                query = f"{select} ORDER BY {key} LIMIT ? OFFSET ?"
                rows = self.db.execute(query, (server, limit, offset)).fetchall()
            if rows:
                if len(self._offset_hints) >= _MAX_OFFSET_HINTS:
                    self._offset_hints.clear()
                self._offset_hints[(select, server, offset + len(rows))] = rows[-1][key_index]
        return rows

    # --- deals, positions, events --------------------------------------------------------------

    def insert_deal(self, **fields: Any) -> int:
        fields.setdefault("time_ms", now_ms())
        columns = ", ".join(fields)
        marks = ", ".join("?" for _ in fields)
        cursor = self.db.execute(
            f"INSERT INTO deals ({columns}) VALUES ({marks})", tuple(fields.values())
        )
        assert cursor.lastrowid is not None
        return int(cursor.lastrowid)

    def deal(self, ticket: int) -> DealRow:
        with self.lock:
            row = self.db.execute(f"{_DEAL_SELECT} WHERE ticket = ?", (ticket,)).fetchone()
        if row is None:
            raise SimError("not_found", f"No deal {ticket}.")
        return DealRow(*row)

    def deals_after(self, server: str, after_ticket: int, limit: int) -> tuple[list[DealRow], bool]:
        with self.lock:
            rows = self.db.execute(
                f"{_DEAL_SELECT} WHERE server = ? AND ticket > ? ORDER BY ticket LIMIT ?",
                (server, after_ticket, limit + 1),
            ).fetchall()
        return [DealRow(*row) for row in rows[:limit]], len(rows) > limit

    def deals_offset(self, server: str, offset: int, limit: int) -> tuple[list[DealRow], int]:
        rows = self._offset_rows(
            _DEAL_SELECT + " WHERE server = ?", "ticket", 0, server, offset, limit
        )
        with self.lock:
            total = self.db.execute(
                "SELECT COUNT(*) FROM deals WHERE server = ?", (server,)
            ).fetchone()[0]
        return [DealRow(*row) for row in rows], int(total)

    def positions(self, server: str, login: int | None = None) -> list[PositionRow]:
        query = (
            "SELECT ticket, server, login, symbol, side, volume, open_price, open_tick, open_ms"
            " FROM positions WHERE server = ?"
        )
        args: tuple[Any, ...] = (server,)
        if login is not None:
            query += " AND login = ?"
            args += (login,)
        with self.lock:
            rows = self.db.execute(query + " ORDER BY ticket", args).fetchall()
        return [PositionRow(*row) for row in rows]

    def emit(self, server: str, kind: str, login: int, payload: dict[str, Any]) -> None:
        """Append an event; called inside the transaction that made the change it reports,
        so the feed never shows a change that was rolled back, nor misses one that was not."""
        assert kind in EVENT_KINDS, kind
        self.db.execute(
            "INSERT INTO events (server, kind, login, time_ms, payload) VALUES (?, ?, ?, ?, ?)",
            (server, kind, login, now_ms(), json.dumps(payload, separators=(",", ":"))),
        )

    def events_after(self, server: str, after_seq: int, limit: int) -> tuple[list[EventRow], bool]:
        with self.lock:
            rows = self.db.execute(
                "SELECT seq, server, kind, login, time_ms, payload FROM events"
                " WHERE server = ? AND seq > ? ORDER BY seq LIMIT ?",
                (server, after_seq, limit + 1),
            ).fetchall()
        events = [
            EventRow(seq, server_, kind, login, time_ms, json.loads(payload))
            for seq, server_, kind, login, time_ms, payload in rows[:limit]
        ]
        return events, len(rows) > limit

    def account_payload(self, server: str, login: int) -> dict[str, Any]:
        """The figures an account_updated event carries (cents as strings, no float noise)."""
        account = self.account(server, login)
        return {
            "balance": money_str(account.balance_c),
            "credit": money_str(account.credit_c),
            "equity": money_str(account.equity_c),
            "margin": money_str(account.margin_c),
            "rights": account.rights,
        }
