"""The wallets tab of the client 360: the profile's wallets with their balances read from the
ledger, the holds still pending on them and the newest statement lines."""

from __future__ import annotations

from typing import Any

from django.db.models import QuerySet
from django.template.loader import render_to_string
from django.urls import reverse

from brokercrm.backoffice.registry import ClientPanel, ClientSubject, panel_register
from brokercrm.scoping import Scope, scope_for

from ..models import Hold, LedgerAccount, Posting
from ..selectors import wallets_with_ledger_figures

VIEW_WALLET = "wallets.view_ledgeraccount"
VIEW_HOLD = "wallets.view_hold"
VIEW_POSTING = "wallets.view_posting"
# Rows shown per list, newest first; the panel says how many there are in all.
ROWS = 50


def _sees(scope: Scope, subject: ClientSubject) -> bool:
    if scope.everything:
        return True
    return any(entity in scope.any_entity_ids for entity in subject.visible_entity_ids)


def _newest(queryset: QuerySet, limit: int = ROWS) -> tuple[list[Any], int]:
    rows = list(queryset[: limit + 1])
    total = len(rows) if len(rows) <= limit else queryset.count()
    return rows[:limit], total


def render(request: Any, subject: ClientSubject) -> str | None:
    user = request.user
    if not _sees(scope_for(user, VIEW_WALLET), subject):
        return None
    profile_ids = subject.visible_profile_ids
    entity_codes = {profile.id: profile.entity_code for profile in subject.visible_profiles}
    wallets = [
        {
            "wallet": wallet,
            "entity_code": entity_codes.get(wallet.profile_id, ""),
            "url": reverse("admin:wallets_ledgeraccount_change", args=[wallet.pk]),
        }
        for wallet in wallets_with_ledger_figures()
        .visible_to(user, VIEW_WALLET)
        .filter(profile_id__in=profile_ids)
        .order_by("profile_id", "currency", "pk")
    ]
    context: dict[str, Any] = {"wallets": wallets, "holds": None, "postings": None}
    if _sees(scope_for(user, VIEW_HOLD), subject):
        holds, total = _newest(
            Hold.objects.visible_to(user, VIEW_HOLD)
            .filter(
                account__profile_id__in=profile_ids,
                account__kind=LedgerAccount.Kind.CLIENT_WALLET,
                status=Hold.Status.PENDING,
            )
            .select_related("account")
            .order_by("-created_at", "-pk")
        )
        context["holds"] = [
            {
                "hold": hold,
                "entity_code": entity_codes.get(hold.account.profile_id, ""),
                "url": reverse("admin:wallets_hold_change", args=[hold.pk]),
            }
            for hold in holds
        ]
        context["holds_total"] = total
    if _sees(scope_for(user, VIEW_POSTING), subject):
        postings, total = _newest(
            Posting.objects.visible_to(user, VIEW_POSTING)
            .filter(
                account__profile_id__in=profile_ids,
                account__kind=LedgerAccount.Kind.CLIENT_WALLET,
            )
            .select_related("journal", "account")
            .order_by("-journal__created_at", "-pk")
        )
        context["postings"] = [
            {
                "posting": posting,
                "entity_code": entity_codes.get(posting.account.profile_id, ""),
                "url": reverse("admin:wallets_journalentry_change", args=[posting.journal_id]),
            }
            for posting in postings
        ]
        context["postings_total"] = total
    return render_to_string("backoffice/panels/wallets.html", context, request=request)


def register() -> None:
    panel_register(ClientPanel("wallets", "Wallets", render, order=20))
