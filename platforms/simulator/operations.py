"""Users and balance operations as the server applies them, whatever the wire flavour.

A balance operation whose comment starts with `op:` is keyed by that comment on its server:
the first request applies it, any repeat returns the first result (marked `repeated`), and a
repeat that differs (another login, kind or amount) is refused. This is what lets a client
that lost the answer find the operation again and never apply it twice.
"""

from __future__ import annotations

import json
import random
from typing import Any

from platforms.simulator.records import (
    RIGHTS,
    AccountRow,
    OperationRow,
    SimError,
    money_str,
    now_ms,
)
from platforms.simulator.store import Store
from platforms.simulator.trading import deal_payload, revalue

OPERATION_KINDS = ("deposit", "withdrawal", "credit_in", "credit_out")
OPERATION_KEY_PREFIX = "op:"
MAX_AMOUNT_C = 100_000_000_000  # one billion in account currency: anything above is a typo
MAX_COMMENT = 64


def _text(value: Any, field: str, *, max_length: int, required: bool = False) -> str:
    if value is None:
        value = ""
    if not isinstance(value, str) or len(value) > max_length:
        raise SimError("invalid", f"{field} must be text of at most {max_length} characters.")
    if required and not value.strip():
        raise SimError("invalid", f"{field} is required.")
    return value


def _leverage(value: Any, default: int) -> int:
    if value is None:
        return default
    if not isinstance(value, int) or isinstance(value, bool) or not 1 <= value <= 1000:
        raise SimError("invalid", "Leverage must be an integer from 1 to 1000.")
    return value


def user_create(
    store: Store,
    server: str,
    *,
    group: str,
    name: Any,
    email: Any,
    leverage: Any,
    rights: str,
    comment: Any,
) -> AccountRow:
    group_row = store.group(server, name=group)
    if rights not in RIGHTS:
        raise SimError("invalid", f"rights must be one of {', '.join(RIGHTS)}.")
    name = _text(name, "Name", max_length=128, required=True)
    email = _text(email, "Email", max_length=128)
    comment = _text(comment, "Comment", max_length=MAX_COMMENT)
    leverage = _leverage(leverage, group_row.leverage)
    with store.write() as db:
        login = store.allocate_logins(server, 1)
        stamp = now_ms()
        db.execute(
            "INSERT INTO users (server, login, group_name, name, email, leverage, rights,"
            " comment, created_ms, updated_ms) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
            (server, login, group_row.name, name, email, leverage, rights, comment, stamp, stamp),
        )
        store.emit(server, "user_updated", login, {"created": True, "rights": rights})
    return store.account(server, login)


def user_update(store: Store, server: str, login: int, changes: dict[str, Any]) -> AccountRow:
    """Apply the given fields (group, name, email, leverage, rights, comment)."""
    current = store.account(server, login)
    values: dict[str, Any] = {}
    if "group" in changes:
        values["group_name"] = store.group(server, name=changes["group"]).name
    if "name" in changes:
        values["name"] = _text(changes["name"], "Name", max_length=128, required=True)
    if "email" in changes:
        values["email"] = _text(changes["email"], "Email", max_length=128)
    if "comment" in changes:
        values["comment"] = _text(changes["comment"], "Comment", max_length=MAX_COMMENT)
    if "leverage" in changes:
        values["leverage"] = _leverage(changes["leverage"], current.leverage)
    if "rights" in changes:
        if changes["rights"] not in RIGHTS:
            raise SimError("invalid", f"rights must be one of {', '.join(RIGHTS)}.")
        values["rights"] = changes["rights"]
    if not values:
        return current
    with store.write() as db:
        values["updated_ms"] = now_ms()
        assignments = ", ".join(f"{column} = ?" for column in values)
        db.execute(
            f"UPDATE users SET {assignments} WHERE server = ? AND login = ?",
            (*values.values(), server, login),
        )
        changed = {k: v for k, v in values.items() if k != "updated_ms"}
        store.emit(server, "user_updated", login, {"created": False, **changed})
        if "leverage" in values or "group_name" in values:
            revalue(store, server, login)  # margin depends on both
    return store.account(server, login)


def user_delete(store: Store, server: str, login: int) -> None:
    """Remove a login as a dealer (or a restore from an old backup) would: the server no
    longer lists or finds it, and its open positions are gone. The user row is kept aside so
    `user_restore` can put it back under the same login."""
    with store.write() as db:
        store.account(server, login)  # login_not_found when it is not there
        db.execute(
            "INSERT INTO deleted_users SELECT * FROM users WHERE server = ? AND login = ?",
            (server, login),
        )
        db.execute("DELETE FROM users WHERE server = ? AND login = ?", (server, login))
        db.execute("DELETE FROM positions WHERE server = ? AND login = ?", (server, login))
        db.execute("UPDATE servers SET user_count = user_count - 1 WHERE name = ?", (server,))
    store.forget_offsets()


def user_restore(store: Store, server: str, login: int) -> AccountRow:
    """Put a deleted login back as it was when it was deleted."""
    store.server_flavour(server)
    with store.write() as db:
        restored = db.execute(
            "INSERT INTO users SELECT * FROM deleted_users WHERE server = ? AND login = ?",
            (server, login),
        ).rowcount
        if not restored:
            raise SimError("login_not_found", f"Login {login} was not deleted on {server}.")
        db.execute("DELETE FROM deleted_users WHERE server = ? AND login = ?", (server, login))
        db.execute("UPDATE servers SET user_count = user_count + 1 WHERE name = ?", (server,))
    store.forget_offsets()
    return store.account(server, login)


def _operation(row: tuple[Any, ...], *, repeated: bool) -> OperationRow:
    server, op_key, login, kind, amount_c, ticket, balance_c, credit_c, time_ms = row
    return OperationRow(
        server, op_key, login, kind, amount_c, ticket, balance_c, credit_c, time_ms, repeated
    )


_OPERATION_SELECT = (
    "SELECT server, op_key, login, kind, amount_c, ticket, balance_c, credit_c, time_ms"
    " FROM operations WHERE server = ? AND op_key = ?"
)


def operation_find(
    store: Store, server: str, op_key: str, login: int | None
) -> OperationRow | None:
    store.server_flavour(server)
    with store.lock:
        row = store.db.execute(_OPERATION_SELECT, (server, op_key)).fetchone()
    if row is None or (login is not None and row[2] != login):
        return None
    return _operation(row, repeated=True)


def balance_operation(
    store: Store, server: str, login: int, *, kind: str, amount_c: int, comment: str
) -> OperationRow:
    if kind not in OPERATION_KINDS:
        raise SimError("invalid", f"Type must be one of {', '.join(OPERATION_KINDS)}.")
    if not 0 < amount_c <= MAX_AMOUNT_C:
        raise SimError("invalid", "Amount must be positive (and below one billion).")
    comment = _text(comment, "Comment", max_length=MAX_COMMENT)
    op_key = comment if comment.startswith(OPERATION_KEY_PREFIX) else None
    with store.write() as db:
        if op_key is not None:
            row = db.execute(_OPERATION_SELECT, (server, op_key)).fetchone()
            if row is not None:
                first = _operation(row, repeated=True)
                if (first.login, first.kind, first.amount_c) != (login, kind, amount_c):
                    raise SimError(
                        "op_conflict",
                        f"Operation {op_key} was already applied with another login, type or"
                        " amount.",
                    )
                return first
        revalue(store, server, login)  # raises login_not_found; refreshes free margin
        account = store.account(server, login)
        column = "balance_c" if kind in ("deposit", "withdrawal") else "credit_c"
        sign = -1 if kind in ("withdrawal", "credit_out") else 1
        if sign < 0:
            held = account.balance_c if kind == "withdrawal" else account.credit_c
            if amount_c > account.free_margin_c or amount_c > held:
                raise SimError(
                    "no_money",
                    f"Not enough money: free margin {account.free_margin_c / 100:.2f},"
                    f" {'balance' if kind == 'withdrawal' else 'credit'} {held / 100:.2f}.",
                )
        stamp = now_ms()
        ticket = store.insert_deal(
            server=server,
            login=login,
            action="balance" if column == "balance_c" else "credit",
            profit_c=sign * amount_c,
            comment=comment,
            time_ms=stamp,
        )
        db.execute(
            f"UPDATE users SET {column} = {column} + ?, updated_ms = ?"
            " WHERE server = ? AND login = ?",
            (sign * amount_c, stamp, server, login),
        )
        revalue(store, server, login)
        after = store.account(server, login)
        if op_key is not None:
            db.execute(
                "INSERT INTO operations (server, op_key, login, kind, amount_c, ticket,"
                " balance_c, credit_c, time_ms) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
                (
                    server,
                    op_key,
                    login,
                    kind,
                    amount_c,
                    ticket,
                    after.balance_c,
                    after.credit_c,
                    stamp,
                ),
            )
        store.emit(server, "deal_added", login, deal_payload(store, ticket))
        store.emit(server, "account_updated", login, store.account_payload(server, login))
    # Unkeyed operations (no `op:` comment) are not stored; report their comment instead.
    return OperationRow(
        server,
        op_key or comment,
        login,
        kind,
        amount_c,
        ticket,
        after.balance_c,
        after.credit_c,
        stamp,
        repeated=False,
    )


def bulk_users(
    store: Store, server: str, *, count: int, group: str, balance_c: int, leverage: int | None
) -> tuple[int, int]:
    """Create `count` funded users in one transaction (benchmark seeding). No events and no
    deals are written for them: this is a fixture, not a history a CRM has to replay."""
    if not 1 <= count <= 1_000_000:
        raise SimError("invalid", "count must be from 1 to 1,000,000.")
    if not 0 <= balance_c <= MAX_AMOUNT_C:
        raise SimError("invalid", "balance must be from 0 to one billion.")
    group_row = store.group(server, name=group)
    lev = _leverage(leverage, group_row.leverage)
    with store.write() as db:
        first = store.allocate_logins(server, count)
        stamp = now_ms()
        db.executemany(
            "INSERT INTO users (server, login, group_name, name, email, leverage, rights,"
            " comment, balance_c, equity_c, created_ms, updated_ms)"
            " VALUES (?, ?, ?, ?, ?, ?, 'enabled', ?, ?, ?, ?, ?)",
            (
                (
                    server,
                    login,
                    group_row.name,
                    f"Bulk Client {login}",
                    f"client{login}@example.test",
                    lev,
                    f"bulk:{login}",
                    balance_c,
                    balance_c,
                    stamp,
                    stamp,
                )
                for login in range(first, first + count)
            ),
        )
    return first, first + count - 1


def bulk_change(store: Store, server: str, *, fraction: float, seed: int) -> list[int]:
    """Change balance (and so equity) or rights of about `fraction` of the server's accounts,
    chosen by `seed`; each change is reported in the event feed like any other."""
    if not 0 < fraction <= 1:
        raise SimError("invalid", "fraction must be above 0 and at most 1.")
    store.server_flavour(server)
    rng = random.Random(f"bulk-change:{seed}")  # noqa: S311 - reproducible, not secret
    with store.write() as db:
        accounts = db.execute(
            "SELECT login, rights FROM users WHERE server = ? ORDER BY login", (server,)
        ).fetchall()
        chosen = [(login, was) for login, was in accounts if rng.random() < fraction]
        stamp = now_ms()
        money: list[tuple[int, int, int, str, int]] = []
        rights: list[tuple[str, int, str, int]] = []
        events: list[tuple[str, str, int, int, str]] = []
        for login, was in chosen:
            if rng.random() < 0.7:
                delta_c = rng.randint(-50_000, 50_000) or 1
                money.append((delta_c, delta_c, stamp, server, login))
                payload = json.dumps({"balance_delta": money_str(delta_c)})
                events.append((server, "account_updated", login, stamp, payload))
            else:
                # Always a different state, so "changed" means changed.
                new_rights = rng.choice([r for r in RIGHTS if r != was])
                rights.append((new_rights, stamp, server, login))
                payload = json.dumps({"created": False, "rights": new_rights})
                events.append((server, "user_updated", login, stamp, payload))
        db.executemany(
            "UPDATE users SET balance_c = balance_c + ?, equity_c = equity_c + ?, updated_ms = ?"
            " WHERE server = ? AND login = ?",
            money,
        )
        db.executemany(
            "UPDATE users SET rights = ?, updated_ms = ? WHERE server = ? AND login = ?", rights
        )
        db.executemany(
            "INSERT INTO events (server, kind, login, time_ms, payload) VALUES (?, ?, ?, ?, ?)",
            events,
        )
    return [login for login, _was in chosen]
