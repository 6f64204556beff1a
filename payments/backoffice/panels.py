"""The deposits and withdrawals tab of the client 360: the newest of each, with their status
and amounts, in the profiles the user may see."""

from __future__ import annotations

from typing import Any

from django.template.loader import render_to_string
from django.urls import reverse

from brokercrm.backoffice.panels import newest_rows, subject_in_scope
from brokercrm.backoffice.registry import ClientPanel, ClientSubject, panel_register
from brokercrm.scoping import scope_for

from ..models import Deposit, Withdrawal

VIEW_DEPOSIT = "payments.view_deposit"
VIEW_WITHDRAWAL = "payments.view_withdrawal"


def render(request: Any, subject: ClientSubject) -> str | None:
    user = request.user
    sees_deposits = subject_in_scope(scope_for(user, VIEW_DEPOSIT), subject)
    sees_withdrawals = subject_in_scope(scope_for(user, VIEW_WITHDRAWAL), subject)
    if not (sees_deposits or sees_withdrawals):
        return None
    profile_ids = subject.visible_profile_ids
    entity_codes = {profile.id: profile.entity_code for profile in subject.visible_profiles}
    context: dict[str, Any] = {"deposits": None, "withdrawals": None}
    if sees_deposits:
        deposits, total = newest_rows(
            Deposit.objects.visible_to(user, VIEW_DEPOSIT)
            .filter(profile_id__in=profile_ids)
            .select_related("method")
            .order_by("-created_at", "-pk")
        )
        context["deposits"] = [
            {
                "deposit": deposit,
                "entity_code": entity_codes.get(deposit.profile_id, ""),
                "url": reverse("admin:payments_deposit_change", args=[deposit.pk]),
            }
            for deposit in deposits
        ]
        context["deposits_total"] = total
    if sees_withdrawals:
        withdrawals, total = newest_rows(
            Withdrawal.objects.visible_to(user, VIEW_WITHDRAWAL)
            .filter(profile_id__in=profile_ids)
            .order_by("-created_at", "-pk")
        )
        context["withdrawals"] = [
            {
                "withdrawal": withdrawal,
                "entity_code": entity_codes.get(withdrawal.profile_id, ""),
                "url": reverse("admin:payments_withdrawal_change", args=[withdrawal.pk]),
            }
            for withdrawal in withdrawals
        ]
        context["withdrawals_total"] = total
    return render_to_string("backoffice/panels/payments.html", context, request=request)


def register() -> None:
    panel_register(ClientPanel("payments", "Deposits & withdrawals", render, order=25))
