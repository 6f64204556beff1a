"""Values as the texts show them: amounts at their currency's minor units with the code."""

from __future__ import annotations

from decimal import Decimal, InvalidOperation
from typing import Any

from brokercrm.money import round_minor


def amount_text(amount: Any, currency: Any) -> str:
    """ "1,250.00 EUR"; a payload value that is not an amount is shown as it is."""
    currency = str(currency or "").upper()[:3]
    try:
        value = round_minor(Decimal(str(amount)), currency) if currency else Decimal(str(amount))
    except (InvalidOperation, ValueError, KeyError):
        return f"{amount} {currency}".strip()
    return f"{value:,f} {currency}".strip()
