"""Template context of every portal page: the brand, the entity whose name, regulator,
licence and risk warning the page shows, the signed-in client and the menu."""

from __future__ import annotations

from typing import Any

from django.http import HttpRequest
from django.urls import NoReverseMatch, reverse
from django.utils import translation
from django.utils.translation import gettext_lazy as _

from brokercrm.notifications.services import unread_count
from entities.selectors import risk_warning
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
        "risk_warning": risk_warning(entity, translation.get_language() or "en"),
    }
