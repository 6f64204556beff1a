"""What back-office pages show people: money at its currency's minor units with its code, ages
and deadlines in words, times in the staff member's time zone, JSON evidence as tables."""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal, InvalidOperation
from typing import Any

from django import template
from django.utils import timezone
from django.utils.html import format_html, format_html_join
from django.utils.safestring import SafeString, mark_safe

from brokercrm.money import minor_unit

register = template.Library()


@register.filter
def get(mapping: Any, key: Any) -> Any:
    try:
        return mapping.get(key, "")
    except AttributeError:
        return ""


def money_text(amount: Any, currency: str = "") -> str:
    """`1,234.50 EUR`: rounded to the currency's minor unit for display only."""
    if amount is None or amount == "":
        return "—"
    try:
        value = Decimal(str(amount))
    except InvalidOperation:
        return str(amount)
    places = -minor_unit(currency).as_tuple().exponent if currency else 2
    text = f"{value:,.{max(places, 0)}f}"
    return f"{text} {currency}".strip()


@register.filter
def money(amount: Any, currency: str = "") -> str:
    return money_text(amount, currency)


def _span(seconds: float) -> str:
    seconds = abs(seconds)
    if seconds < 90:
        return f"{int(seconds)} s"
    minutes = seconds / 60
    if minutes < 90:
        return f"{int(minutes)} min"
    hours = minutes / 60
    if hours < 48:
        return f"{int(hours)} h"
    return f"{int(hours / 24)} d"


@register.filter
def age(moment: datetime | None) -> str:
    """How long ago (or, for a deadline passed, how long past)."""
    if not moment:
        return "—"
    return _span((timezone.now() - moment).total_seconds())


@register.filter
def until(moment: datetime | None) -> str:
    if not moment:
        return "—"
    return _span((moment - timezone.now()).total_seconds())


@register.filter
def staff_time(moment: datetime | None) -> str:
    """In the time zone the request activated (the staff member's own)."""
    if not moment:
        return "—"
    local = timezone.localtime(moment)
    return local.strftime("%Y-%m-%d %H:%M ") + (local.tzname() or "")


def _cell(value: Any) -> SafeString:
    if isinstance(value, dict):
        return evidence_table(value)
    if isinstance(value, list):
        if value and all(isinstance(item, dict) for item in value):
            return format_html_join("", "{}", ((evidence_table(item),) for item in value))
        return format_html("{}", ", ".join(str(item) for item in value) or "—")
    if value is None or value == "":
        return format_html("{}", "—")
    if value is True:
        return format_html("{}", "yes")
    if value is False:
        return format_html("{}", "no")
    return format_html("{}", value)


def _label(key: Any) -> str:
    return str(key).replace("_", " ").capitalize()


@register.filter
def evidence_table(document: Any) -> SafeString:
    """A JSON document (a check's evidence, a questionnaire, a risk breakdown, match
    evidence) as a two-column table, nested documents as nested tables."""
    if not isinstance(document, dict):
        return _cell(document)
    if not document:
        return mark_safe('<span class="bo-muted">—</span>')
    rows = format_html_join(
        "",
        '<tr><th scope="row">{}</th><td>{}</td></tr>',
        ((_label(key), _cell(value)) for key, value in document.items()),
    )
    return format_html('<table class="bo-kv">{}</table>', rows)
