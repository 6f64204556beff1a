"""Finding a client by a trading account login, among the accounts the user may see."""

from __future__ import annotations

from typing import Any

from brokercrm.backoffice.registry import person_finder_register

from ..models import TradingAccount

VIEW_ACCOUNT = "platforms.view_tradingaccount"
# Logins are positive 64-bit integers on the servers: at most 18 digits fit without doubt.
MAX_LOGIN_DIGITS = 18


def persons_by_login(user: Any, text: str, limit: int) -> list[int]:
    """The person of the visible account whose login is exactly the text (digits only)."""
    text = text.strip()
    if not text.isascii() or not text.isdigit() or len(text) > MAX_LOGIN_DIGITS:
        return []
    return list(
        TradingAccount.objects.visible_to(user, VIEW_ACCOUNT)
        .filter(login=int(text))
        .order_by("profile__person_id")
        .values_list("profile__person_id", flat=True)
        .distinct()[:limit]
    )


def register() -> None:
    person_finder_register("platforms.login", persons_by_login)
