"""The trading tab of the client 360: the profile's trading accounts with their last synced
figures, the newest deals and the margin calls and stop-outs the servers raised."""

from __future__ import annotations

from typing import Any

from django.template.loader import render_to_string
from django.urls import reverse

from brokercrm.backoffice.panels import newest_rows, subject_in_scope
from brokercrm.backoffice.registry import ClientPanel, ClientSubject, panel_register
from brokercrm.scoping import scope_for

from ..models import Deal, TradingAccount, TradingEvent

VIEW_ACCOUNT = "platforms.view_tradingaccount"
VIEW_DEAL = "platforms.view_deal"
VIEW_EVENT = "platforms.view_tradingevent"


def render(request: Any, subject: ClientSubject) -> str | None:
    user = request.user
    if not subject_in_scope(scope_for(user, VIEW_ACCOUNT), subject):
        return None
    profile_ids = subject.visible_profile_ids
    entity_codes = {profile.id: profile.entity_code for profile in subject.visible_profiles}
    accounts, accounts_total = newest_rows(
        TradingAccount.objects.visible_to(user, VIEW_ACCOUNT)
        .filter(profile_id__in=profile_ids)
        .select_related("server")
        .order_by("-created_at", "-pk")
    )
    context: dict[str, Any] = {
        "accounts": [
            {
                "account": account,
                "entity_code": entity_codes.get(account.profile_id, ""),
                "url": reverse("admin:platforms_tradingaccount_change", args=[account.pk]),
            }
            for account in accounts
        ],
        "accounts_total": accounts_total,
        "deals": None,
        "events": None,
    }
    if subject_in_scope(scope_for(user, VIEW_DEAL), subject):
        deals, total = newest_rows(
            Deal.objects.visible_to(user, VIEW_DEAL)
            .filter(account__profile_id__in=profile_ids)
            .select_related("account")
            .order_by("-time", "-ticket")
        )
        context["deals"] = [
            {"deal": deal, "url": reverse("admin:platforms_deal_change", args=[deal.pk])}
            for deal in deals
        ]
        context["deals_total"] = total
    if subject_in_scope(scope_for(user, VIEW_EVENT), subject):
        events, total = newest_rows(
            TradingEvent.objects.visible_to(user, VIEW_EVENT)
            .filter(account__profile_id__in=profile_ids)
            .select_related("account")
            .order_by("-time", "-seq")
        )
        context["events"] = [
            {"event": event, "url": reverse("admin:platforms_tradingevent_change", args=[event.pk])}
            for event in events
        ]
        context["events_total"] = total
    return render_to_string("backoffice/panels/platforms.html", context, request=request)


def register() -> None:
    panel_register(ClientPanel("trading", "Trading", render, order=30))
