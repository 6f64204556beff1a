"""What payments tells the client (`brokercrm.notifications`): money in, money out, refused."""

from __future__ import annotations

from typing import Any

from django.utils.translation import gettext_noop

from brokercrm import notifications
from brokercrm.notifications.formatting import amount_text

from . import events


def deposit_credited(event: Any) -> dict[str, Any]:
    payload = event.payload
    credited = payload.get("credited_amount", payload.get("amount"))
    currency = payload.get("wallet_currency") or payload.get("currency")
    return {"amount": amount_text(credited, currency)}


def withdrawal(event: Any) -> dict[str, Any]:
    payload = event.payload
    return {"amount": amount_text(payload.get("amount"), payload.get("currency"))}


def connect() -> None:
    notifications.register(
        events.DEPOSIT_CREDITED,
        kind="deposit_credited",
        title=gettext_noop("Your deposit has arrived"),
        body=gettext_noop("We have credited %(amount)s to your wallet."),
        build=deposit_credited,
    )
    notifications.register(
        events.WITHDRAWAL_PAID,
        kind="withdrawal_paid",
        title=gettext_noop("Your withdrawal has been paid"),
        body=gettext_noop(
            "We have paid out your withdrawal of %(amount)s. Depending on your bank it may "
            "take a few working days to reach your account."
        ),
        build=withdrawal,
    )
    notifications.register(
        events.WITHDRAWAL_REJECTED,
        kind="withdrawal_rejected",
        title=gettext_noop("Your withdrawal was not processed"),
        body=gettext_noop(
            "We could not process your withdrawal of %(amount)s. The money is back in your "
            "wallet. Please contact our support team if you need help."
        ),
        build=withdrawal,
    )
