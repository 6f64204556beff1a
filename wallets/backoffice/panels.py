"""The wallets tab of the client 360: the profile's wallets with their balances read from the
ledger, the holds still pending on them and the newest statement lines."""

from __future__ import annotations

from typing import Any

from django.template.loader import render_to_string
from django.urls import reverse

from brokercrm.backoffice.panels import newest_rows, subject_in_scope
from brokercrm.backoffice.registry import ClientPanel, ClientSubject, panel_register
from brokercrm.scoping import scope_for

from ..models import Hold, LedgerAccount, Posting
from ..selectors import wallets_with_ledger_figures

VIEW_WALLET = "wallets.view_ledgeraccount"
VIEW_HOLD = "wallets.view_hold"
VIEW_POSTING = "wallets.view_posting"


def render(request: Any, subject: ClientSubject) -> str | None:
    user = request.user
    if not subject_in_scope(scope_for(user, VIEW_WALLET), subject):
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
    if subject_in_scope(scope_for(user, VIEW_HOLD), subject):
        holds, total = newest_rows(
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
    if subject_in_scope(scope_for(user, VIEW_POSTING), subject):
        postings, total = newest_rows(
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
