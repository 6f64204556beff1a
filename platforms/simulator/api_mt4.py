"""The MT4-flavoured API under `/mt4/{server}/...`.

Shaped after MT4 Manager API habits, deliberately unlike the MT5 flavour so that one connector
interface has two real translations behind it: lowercase fields, numeric group ids
(`GET /groups` maps id to name), rights as `enable` / `enable_read_only` flags, money as floats
with 2 decimals, balance and credit operations as trades with `cmd` 6 / 7 and a signed amount,
volumes in 1/100 lot, times in unix seconds, trade comments cut to 31 characters, offset paging
with a `total`, and an event cursor called `seq` with numeric event types.

Refusals answer HTTP 200 with `{"ret": <non-zero>, "error": ...}` as MT4 gateways do; a client
must look at `ret`, not only at the status.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from brokercrm.simulators import JsonApp, Request
from platforms.simulator import operations
from platforms.simulator.api_common import (
    Simulator,
    after_balance_operation,
    before_balance_operation,
    body_object,
    float_cents,
    int_field,
    page_limit,
    path_login,
    query_int,
)
from platforms.simulator.records import AccountRow, DealRow, EventRow, OperationRow, SimError

OP_BUY, OP_SELL, OP_BALANCE, OP_CREDIT = 0, 1, 6, 7
_CMDS = {"buy": OP_BUY, "sell": OP_SELL, "balance": OP_BALANCE, "credit": OP_CREDIT}
VOLUME_UNITS_PER_LOT = 100
TRADE_COMMENT_LENGTH = 31
EVENT_TYPES = {
    "deal_added": 1,
    "account_updated": 2,
    "margin_call": 3,
    "stop_out": 4,
    "user_updated": 5,
}

RET_INVALID_DATA = 3
RET_NO_CONNECT = 6
RET_ACCOUNT_NOT_FOUND = 13
RET_GROUP_NOT_FOUND = 14
RET_NOT_FOUND = 15
RET_DUPLICATE = 66
RET_TRADE_DISABLED = 133
RET_TRADE_NO_MONEY = 134
RET_ERROR = 2
_RETS = {
    "invalid": RET_INVALID_DATA,
    "server_unknown": RET_NO_CONNECT,
    "login_not_found": RET_ACCOUNT_NOT_FOUND,
    "group_unknown": RET_GROUP_NOT_FOUND,
    "not_found": RET_NOT_FOUND,
    "op_conflict": RET_DUPLICATE,
    "trade_disabled": RET_TRADE_DISABLED,
    "no_money": RET_TRADE_NO_MONEY,
}


def _money(amount_c: int) -> float:
    return round(amount_c / 100, 2)


def account_json(account: AccountRow) -> dict[str, Any]:
    return {
        "login": account.login,
        "group_id": account.group_id,
        "name": account.name,
        "email": account.email,
        "leverage": account.leverage,
        "enable": 0 if account.rights == "disabled" else 1,
        "enable_read_only": 1 if account.rights == "read_only" else 0,
        "comment": account.comment,
        "balance": _money(account.balance_c),
        "credit": _money(account.credit_c),
        "equity": _money(account.equity_c),
        "margin": _money(account.margin_c),
        "margin_free": _money(account.free_margin_c),
        "margin_level": account.margin_level or 0.0,
        "regdate": account.created_ms // 1000,
        "lastdate": account.updated_ms // 1000,
    }


def _rights(enable: Any, read_only: Any) -> str:
    if enable not in (0, 1) or read_only not in (0, 1):
        raise SimError("invalid", "enable and enable_read_only are 0 or 1.")
    if not enable:
        return "disabled"
    return "read_only" if read_only else "enabled"


def deal_json(deal: DealRow) -> dict[str, Any]:
    return {
        "order": deal.ticket,
        "login": deal.login,
        "cmd": _CMDS[deal.action],
        "entry": 1 if deal.entry == "out" else 0,
        "symbol": deal.symbol,
        "volume": round(deal.volume * VOLUME_UNITS_PER_LOT),
        "price": deal.price,
        "profit": _money(deal.profit_c),
        "commission": _money(deal.commission_c),
        "storage": _money(deal.swap_c),
        "comment": deal.comment[:TRADE_COMMENT_LENGTH],
        "time": deal.time_ms // 1000,
        "position": deal.position or 0,
    }


def operation_json(operation: OperationRow) -> dict[str, Any]:
    sign = -1 if operation.kind in ("withdrawal", "credit_out") else 1
    return {
        "order": operation.ticket,
        "login": operation.login,
        "cmd": OP_BALANCE if operation.kind in ("deposit", "withdrawal") else OP_CREDIT,
        "amount": _money(sign * operation.amount_c),
        "comment": operation.op_key,
        "balance": _money(operation.balance_c),
        "credit": _money(operation.credit_c),
        "time": operation.time_ms // 1000,
        "repeated": operation.repeated,
    }


def event_json(event: EventRow) -> dict[str, Any]:
    return {
        "seq": event.seq,
        "type": EVENT_TYPES[event.kind],
        "login": event.login,
        "time": event.time_ms // 1000,
        "data": event.payload,
    }


def _mt4(sim: Simulator, handler: Callable[[Request, str], Any]) -> Callable[[Request], Any]:
    def wrapped(request: Request) -> Any:
        server = request.params["server"]
        try:
            if sim.store.server_flavour(server) != "mt4":
                raise SimError("server_unknown", f"{server} is not an MT4 server.")
            return handler(request, server)
        except SimError as exc:
            return 200, {"ret": _RETS.get(exc.kind, RET_ERROR), "error": exc.detail}

    return wrapped


def _offset_page(request: Request) -> tuple[int, int]:
    return query_int(request, "offset", default=0), page_limit(request)


def register(app: JsonApp, sim: Simulator) -> None:
    store = sim.store

    def route(method: str, pattern: str) -> Callable[[Callable[[Request, str], Any]], None]:
        def decorate(handler: Callable[[Request, str], Any]) -> None:
            app.route(method, "/mt4/{server}" + pattern)(_mt4(sim, handler))

        return decorate

    @route("GET", "/groups")
    def groups(request: Request, server: str) -> Any:
        return {
            "groups": [
                {
                    "id": group.group_id,
                    "group": group.name,
                    "currency": group.currency,
                    "default_leverage": group.leverage,
                    "margin_call": group.margin_call,
                    "margin_stopout": group.stop_out,
                }
                for group in store.groups(server)
            ]
        }

    @route("POST", "/users")
    def user_create(request: Request, server: str) -> Any:
        body = body_object(request)
        group = store.group(server, group_id=int_field(body, "group_id"))
        account = operations.user_create(
            store,
            server,
            group=group.name,
            name=body.get("name"),
            email=body.get("email"),
            leverage=body.get("leverage"),
            rights=_rights(body.get("enable", 1), body.get("enable_read_only", 0)),
            comment=body.get("comment"),
        )
        return account_json(account)

    @route("GET", "/users/{login}")
    def user_get(request: Request, server: str) -> Any:
        return account_json(store.account(server, path_login(request)))

    # MT4's user update is a POST of the changed record, not a PATCH.
    @route("POST", "/users/{login}")
    def user_update(request: Request, server: str) -> Any:
        body = body_object(request)
        login = path_login(request)
        current = store.account(server, login)
        changes: dict[str, Any] = {
            k: body[k] for k in ("name", "email", "leverage", "comment") if k in body
        }
        if "group_id" in body:
            changes["group"] = store.group(server, group_id=int_field(body, "group_id")).name
        if "enable" in body or "enable_read_only" in body:
            changes["rights"] = _rights(
                body.get("enable", 0 if current.rights == "disabled" else 1),
                body.get("enable_read_only", 1 if current.rights == "read_only" else 0),
            )
        return account_json(operations.user_update(store, server, login, changes))

    @route("GET", "/users")
    def users(request: Request, server: str) -> Any:
        comment = request.query.get("comment")
        if comment:  # a lookup by the comment the client set at creation, not a page
            rows = store.accounts_with_comment(server, comment)
            return {"users": [account_json(row) for row in rows], "total": len(rows)}
        offset, limit = _offset_page(request)
        rows, total = store.accounts_offset(server, offset, limit)
        return {"users": [account_json(row) for row in rows], "total": total}

    @route("POST", "/trades")
    def trade(request: Request, server: str) -> Any:
        body = body_object(request)
        cmd = int_field(body, "cmd")
        login = int_field(body, "login")
        amount_c = float_cents(body.get("amount"), "amount")
        if cmd not in (OP_BALANCE, OP_CREDIT):
            raise SimError("invalid", "Only balance (cmd 6) and credit (cmd 7) trades here.")
        if amount_c == 0:
            raise SimError("invalid", "amount must not be zero.")
        if cmd == OP_BALANCE:
            kind = "deposit" if amount_c > 0 else "withdrawal"
        else:
            kind = "credit_in" if amount_c > 0 else "credit_out"
        comment = body.get("comment") or ""
        if not isinstance(comment, str):
            raise SimError("invalid", "comment is text.")
        before_balance_operation(sim)
        assert login is not None
        result = operations.balance_operation(
            store,
            server,
            login,
            kind=kind,
            amount_c=abs(amount_c),
            # The quirk a client must design for: anything past 31 characters is lost.
            comment=comment[:TRADE_COMMENT_LENGTH],
        )
        after_balance_operation(sim)
        return operation_json(result)

    @route("GET", "/trades")
    def trades_find(request: Request, server: str) -> Any:
        login = query_int(request, "login", default=0, minimum=1)
        store.account(server, login)
        comment = (request.query.get("comment") or "")[:TRADE_COMMENT_LENGTH]
        found = operations.operation_find(store, server, comment, login)
        return {"trades": [operation_json(found)] if found else []}

    @route("GET", "/open-trades")
    def open_trades(request: Request, server: str) -> Any:
        login = query_int(request, "login", default=0) or None
        return {
            "trades": [
                {
                    "order": p.ticket,
                    "login": p.login,
                    "symbol": p.symbol,
                    "cmd": _CMDS[p.side],
                    "volume": round(p.volume * VOLUME_UNITS_PER_LOT),
                    "open_price": p.open_price,
                    "close_price": store.prices[p.symbol],
                    "open_time": p.open_ms // 1000,
                }
                for p in store.positions(server, login)
            ]
        }

    @route("GET", "/history")
    def history(request: Request, server: str) -> Any:
        offset, limit = _offset_page(request)
        rows, total = store.deals_offset(server, offset, limit)
        return {"trades": [deal_json(row) for row in rows], "total": total}

    @route("GET", "/events")
    def events(request: Request, server: str) -> Any:
        after = query_int(request, "seq", default=0)
        rows, more = store.events_after(server, after, page_limit(request))
        return {"events": [event_json(row) for row in rows], "more": more}
