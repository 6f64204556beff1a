"""What platforms tells the client (`brokercrm.notifications`): a margin call."""

from __future__ import annotations

from decimal import Decimal, InvalidOperation
from typing import Any

from django.utils.translation import gettext_noop

from brokercrm import notifications
from brokercrm.notifications.formatting import amount_text

from . import events


def margin_call(event: Any) -> dict[str, Any]:
    payload = event.payload
    try:
        level = f"{Decimal(str(payload.get('margin_level'))).quantize(Decimal('0.01'))}%"
    except (InvalidOperation, ValueError):
        level = str(payload.get("margin_level", ""))
    return {
        "login": payload.get("login", ""),
        "margin_level": level,
        "equity": amount_text(payload.get("equity"), payload.get("currency")),
    }


def connect() -> None:
    notifications.register(
        events.MARGIN_CALL,
        kind="margin_call",
        title=gettext_noop("Margin call on account %(login)s"),
        body=gettext_noop(
            "The margin level of your trading account %(login)s has fallen to "
            "%(margin_level)s (equity %(equity)s). Add funds or reduce your positions to avoid "
            "them being closed automatically."
        ),
        build=margin_call,
    )
