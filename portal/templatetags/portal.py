"""Template filters of the portal pages."""

from __future__ import annotations

from decimal import Decimal, InvalidOperation

from django import template
from django.utils.formats import number_format

register = template.Library()


@register.filter
def rate(value: object) -> str:
    """An exchange rate as a person reads it: at most six decimals, no trailing zeros, in the
    reader's number format (1.1056, not 1.1055555556)."""
    try:
        number = Decimal(str(value)).quantize(Decimal("0.000001")).normalize()
    except (InvalidOperation, ValueError):
        return ""
    places = max(0, -number.as_tuple().exponent)
    return number_format(number, decimal_pos=places)
