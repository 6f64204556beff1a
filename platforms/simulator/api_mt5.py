"""The MT5-flavoured API under `/mt5/{server}/...`.

Shaped after the MetaTrader 5 Manager/Web API habits: PascalCase fields, money as decimal
strings, `Rights` as a bit mask (USER_RIGHT_ENABLED, USER_RIGHT_TRADE_DISABLED, ...), deal
`Action` and `Entry` as numbers, volumes in 1/10000 lot, swap called `Storage`, times in
milliseconds (`TimeMsc`), path-like group names, cursor paging (`after_login`, `after_ticket`,
`after`). Errors answer an HTTP status with `{"code": "MT_RET_...", "detail": ...}`.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from brokercrm.simulators import HttpError, JsonApp, Request
from platforms.simulator import operations
from platforms.simulator.api_common import (
    Simulator,
    after_balance_operation,
    before_balance_operation,
    body_object,
    decimal_cents,
    page_limit,
    path_login,
    query_int,
)
from platforms.simulator.records import (
    AccountRow,
    DealRow,
    EventRow,
    OperationRow,
    SimError,
    money_str,
)

USER_RIGHT_ENABLED = 0x1
USER_RIGHT_PASSWORD = 0x2
USER_RIGHT_TRADE_DISABLED = 0x4
USER_RIGHT_TRAILING = 0x20
USER_RIGHT_EXPERT = 0x40
USER_RIGHT_REPORTS = 0x100
# Bits every account carries here; only ENABLED and TRADE_DISABLED carry our three states.
_DEFAULT_RIGHTS = USER_RIGHT_PASSWORD | USER_RIGHT_TRAILING | USER_RIGHT_EXPERT | USER_RIGHT_REPORTS

DEAL_BUY, DEAL_SELL, DEAL_BALANCE, DEAL_CREDIT = 0, 1, 2, 3
DEAL_ENTRY_IN, DEAL_ENTRY_OUT = 0, 1
_ACTIONS = {"buy": DEAL_BUY, "sell": DEAL_SELL, "balance": DEAL_BALANCE, "credit": DEAL_CREDIT}
VOLUME_UNITS_PER_LOT = 10_000

_ERRORS: dict[str, tuple[int, str]] = {
    "invalid": (400, "MT_RET_ERR_PARAMS"),
    "server_unknown": (404, "MT_RET_ERR_NOSERVICE"),
    "login_not_found": (404, "MT_RET_ERR_NOTFOUND"),
    "not_found": (404, "MT_RET_ERR_NOTFOUND"),
    "group_unknown": (400, "MT_RET_USR_INVALID_GROUP"),
    "no_money": (400, "MT_RET_REQUEST_NO_MONEY"),
    "trade_disabled": (403, "MT_RET_REQUEST_TRADE_DISABLED"),
    "op_conflict": (409, "MT_RET_ERR_DUPLICATE"),
}


def rights_mask(rights: str) -> int:
    if rights == "disabled":
        return _DEFAULT_RIGHTS
    if rights == "read_only":
        return _DEFAULT_RIGHTS | USER_RIGHT_ENABLED | USER_RIGHT_TRADE_DISABLED
    return _DEFAULT_RIGHTS | USER_RIGHT_ENABLED


def rights_from_mask(mask: Any) -> str:
    if not isinstance(mask, int) or isinstance(mask, bool) or mask < 0:
        raise SimError("invalid", "Rights is a non-negative integer bit mask.")
    if not mask & USER_RIGHT_ENABLED:
        return "disabled"
    return "read_only" if mask & USER_RIGHT_TRADE_DISABLED else "enabled"


def account_json(account: AccountRow) -> dict[str, Any]:
    level = account.margin_level
    return {
        "Login": account.login,
        "Group": account.group,
        "Name": account.name,
        "Email": account.email,
        "Leverage": account.leverage,
        "Rights": rights_mask(account.rights),
        "Comment": account.comment,
        "Balance": money_str(account.balance_c),
        "Credit": money_str(account.credit_c),
        "Equity": money_str(account.equity_c),
        "Margin": money_str(account.margin_c),
        "MarginFree": money_str(account.free_margin_c),
        # MT5 shows 0 when there is no margin; the connector turns that into None.
        "MarginLevel": f"{level or 0:.2f}",
        "Registration": account.created_ms // 1000,
        "LastUpdateMsc": account.updated_ms,
    }


def deal_json(deal: DealRow) -> dict[str, Any]:
    return {
        "Deal": deal.ticket,
        "Login": deal.login,
        "Action": _ACTIONS[deal.action],
        "Entry": DEAL_ENTRY_OUT if deal.entry == "out" else DEAL_ENTRY_IN,
        "Symbol": deal.symbol,
        "Volume": round(deal.volume * VOLUME_UNITS_PER_LOT),
        "Price": deal.price,
        "Profit": money_str(deal.profit_c),
        "Commission": money_str(deal.commission_c),
        "Storage": money_str(deal.swap_c),
        "Comment": deal.comment,
        "TimeMsc": deal.time_ms,
        "PositionID": deal.position or 0,
    }


def operation_json(operation: OperationRow) -> dict[str, Any]:
    return {
        "Deal": operation.ticket,
        "Login": operation.login,
        "Type": operation.kind,
        "Amount": money_str(operation.amount_c),
        "Comment": operation.op_key,
        "Balance": money_str(operation.balance_c),
        "Credit": money_str(operation.credit_c),
        "TimeMsc": operation.time_ms,
        "Repeated": operation.repeated,
    }


def event_json(event: EventRow) -> dict[str, Any]:
    return {
        "Id": event.seq,
        "Type": event.kind,
        "Login": event.login,
        "TimeMsc": event.time_ms,
        "Data": event.payload,
    }


def _mt5(sim: Simulator, handler: Callable[[Request, str], Any]) -> Callable[[Request], Any]:
    """Check the server is an MT5 one and translate refusals into MT5-style errors."""

    def wrapped(request: Request) -> Any:
        server = request.params["server"]
        try:
            if sim.store.server_flavour(server) != "mt5":
                raise SimError("server_unknown", f"{server} is not an MT5 server.")
            return handler(request, server)
        except SimError as exc:
            status, code = _ERRORS.get(exc.kind, (400, "MT_RET_ERROR"))
            raise HttpError(status, code, exc.detail) from None

    return wrapped


def register(app: JsonApp, sim: Simulator) -> None:
    store = sim.store

    def route(method: str, pattern: str) -> Callable[[Callable[[Request, str], Any]], None]:
        def decorate(handler: Callable[[Request, str], Any]) -> None:
            app.route(method, "/mt5/{server}" + pattern)(_mt5(sim, handler))

        return decorate

    @route("GET", "/groups")
    def groups(request: Request, server: str) -> Any:
        return {
            "Groups": [
                {
                    "Group": group.name,
                    "Currency": group.currency,
                    "Leverage": group.leverage,
                    "MarginCall": group.margin_call,
                    "MarginStopOut": group.stop_out,
                }
                for group in store.groups(server)
            ]
        }

    @route("POST", "/users")
    def user_create(request: Request, server: str) -> Any:
        body = body_object(request)
        account = operations.user_create(
            store,
            server,
            group=str(body.get("Group") or ""),
            name=body.get("Name"),
            email=body.get("Email"),
            leverage=body.get("Leverage"),
            rights=rights_from_mask(body.get("Rights", rights_mask("enabled"))),
            comment=body.get("Comment"),
        )
        return account_json(account)

    @route("GET", "/users/{login}")
    def user_get(request: Request, server: str) -> Any:
        return account_json(store.account(server, path_login(request)))

    @route("GET", "/users")
    def users_by_comment(request: Request, server: str) -> Any:
        comment = request.query.get("comment")
        if not comment:
            raise SimError("invalid", "comment is required (paging is under /accounts).")
        return {
            "Users": [account_json(row) for row in store.accounts_with_comment(server, comment)]
        }

    @route("PATCH", "/users/{login}")
    def user_update(request: Request, server: str) -> Any:
        body = body_object(request)
        fields = {"Group": "group", "Name": "name", "Email": "email", "Leverage": "leverage"}
        changes = {ours: body[theirs] for theirs, ours in fields.items() if theirs in body}
        if "Comment" in body:
            changes["comment"] = body["Comment"]
        if "Rights" in body:
            changes["rights"] = rights_from_mask(body["Rights"])
        return account_json(operations.user_update(store, server, path_login(request), changes))

    @route("POST", "/users/{login}/balance")
    def balance(request: Request, server: str) -> Any:
        body = body_object(request)
        login = path_login(request)
        amount_c = decimal_cents(body.get("Amount"), "Amount")
        before_balance_operation(sim)
        result = operations.balance_operation(
            store,
            server,
            login,
            kind=str(body.get("Type")),
            amount_c=amount_c,
            comment=body.get("Comment") or "",
        )
        after_balance_operation(sim)
        return operation_json(result)

    @route("GET", "/users/{login}/balance")
    def balance_find(request: Request, server: str) -> Any:
        login = path_login(request)
        store.account(server, login)  # an unknown login is an error, not "no operation"
        comment = request.query.get("comment") or ""
        found = operations.operation_find(store, server, comment, login)
        # MT5 answers "ok, no data" rather than an error when nothing matches.
        return {"Operation": operation_json(found) if found else None}

    @route("GET", "/accounts")
    def accounts(request: Request, server: str) -> Any:
        after = query_int(request, "after_login", default=0)
        rows, more = store.accounts_after(server, after, page_limit(request))
        return {
            "Accounts": [account_json(row) for row in rows],
            "NextAfterLogin": rows[-1].login if more and rows else None,
        }

    @route("GET", "/positions")
    def positions(request: Request, server: str) -> Any:
        login = query_int(request, "login", default=0) or None
        return {
            "Positions": [
                {
                    "Position": p.ticket,
                    "Login": p.login,
                    "Symbol": p.symbol,
                    "Action": _ACTIONS[p.side],
                    "Volume": round(p.volume * VOLUME_UNITS_PER_LOT),
                    "PriceOpen": p.open_price,
                    "PriceCurrent": store.prices[p.symbol],
                    "TimeCreateMsc": p.open_ms,
                }
                for p in store.positions(server, login)
            ]
        }

    @route("GET", "/deals")
    def deals(request: Request, server: str) -> Any:
        after = query_int(request, "after_ticket", default=0)
        rows, more = store.deals_after(server, after, page_limit(request))
        return {
            "Deals": [deal_json(row) for row in rows],
            "NextAfterTicket": rows[-1].ticket if more and rows else None,
        }

    @route("GET", "/events")
    def events(request: Request, server: str) -> Any:
        after = query_int(request, "after", default=0)
        rows, more = store.events_after(server, after, page_limit(request))
        return {
            "Events": [event_json(row) for row in rows],
            "Next": rows[-1].seq if more and rows else None,
        }
