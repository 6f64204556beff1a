"""The MT5-style connector: PascalCase fields, money as decimal strings, a `Rights` bit mask,
deal actions and entries as numbers, volumes in 1/10000 lot, times in milliseconds, cursor
paging by login, ticket and event id."""

from __future__ import annotations

from decimal import Decimal
from typing import Any, ClassVar

from brokercrm.httpjson import JsonResponse
from platforms.connectors.base import (
    EVENT_KINDS,
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
    from_unix_ms,
    wire_amount,
)

USER_RIGHT_ENABLED = 0x1
USER_RIGHT_TRADE_DISABLED = 0x4
# An account created here gets the rights a broker's back office usually grants.
_DEFAULT_RIGHTS = 0x2 | 0x20 | 0x40 | 0x100  # password change, trailing, experts, reports
_DEAL_KINDS: dict[int, DealKind] = {0: "buy", 1: "sell", 2: "balance", 3: "credit"}
_VOLUME_UNITS_PER_LOT = Decimal(10_000)
_ERRORS: dict[str, type[PlatformRefused]] = {
    "MT_RET_ERR_NOTFOUND": LoginNotFound,
    "MT_RET_USR_INVALID_GROUP": GroupUnknown,
    "MT_RET_REQUEST_NO_MONEY": InsufficientMargin,
    "MT_RET_ERR_DUPLICATE": OperationConflict,
}


def rights_from_mask(mask: int) -> Rights:
    if not mask & USER_RIGHT_ENABLED:
        return "disabled"
    return "read_only" if mask & USER_RIGHT_TRADE_DISABLED else "enabled"


def mask_with_rights(mask: int, rights: Rights) -> int:
    """Set our three states on an existing mask, keeping the bits we do not manage."""
    mask &= ~(USER_RIGHT_ENABLED | USER_RIGHT_TRADE_DISABLED)
    if rights != "disabled":
        mask |= USER_RIGHT_ENABLED
    if rights == "read_only":
        mask |= USER_RIGHT_TRADE_DISABLED
    return mask


class Mt5Connector(HttpConnector):
    kind: ClassVar[str] = "mt5"

    def _raise_for(self, response: JsonResponse) -> None:
        if response.ok:
            return
        body = response.body if isinstance(response.body, dict) else {}
        code = str(body.get("code") or f"HTTP {response.status}")
        detail = f"{self.server}: {body.get('detail') or code} ({code})"
        raise _ERRORS.get(code, PlatformRefused)(detail, extra={"platform_code": code})

    def _load_groups(self) -> list[PlatformGroup]:
        body = self._call("GET", "/groups")
        with self._reading("group list"):
            return [
                PlatformGroup(
                    name=raw["Group"],
                    currency=raw["Currency"],
                    leverage=int(raw["Leverage"]),
                    margin_call=Decimal(str(raw["MarginCall"])),
                    stop_out=Decimal(str(raw["MarginStopOut"])),
                )
                for raw in body.get("Groups", [])
            ]

    def _account(self, raw: dict[str, Any]) -> PlatformAccount:
        with self._reading("account"):
            margin = wire_amount(raw["Margin"])
            return PlatformAccount(
                login=int(raw["Login"]),
                group=raw["Group"],
                currency=self._group(name=raw["Group"]).currency,
                leverage=int(raw["Leverage"]),
                rights=rights_from_mask(int(raw["Rights"])),
                balance=wire_amount(raw["Balance"]),
                credit=wire_amount(raw["Credit"]),
                equity=wire_amount(raw["Equity"]),
                margin=margin,
                free_margin=wire_amount(raw["MarginFree"]),
                # MT5 reports 0 when there is no margin; "undefined" is what that means.
                margin_level=wire_amount(raw["MarginLevel"]) if margin else None,
                name=raw.get("Name") or "",
                comment=raw.get("Comment") or "",
                email=raw.get("Email") or "",
            )

    def user_create(
        self, *, group: str, name: str, email: str, leverage: int, rights: Rights, comment: str
    ) -> PlatformAccount:
        body = {
            "Group": group,
            "Name": name,
            "Email": email,
            "Leverage": leverage,
            "Rights": mask_with_rights(_DEFAULT_RIGHTS, rights),
            "Comment": comment,
        }
        return self._account(self._call("POST", "/users", body=body))

    def user_get(self, login: int) -> PlatformAccount:
        return self._account(self._call("GET", f"/users/{int(login)}"))

    def users_by_comment(self, comment: str) -> list[PlatformAccount]:
        body = self._call("GET", "/users", query={"comment": comment})
        return [self._account(raw) for raw in body.get("Users") or []]

    def user_set_rights(self, login: int, rights: Rights) -> PlatformAccount:
        # Read-modify-write of the mask: MT5 rights carry more than our three states.
        current = self._call("GET", f"/users/{int(login)}")
        with self._reading("account"):
            mask = mask_with_rights(int(current["Rights"]), rights)
        return self._account(self._call("PATCH", f"/users/{int(login)}", body={"Rights": mask}))

    def _result(
        self,
        raw: dict[str, Any],
        operation_id: str,
        *,
        replayed: bool,
        error: type[PlatformError] = PlatformError,
    ) -> BalanceResult:
        with self._reading("balance operation", error):
            kind: OperationKind = raw["Type"]
            return BalanceResult(
                operation_id=operation_id,
                login=int(raw["Login"]),
                kind=kind,
                amount=wire_amount(raw["Amount"]),
                ticket=int(raw["Deal"]),
                new_balance=wire_amount(raw["Balance"]),
                new_credit=wire_amount(raw["Credit"]),
                time=from_unix_ms(raw["TimeMsc"]),
                replayed=replayed or bool(raw.get("Repeated")),
            )

    def _balance_post(
        self, *, login: int, kind: OperationKind, amount: Decimal, comment: str, operation_id: str
    ) -> BalanceResult:
        body = {"Type": kind, "Amount": str(amount), "Comment": comment}
        raw = self._call("POST", f"/users/{int(login)}/balance", body=body)
        return self._result(raw, operation_id, replayed=False, error=UncertainOutcome)

    def _operation_lookup(
        self, login: int, comment: str, operation_id: str
    ) -> BalanceResult | None:
        raw = self._call("GET", f"/users/{int(login)}/balance", query={"comment": comment})
        found = raw.get("Operation")
        return self._result(found, operation_id, replayed=True) if found else None

    def accounts_page(self, cursor: str | None, limit: int) -> Page[PlatformAccount]:
        after = cursor_int(cursor, "login")
        body = self._call(
            "GET", "/accounts", query={"after_login": after, "limit": checked_limit(limit)}
        )
        items = tuple(self._account(raw) for raw in body.get("Accounts", []))
        nxt = body.get("NextAfterLogin")
        resume = str(items[-1].login) if items else str(after)
        return Page(items, None if nxt is None else str(nxt), resume)

    def deals_page(self, after: str | None, limit: int) -> Page[Deal]:
        start = cursor_int(after, "deal")
        body = self._call(
            "GET", "/deals", query={"after_ticket": start, "limit": checked_limit(limit)}
        )
        items = tuple(self._deal(raw) for raw in body.get("Deals", []))
        nxt = body.get("NextAfterTicket")
        resume = str(items[-1].ticket) if items else str(start)
        return Page(items, None if nxt is None else str(nxt), resume)

    def _deal(self, raw: dict[str, Any]) -> Deal:
        with self._reading("deal"):
            kind = _DEAL_KINDS[int(raw["Action"])]
            trade = kind in ("buy", "sell")
            return Deal(
                ticket=int(raw["Deal"]),
                login=int(raw["Login"]),
                kind=kind,
                entry=("out" if int(raw["Entry"]) == 1 else "in") if trade else None,
                symbol=raw.get("Symbol") or "",
                volume=Decimal(int(raw["Volume"])) / _VOLUME_UNITS_PER_LOT,
                price=Decimal(repr(float(raw["Price"]))),
                profit=wire_amount(raw["Profit"]),
                commission=wire_amount(raw["Commission"]),
                swap=wire_amount(raw["Storage"]),
                comment=raw.get("Comment") or "",
                time=from_unix_ms(raw["TimeMsc"]),
                position=int(raw["PositionID"]) or None,
            )

    def events_page(self, after: str | None, limit: int) -> Page[TradingEvent]:
        start = cursor_int(after, "event")
        body = self._call("GET", "/events", query={"after": start, "limit": checked_limit(limit)})
        with self._reading("event"):
            items = tuple(
                TradingEvent(
                    cursor=str(raw["Id"]),
                    kind=_event_kind(raw["Type"]),
                    login=int(raw["Login"]),
                    payload=raw.get("Data") or {},
                    time=from_unix_ms(raw["TimeMsc"]),
                )
                for raw in body.get("Events", [])
            )
        nxt = body.get("Next")
        resume = items[-1].cursor if items else str(start)
        return Page(items, None if nxt is None else str(nxt), resume)


def _event_kind(value: Any) -> EventKind:
    if value not in EVENT_KINDS:
        raise PlatformError(f"Unknown event type {value!r} from the trading server.")
    return value  # type: ignore[no-any-return]
