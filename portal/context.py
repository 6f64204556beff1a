"""Template context of every portal page: the brand, the entity whose name, regulator,
licence and risk warning the page shows, the signed-in client and the menu.

What every page reads from the entity's rule sets (the risk warning, the wallet currencies a
form offers) is kept in this process for `RULES_CACHE_SECONDS`, by entity (and language):
rules change only by publishing a new version, whose `effective_from` is when it applies, so
a page may show the previous version's text or currency list for at most that long after it
takes effect. Nothing decided is read from here: the services check every currency (and
every other rule) against the version in force when they act."""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any, TypeVar

from django.http import HttpRequest
from django.urls import NoReverseMatch, reverse
from django.utils import translation
from django.utils.translation import gettext_lazy as _

from brokercrm.notifications.services import unread_count
from entities.selectors import risk_warning, wallet_currencies
from ib.selectors import ib_partner_of_client

MENU = (
    ("portal:dashboard", _("Overview")),
    ("portal:verification", _("Verification")),
    ("portal:deposit", _("Deposit")),
    ("portal:withdraw", _("Withdraw")),
    ("portal:transfer", _("Transfer")),
    ("portal:accounts", _("Trading accounts")),
    ("portal:history", _("History")),
    ("portal:documents", _("Documents")),
    ("portal:notifications", _("Notifications")),
    ("portal:profile", _("Profile and security")),
    ("portal:ib", _("Partner area")),
)
# Entries shown only to some clients: the IB area to the entity's introducing brokers.
PARTNERS_ONLY = frozenset({"portal:ib"})

RULES_CACHE_SECONDS = 60.0
_T = TypeVar("_T")
_rules_cache: dict[tuple[Any, ...], tuple[float, Any]] = {}


def rules_cached(key: tuple[Any, ...], read: Callable[[], _T]) -> _T:
    """`read()`, kept in this process for `RULES_CACHE_SECONDS` under `key`."""
    now = time.monotonic()
    hit = _rules_cache.get(key)
    if hit is not None and hit[0] > now:
        return hit[1]  # type: ignore[no-any-return]
    value = read()
    _rules_cache[key] = (now + RULES_CACHE_SECONDS, value)
    return value


def rules_cache_clear() -> None:
    _rules_cache.clear()


def entity_risk_warning(entity: Any, language: str) -> str:
    """The risk warning of the entity's onboarding rules in `language` (see the top)."""
    return rules_cached(
        ("risk_warning", entity.pk, language), lambda: risk_warning(entity, language)
    )


def entity_wallet_currencies(entity: Any) -> list[str]:
    """The currencies the entity (a row) opens wallets in, for a form's choices (see the top)."""
    return list(
        rules_cached(("wallet_currencies", entity.pk), lambda: tuple(wallet_currencies(entity)))
    )


def portal_entity(request: HttpRequest) -> Any:
    """The entity a page speaks for: the signed-in client's (a brand may onboard into
    another entity), else the brand's own."""
    client = getattr(request, "client", None)
    if client is not None:
        return client.profile.entity
    return request.brand.entity


def portal(request: HttpRequest) -> dict[str, Any]:
    if not getattr(request, "portal", False):
        return {}
    brand = request.brand
    entity = portal_entity(request)
    client = request.client
    menu = []
    if client is not None:
        profile = client.profile
        here = request.resolver_match.view_name if request.resolver_match else ""
        partner = ib_partner_of_client(entity_id=profile.entity_id, profile_id=profile.pk)
        for name, label in MENU:
            if name in PARTNERS_ONLY and partner is None:
                continue
            try:
                url = reverse(name)
            except NoReverseMatch:  # a part of the portal that is not installed
                continue
            item = {"url": url, "label": label, "current": name == here}
            if name == "portal:notifications":
                item["badge"] = unread_count(entity_id=profile.entity_id, profile_id=profile.pk)
            menu.append(item)
    theme = brand.theme or {}
    return {
        "brand": brand,
        "entity": entity,
        "client": client,
        "profile": client.profile if client is not None else None,
        "menu": menu,
        "brand_logo": theme.get("logo_url", ""),
        "risk_warning": entity_risk_warning(entity, translation.get_language() or "en"),
    }
