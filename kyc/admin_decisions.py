"""The page where compliance decides a KYC file: the evidence, the rule-set version and what
each decision will do, shown before it is taken; the decision is the same service the API
calls (`kyc_approve`, `kyc_reject`)."""

from __future__ import annotations

from typing import Any

from django import forms
from django.contrib import admin, messages
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect
from django.template.response import TemplateResponse
from django.urls import reverse

from brokercrm.errors import ApplicationError
from brokercrm.scoping import scope_for

from .models import KycCheck, KycDocument, KycFile
from .services import kyc_approve, kyc_reject
from .services.decisions import OPEN_FOR_DECISION

APPROVE, REJECT, REJECT_AML = "approve", "reject", "reject_aml"


class DecisionForm(forms.Form):
    decision = forms.ChoiceField(
        choices=[
            (APPROVE, "Approve"),
            (REJECT, "Reject"),
            (REJECT_AML, "Reject for AML reasons (blocks the person in every entity)"),
        ],
        widget=forms.RadioSelect,
    )
    reason = forms.CharField(
        widget=forms.Textarea(attrs={"rows": 3}),
        max_length=2000,
        help_text="Kept in the audit trail and shown to colleagues; not sent to the client.",
    )


def what_it_does(kyc_file: KycFile, actor: Any) -> dict[str, str]:
    """The consequences of each decision, in words, for this file and this approver."""
    high = kyc_file.risk_level == KycFile.RiskLevel.HIGH
    if high and kyc_file.first_approver_id is None:
        approve = (
            "High risk: your approval is the first of two. The file stays in review until a "
            "second compliance officer, not you, approves it."
        )
    elif high and kyc_file.first_approver_id == actor.pk:
        approve = "You gave the first approval: a colleague must give the second."
    else:
        approve = (
            "Activates the client's profile: wallets open, trading accounts can be opened and "
            "the cooling-off period before a first withdrawal starts."
        )
    return {
        APPROVE: approve,
        REJECT: "Closes the file as rejected; the client is told their application was declined.",
        REJECT_AML: (
            "Rejects the file and places an AML block on the person: every entity of the group "
            "refuses them onboarding, deposits and withdrawals until the block is lifted."
        ),
    }


def kyc_decide_view(model_admin: admin.ModelAdmin, request: HttpRequest, object_id: str) -> Any:
    kyc_file = model_admin.get_object(request, object_id)  # 404 outside the user's scope
    may_decide = scope_for(request.user, "kyc.approve_kycfile").contains(kyc_file)
    open_for_decision = kyc_file.status in OPEN_FOR_DECISION
    form = DecisionForm(request.POST or None)
    if request.method == "POST" and may_decide and open_for_decision and form.is_valid():
        decision, reason = form.cleaned_data["decision"], form.cleaned_data["reason"]
        try:
            if decision == APPROVE:
                decided = kyc_approve(actor=request.user, kyc_file=kyc_file, reason=reason)
            else:
                decided = kyc_reject(
                    actor=request.user,
                    kyc_file=kyc_file,
                    reason=reason,
                    aml=decision == REJECT_AML,
                )
        except ApplicationError as error:
            messages.error(request, f"{error.detail} ({error.code})")
        else:
            messages.success(
                request,
                f"KYC file #{decided.pk}: {decided.get_status_display().lower()}"
                + (" (first approval recorded)" if decided.status in OPEN_FOR_DECISION else ""),
            )
            return redirect(reverse("admin:work"))
    checks = list(
        KycCheck.objects.in_entity(kyc_file.entity_id)
        .filter(kyc_file=kyc_file)
        .order_by("kind", "-created_at")
    )
    latest: dict[str, KycCheck] = {}
    for check in checks:
        latest.setdefault(check.kind, check)
    context = {
        **model_admin.admin_site.each_context(request),
        "title": f"Decide KYC file #{kyc_file.pk}",
        "opts": model_admin.model._meta,
        "kyc_file": kyc_file,
        "profile": kyc_file.profile,
        "checks": list(latest.values()),
        "form": form,
        "may_decide": may_decide,
        "open_for_decision": open_for_decision,
        "consequences": what_it_does(kyc_file, request.user),
        "documents": list(
            KycDocument.objects.visible_to(request.user, "kyc.view_kycdocument")
            .filter(kyc_file=kyc_file)
            .order_by("kind", "-version")[:20]
        ),
    }
    return TemplateResponse(request, "backoffice/kyc_decide.html", context)


def decide_response(model_admin: admin.ModelAdmin) -> Any:
    def view(request: HttpRequest, object_id: str) -> HttpResponse:
        return kyc_decide_view(model_admin, request, object_id)

    return view
