"""The MT4-style connector: lowercase fields, numeric group ids, `enable` /
`enable_read_only` flags, money as floats, balance and credit as trades with `cmd` 6 / 7 and a
signed amount, volumes in 1/100 lot, unix-second times, offset paging, event cursor `seq`.

Refusals arrive as HTTP 200 with a non-zero `ret`; `_raise_for` looks at that first.
"""

from __future__ import annotations

from decimal import Decimal
from typing import Any, ClassVar

from brokercrm.httpjson import JsonResponse
from platforms.connectors.base import (
    BalanceResult,
    Deal,
    DealKind,
    EventKind,
    GroupUnknown,
    HttpConnector,
    InsufficientMargin,
    LoginNotFound,
    OperationConflict,
    OperationKind,
    Page,
    PlatformAccount,
    PlatformError,
    PlatformGroup,
    PlatformRefused,
    Rights,
    TradingEvent,
    UncertainOutcome,
    checked_limit,
    cursor_int,
    from_unix,
    wire_amount,
)

OP_BALANCE, OP_CREDIT = 6, 7
_DEAL_KINDS: dict[int, DealKind] = {0: "buy", 1: "sell", OP_BALANCE: "balance", OP_CREDIT: "credit"}
_EVENT_KINDS: dict[int, EventKind] = {
    1: "deal_added",
    2: "account_updated",
    3: "margin_call",
    4: "stop_out",
    5: "user_updated",
}
_VOLUME_UNITS_PER_LOT = Decimal(100)
_ERRORS: dict[int, type[PlatformRefused]] = {
    13: LoginNotFound,
    14: GroupUnknown,
    66: OperationConflict,
    134: InsufficientMargin,
}


def _flags(rights: Rights) -> dict[str, int]:
    return {
        "enable": 0 if rights == "disabled" else 1,
        "enable_read_only": 1 if rights == "read_only" else 0,
    }


def _rights(raw: dict[str, Any]) -> Rights:
    if not raw["enable"]:
        return "disabled"
    return "read_only" if raw["enable_read_only"] else "enabled"


def _kind(cmd: int, signed_amount: Decimal) -> OperationKind:
    if cmd == OP_BALANCE:
        return "deposit" if signed_amount > 0 else "withdrawal"
    return "credit_in" if signed_amount > 0 else "credit_out"


class Mt4Connector(HttpConnector):
    kind: ClassVar[str] = "mt4"

    def _raise_for(self, response: JsonResponse) -> None:
        body = response.body if isinstance(response.body, dict) else {}
        ret = body.get("ret")
        if response.ok and not ret:
            return
        code = int(ret) if isinstance(ret, int) else response.status
        detail = f"{self.server}: {body.get('error') or body.get('detail') or 'refused'} ({code})"
        raise _ERRORS.get(code, PlatformRefused)(detail, extra={"platform_code": code})

    def _load_groups(self) -> list[PlatformGroup]:
        body = self._call("GET", "/groups")
        with self._reading("group list"):
            return [
                PlatformGroup(
                    name=raw["group"],
                    currency=raw["currency"],
                    leverage=int(raw["default_leverage"]),
                    margin_call=Decimal(repr(float(raw["margin_call"]))),
                    stop_out=Decimal(repr(float(raw["margin_stopout"]))),
                    group_id=int(raw["id"]),
                )
                for raw in body.get("groups", [])
            ]

    def _account(self, raw: dict[str, Any]) -> PlatformAccount:
        with self._reading("account"):
            group = self._group(group_id=int(raw["group_id"]))
            margin = wire_amount(raw["margin"])
            return PlatformAccount(
                login=int(raw["login"]),
                group=group.name,
                currency=group.currency,
                leverage=int(raw["leverage"]),
                rights=_rights(raw),
                balance=wire_amount(raw["balance"]),
                credit=wire_amount(raw["credit"]),
                equity=wire_amount(raw["equity"]),
                margin=margin,
                free_margin=wire_amount(raw["margin_free"]),
                margin_level=wire_amount(raw["margin_level"]) if margin else None,
                name=raw.get("name") or "",
                comment=raw.get("comment") or "",
                email=raw.get("email") or "",
            )

    def user_create(
        self, *, group: str, name: str, email: str, leverage: int, rights: Rights, comment: str
    ) -> PlatformAccount:
        # MT4 takes a group id: an unknown name is refused here, before anything is sent.
        group_id = self._group(name=group).group_id
        body = {
            "group_id": group_id,
            "name": name,
            "email": email,
            "leverage": leverage,
            "comment": comment,
            **_flags(rights),
        }
        return self._account(self._call("POST", "/users", body=body))

    def user_get(self, login: int) -> PlatformAccount:
        return self._account(self._call("GET", f"/users/{int(login)}"))

    def users_by_comment(self, comment: str) -> list[PlatformAccount]:
        body = self._call("GET", "/users", query={"comment": comment})
        return [self._account(raw) for raw in body.get("users") or []]

    def user_set_rights(self, login: int, rights: Rights) -> PlatformAccount:
        return self._account(self._call("POST", f"/users/{int(login)}", body=_flags(rights)))

    def _result(
        self,
        raw: dict[str, Any],
        operation_id: str,
        *,
        replayed: bool,
        error: type[PlatformError] = PlatformError,
    ) -> BalanceResult:
        with self._reading("balance operation", error):
            signed = wire_amount(raw["amount"])
            return BalanceResult(
                operation_id=operation_id,
                login=int(raw["login"]),
                kind=_kind(int(raw["cmd"]), signed),
                amount=abs(signed),
                ticket=int(raw["order"]),
                new_balance=wire_amount(raw["balance"]),
                new_credit=wire_amount(raw["credit"]),
                time=from_unix(raw["time"]),
                replayed=replayed or bool(raw.get("repeated")),
            )

    def _balance_post(
        self, *, login: int, kind: OperationKind, amount: Decimal, comment: str, operation_id: str
    ) -> BalanceResult:
        cmd = OP_BALANCE if kind in ("deposit", "withdrawal") else OP_CREDIT
        signed = -amount if kind in ("withdrawal", "credit_out") else amount
        # MT4 carries amounts as doubles; a 2-decimal Decimal survives the trip exactly
        # (the server rounds to cents and the answer is read back through repr).
        body = {"login": int(login), "cmd": cmd, "amount": float(signed), "comment": comment}
        return self._result(
            self._call("POST", "/trades", body=body),
            operation_id,
            replayed=False,
            error=UncertainOutcome,
        )

    def _operation_lookup(
        self, login: int, comment: str, operation_id: str
    ) -> BalanceResult | None:
        body = self._call("GET", "/trades", query={"login": int(login), "comment": comment})
        trades = body.get("trades") or []
        return self._result(trades[0], operation_id, replayed=True) if trades else None

    def accounts_page(self, cursor: str | None, limit: int) -> Page[PlatformAccount]:
        offset = cursor_int(cursor, "offset")
        body = self._call("GET", "/users", query={"offset": offset, "limit": checked_limit(limit)})
        items = tuple(self._account(raw) for raw in body.get("users", []))
        return _offset_page(items, offset, int(body.get("total", 0)))

    def deals_page(self, after: str | None, limit: int) -> Page[Deal]:
        # MT4 history is append-only in ticket order, so an offset is a stable cursor.
        offset = cursor_int(after, "offset")
        body = self._call(
            "GET", "/history", query={"offset": offset, "limit": checked_limit(limit)}
        )
        items = tuple(self._deal(raw) for raw in body.get("trades", []))
        return _offset_page(items, offset, int(body.get("total", 0)))

    def _deal(self, raw: dict[str, Any]) -> Deal:
        with self._reading("deal"):
            kind = _DEAL_KINDS[int(raw["cmd"])]
            trade = kind in ("buy", "sell")
            return Deal(
                ticket=int(raw["order"]),
                login=int(raw["login"]),
                kind=kind,
                entry=("out" if int(raw["entry"]) == 1 else "in") if trade else None,
                symbol=raw.get("symbol") or "",
                volume=Decimal(int(raw["volume"])) / _VOLUME_UNITS_PER_LOT,
                price=Decimal(repr(float(raw["price"]))),
                profit=wire_amount(raw["profit"]),
                commission=wire_amount(raw["commission"]),
                swap=wire_amount(raw["storage"]),
                comment=raw.get("comment") or "",
                time=from_unix(raw["time"]),
                position=int(raw["position"]) or None,
            )

    def events_page(self, after: str | None, limit: int) -> Page[TradingEvent]:
        start = cursor_int(after, "seq")
        body = self._call("GET", "/events", query={"seq": start, "limit": checked_limit(limit)})
        items: list[TradingEvent] = []
        with self._reading("event"):
            for raw in body.get("events", []):
                items.append(
                    TradingEvent(
                        cursor=str(raw["seq"]),
                        kind=_EVENT_KINDS[int(raw["type"])],
                        login=int(raw["login"]),
                        payload=raw.get("data") or {},
                        time=from_unix(raw["time"]),
                    )
                )
        resume = items[-1].cursor if items else str(start)
        return Page(tuple(items), resume if body.get("more") else None, resume)


def _offset_page(items: tuple[Any, ...], offset: int, total: int) -> Page[Any]:
    end = offset + len(items)
    return Page(items, str(end) if items and end < total else None, str(end))
