"""The IB tab of the client 360: which introducing broker each profile is attributed to (and
was, over time), and, where the person is an IB partner, their newest commissions and the
totals by currency."""

from __future__ import annotations

from typing import Any

from django.db.models import Count, Sum
from django.template.loader import render_to_string
from django.urls import reverse

from brokercrm.backoffice.panels import PANEL_ROWS, newest_rows, subject_in_scope
from brokercrm.backoffice.registry import ClientPanel, ClientSubject, panel_register
from brokercrm.scoping import scope_for

from ..models import CommissionLine, IbAssignment, IbPartner

VIEW_ASSIGNMENT = "ib.view_ibassignment"
VIEW_PARTNER = "ib.view_ibpartner"
VIEW_LINE = "ib.view_commissionline"


def _commissions(user: Any, partners: list[IbPartner]) -> dict[str, Any] | None:
    if not partners or scope_for(user, VIEW_LINE).is_empty:
        return None
    lines = CommissionLine.objects.visible_to(user, VIEW_LINE).filter(ib__in=partners)
    recent, total = newest_rows(lines.order_by("-deal_time", "-pk"))
    names = {partner.pk: partner.name for partner in partners}
    totals = [
        {**row, "ib_name": names.get(row["ib_id"], "")}
        for row in lines.exclude(status=CommissionLine.Status.VOID)
        .order_by("ib_id", "currency")
        .values("ib_id", "currency")
        .annotate(amount=Sum("amount"), paid=Sum("paid_amount"), lines=Count("pk"))
    ]
    return {
        "recent": [
            {
                "line": line,
                "ib_name": names.get(line.ib_id, ""),
                "url": reverse("admin:ib_commissionline_change", args=[line.pk]),
            }
            for line in recent
        ],
        "total": total,
        "totals": totals,
    }


def render(request: Any, subject: ClientSubject) -> str | None:
    user = request.user
    sees_assignments = subject_in_scope(scope_for(user, VIEW_ASSIGNMENT), subject)
    sees_partners = subject_in_scope(scope_for(user, VIEW_PARTNER), subject)
    if not (sees_assignments or sees_partners):
        return None
    profile_ids = subject.visible_profile_ids
    entity_codes = {profile.id: profile.entity_code for profile in subject.visible_profiles}
    context: dict[str, Any] = {"assignments": None, "partners": None, "commissions": None}
    if sees_assignments:
        context["assignments"] = [
            {
                "assignment": assignment,
                "entity_code": entity_codes.get(assignment.profile_id, ""),
                "url": reverse("admin:ib_ibassignment_change", args=[assignment.pk]),
                "ib_url": reverse("admin:ib_ibpartner_change", args=[assignment.ib_id]),
            }
            for assignment in IbAssignment.objects.visible_to(user, VIEW_ASSIGNMENT)
            .filter(profile_id__in=profile_ids)
            .select_related("ib", "code")
            .order_by("profile_id", "-valid_from", "-pk")[:PANEL_ROWS]
        ]
    if sees_partners:
        partners = list(
            IbPartner.objects.visible_to(user, VIEW_PARTNER)
            .filter(profile_id__in=profile_ids)
            .select_related("plan")
            .order_by("profile_id", "pk")
        )
        context["partners"] = [
            {
                "partner": partner,
                "entity_code": entity_codes.get(partner.profile_id, ""),
                "url": reverse("admin:ib_ibpartner_change", args=[partner.pk]),
            }
            for partner in partners
        ]
        context["commissions"] = _commissions(user, partners)
    return render_to_string("backoffice/panels/ib.html", context, request=request)


def register() -> None:
    panel_register(ClientPanel("ib", "IB", render, order=40))
