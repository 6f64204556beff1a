"""Money in the kernel: one way to read an amount, one rounding rule, one column shape.

Amounts are `Decimal`, stored as NUMERIC(24, 8) beside an ISO 4217 currency. Inside the system
nothing is rounded; an amount is rounded to its currency's minor units only at the edges (a PSP
amount, a statement, a commission payout), always half to even (DESIGN.md section 5)."""

from __future__ import annotations

from decimal import ROUND_HALF_EVEN, Decimal, InvalidOperation
from typing import Any

from .errors import ValidationFailed
from .reference import CURRENCY_MINOR_UNITS

# The keyword arguments of every money column: NUMERIC(24, 8).
MONEY = {"max_digits": 24, "decimal_places": 8}
QUANTUM = Decimal(1).scaleb(-MONEY["decimal_places"])
MAX_AMOUNT = Decimal(10) ** (MONEY["max_digits"] - MONEY["decimal_places"]) - QUANTUM
ROUNDING = ROUND_HALF_EVEN


def money(value: Any, *, field_name: str = "amount") -> Decimal:
    """A positive Decimal with at most 8 decimal places, read from input; never a float."""
    if isinstance(value, float):
        raise ValidationFailed(
            f"{field_name} must be a decimal string, not a float.", code="amount_invalid"
        )
    try:
        amount = Decimal(str(value))
    except (InvalidOperation, ValueError) as exc:
        raise ValidationFailed(f"{field_name} is not a number.", code="amount_invalid") from exc
    if not amount.is_finite() or amount <= 0 or amount > MAX_AMOUNT:
        raise ValidationFailed(f"{field_name} must be positive and finite.", code="amount_invalid")
    if amount != amount.quantize(QUANTUM):
        raise ValidationFailed(
            f"{field_name} has more than 8 decimal places.", code="amount_invalid"
        )
    return amount


def minor_unit(currency: str) -> Decimal:
    """The smallest amount of `currency` (0.01 for EUR, 1 for JPY)."""
    return Decimal(1).scaleb(-CURRENCY_MINOR_UNITS[currency])


def round_to(amount: Decimal, quantum: Decimal) -> Decimal:
    """`amount` rounded to `quantum` by the one rule (half to even)."""
    return amount.quantize(quantum, rounding=ROUNDING)


def round_minor(amount: Decimal, currency: str) -> Decimal:
    """`amount` rounded to the minor units of `currency`: for the edges only."""
    return round_to(amount, minor_unit(currency))
