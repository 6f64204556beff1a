"""The simulator's value types and small helpers: refusals (`SimError`), rows read from the
store, and money held as integer cents (no float drift in balances)."""

from __future__ import annotations

import time
from dataclasses import dataclass
from typing import Any

RIGHTS = ("enabled", "disabled", "read_only")
EVENT_KINDS = ("deal_added", "account_updated", "margin_call", "stop_out", "user_updated")


class SimError(Exception):
    """A refusal; each API flavour turns `kind` into its own error shape."""

    def __init__(self, kind: str, detail: str) -> None:
        super().__init__(detail)
        self.kind = kind
        self.detail = detail


def now_ms() -> int:
    return int(time.time() * 1000)


def cents(amount: float) -> int:
    return round(amount * 100)


@dataclass(frozen=True, slots=True)
class GroupRow:
    server: str
    group_id: int
    name: str
    currency: str
    leverage: int
    margin_call: float
    stop_out: float


@dataclass(frozen=True, slots=True)
class AccountRow:
    server: str
    login: int
    group: str
    group_id: int
    currency: str
    name: str
    email: str
    leverage: int
    rights: str
    comment: str
    balance_c: int
    credit_c: int
    equity_c: int
    margin_c: int
    created_ms: int
    updated_ms: int

    @property
    def free_margin_c(self) -> int:
        return self.equity_c - self.margin_c

    @property
    def margin_level(self) -> float | None:
        # Undefined without margin; the wire formats show 0 there, as the platforms do.
        return round(self.equity_c * 100.0 / self.margin_c, 2) if self.margin_c else None


@dataclass(frozen=True, slots=True)
class OperationRow:
    server: str
    op_key: str
    login: int
    kind: str
    amount_c: int
    ticket: int
    balance_c: int
    credit_c: int
    time_ms: int
    repeated: bool


@dataclass(frozen=True, slots=True)
class DealRow:
    ticket: int
    server: str
    login: int
    action: str  # buy | sell | balance | credit
    entry: str | None  # in | out for trades, None for balance and credit
    symbol: str
    volume: float
    price: float
    profit_c: int
    commission_c: int
    swap_c: int
    comment: str
    time_ms: int
    position: int | None


@dataclass(frozen=True, slots=True)
class PositionRow:
    ticket: int
    server: str
    login: int
    symbol: str
    side: str
    volume: float
    open_price: float
    open_tick: int
    open_ms: int


@dataclass(frozen=True, slots=True)
class EventRow:
    seq: int
    server: str
    kind: str
    login: int
    time_ms: int
    payload: dict[str, Any]


def money_str(amount_c: int) -> str:
    sign = "-" if amount_c < 0 else ""
    whole, frac = divmod(abs(amount_c), 100)
    return f"{sign}{whole}.{frac:02d}"
