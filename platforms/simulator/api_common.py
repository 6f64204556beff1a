"""What the three route sets (MT5, MT4, admin) share: the running simulator's context, the
fault switches, and query/body parsing that reports bad input as `SimError("invalid")`."""

from __future__ import annotations

import threading
from dataclasses import dataclass, field
from decimal import Decimal, InvalidOperation
from typing import Any

from brokercrm.simulators import DropConnection, Request
from platforms.simulator.records import SimError
from platforms.simulator.store import Store

MAX_PAGE = 10_000


@dataclass
class Faults:
    """Counters armed by `POST /admin/faults`; each balance operation consumes one.

    `drop_after_apply`: apply, commit, then close the connection without answering (the client
    sees a timeout although the money moved). `drop_before_apply`: close without applying (the
    client sees the same timeout, but nothing happened)."""

    drop_after_apply: int = 0
    drop_before_apply: int = 0
    _lock: threading.Lock = field(default_factory=threading.Lock, repr=False)

    def arm(self, *, drop_after_apply: int, drop_before_apply: int) -> None:
        with self._lock:
            self.drop_after_apply = drop_after_apply
            self.drop_before_apply = drop_before_apply

    def take(self, name: str) -> bool:
        with self._lock:
            left = getattr(self, name)
            if left > 0:
                setattr(self, name, left - 1)
                return True
            return False

    def as_dict(self) -> dict[str, int]:
        with self._lock:
            return {
                "drop_after_apply": self.drop_after_apply,
                "drop_before_apply": self.drop_before_apply,
            }


@dataclass
class Simulator:
    store: Store
    faults: Faults
    traders: int


def before_balance_operation(sim: Simulator) -> None:
    if sim.faults.take("drop_before_apply"):
        raise DropConnection


def after_balance_operation(sim: Simulator) -> None:
    # The operation is committed by now: dropping here is exactly "acted, never answered".
    if sim.faults.take("drop_after_apply"):
        raise DropConnection


def query_int(
    request: Request, name: str, *, default: int, minimum: int = 0, maximum: int = 2**62
) -> int:
    raw = request.query.get(name)
    if raw is None or raw == "":
        return default
    try:
        value = int(raw)
    except ValueError:
        raise SimError("invalid", f"{name} must be an integer.") from None
    if not minimum <= value <= maximum:
        raise SimError("invalid", f"{name} must be from {minimum} to {maximum}.")
    return value


def page_limit(request: Request, default: int = 1_000) -> int:
    return query_int(request, "limit", default=default, minimum=1, maximum=MAX_PAGE)


def path_login(request: Request) -> int:
    try:
        login = int(request.params["login"])
    except ValueError:
        raise SimError("invalid", "A login is a positive integer.") from None
    if login < 1:
        raise SimError("invalid", "A login is a positive integer.")
    return login


def body_object(request: Request) -> dict[str, Any]:
    try:
        body = request.json()
    except Exception:
        raise SimError("invalid", "The body is not valid JSON.") from None
    if not isinstance(body, dict):
        raise SimError("invalid", "The body must be a JSON object.")
    return body


def decimal_cents(value: Any, field_name: str) -> int:
    """A money string such as "100.00" as integer cents; more than 2 decimals is refused,
    never rounded (the server must not move a different amount than it was asked to)."""
    if not isinstance(value, str):
        raise SimError("invalid", f'{field_name} is a decimal string such as "100.00".')
    try:
        amount = Decimal(value)
    except InvalidOperation:
        raise SimError("invalid", f"{field_name} is not a decimal number.") from None
    if not amount.is_finite() or amount != amount.quantize(Decimal("0.01")):
        raise SimError("invalid", f"{field_name} has at most 2 decimal places.")
    return int(amount * 100)


def float_cents(value: Any, field_name: str) -> int:
    """MT4 sends floats; two decimals are what its protocol carries, so round to cents."""
    if not isinstance(value, int | float) or isinstance(value, bool):
        raise SimError("invalid", f"{field_name} is a number.")
    if value != value or value in (float("inf"), float("-inf")):
        raise SimError("invalid", f"{field_name} is not a finite number.")
    return round(value * 100)


def int_field(body: dict[str, Any], name: str, *, required: bool = True) -> int | None:
    value = body.get(name)
    if value is None and not required:
        return None
    if not isinstance(value, int) or isinstance(value, bool):
        raise SimError("invalid", f"{name} must be an integer.")
    return value
