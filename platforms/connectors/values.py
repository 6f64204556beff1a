"""The values every connector returns (frozen dataclasses: Decimal money, timezone-aware UTC
datetimes, group names rather than ids, our three rights states) and the `TradingPlatform`
interface the platforms app programs against."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal
from typing import Any, Generic, Literal, Protocol, TypeVar, get_args, runtime_checkable

Rights = Literal["enabled", "disabled", "read_only"]
OperationKind = Literal["deposit", "withdrawal", "credit_in", "credit_out"]
DealKind = Literal["buy", "sell", "balance", "credit"]
EventKind = Literal["deal_added", "account_updated", "margin_call", "stop_out", "user_updated"]
RIGHTS: tuple[str, ...] = get_args(Rights)
OPERATION_KINDS: tuple[str, ...] = get_args(OperationKind)
EVENT_KINDS: tuple[str, ...] = get_args(EventKind)


@dataclass(frozen=True, slots=True)
class PlatformGroup:
    name: str
    currency: str
    leverage: int
    margin_call: Decimal  # margin level (%) that raises a margin call
    stop_out: Decimal  # margin level (%) at which positions are closed
    group_id: int | None = None  # MT4's numeric id; None on MT5


@dataclass(frozen=True, slots=True)
class PlatformAccount:
    login: int
    group: str
    currency: str
    leverage: int
    rights: Rights
    balance: Decimal
    credit: Decimal
    equity: Decimal
    margin: Decimal
    free_margin: Decimal
    margin_level: Decimal | None  # None without margin (the platforms show 0 there)
    name: str
    comment: str
    email: str = ""


@dataclass(frozen=True, slots=True)
class BalanceResult:
    operation_id: str
    login: int
    kind: OperationKind
    amount: Decimal  # positive; `kind` says which way it went
    ticket: int  # the server's deal / order number
    new_balance: Decimal  # balance right after this operation was applied
    new_credit: Decimal
    time: datetime
    # Always True in a returned result (an operation not on the server is None or an error);
    # kept explicit so a stored result reads plainly.
    applied: bool = True
    # True when this result was not the answer to a fresh apply: it was found again by its id
    # after a lost answer, or the server recognised the id as already applied.
    replayed: bool = False


@dataclass(frozen=True, slots=True)
class Deal:
    ticket: int
    login: int
    kind: DealKind
    entry: Literal["in", "out"] | None  # None for balance and credit deals
    symbol: str
    volume: Decimal  # lots
    price: Decimal
    profit: Decimal
    commission: Decimal
    swap: Decimal
    comment: str
    time: datetime
    position: int | None


@dataclass(frozen=True, slots=True)
class TradingEvent:
    cursor: str
    kind: EventKind
    login: int
    payload: Mapping[str, Any]
    time: datetime


T = TypeVar("T")


@dataclass(frozen=True, slots=True)
class Page(Generic[T]):
    items: tuple[T, ...]
    # Pass back to get the next page; None when this page reached the end.
    next_cursor: str | None
    # Where to continue later even when the end was reached (a feed keeps growing): store it
    # and poll from it. Equal to next_cursor when there is more.
    resume_cursor: str


@runtime_checkable
class TradingPlatform(Protocol):
    @property
    def kind(self) -> str:
        """Which flavour: "mt4" or "mt5"."""
        ...

    @property
    def server(self) -> str:
        """The server's name on the trading platform, e.g. "EU-MT5-Live"."""
        ...

    def groups(self) -> list[PlatformGroup]: ...

    def user_create(
        self, *, group: str, name: str, email: str, leverage: int, rights: Rights, comment: str
    ) -> PlatformAccount: ...

    def user_get(self, login: int) -> PlatformAccount: ...

    def users_by_comment(self, comment: str) -> list[PlatformAccount]:
        """Logins whose comment is exactly `comment`, lowest first: how a create whose answer
        was lost is found again (the CRM puts its own reference in the comment)."""
        ...

    def user_set_rights(self, login: int, rights: Rights) -> PlatformAccount: ...

    def balance_operation(
        self, *, login: int, kind: OperationKind, amount: Decimal, operation_id: str
    ) -> BalanceResult: ...

    def operation_find(self, login: int, operation_id: str) -> BalanceResult | None: ...

    def accounts_page(self, cursor: str | None, limit: int) -> Page[PlatformAccount]: ...

    def deals_page(self, after: str | None, limit: int) -> Page[Deal]: ...

    def events_page(self, after: str | None, limit: int) -> Page[TradingEvent]: ...
