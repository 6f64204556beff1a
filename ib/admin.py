"""IB back office: partners, codes, hierarchy, plans and commission lines. Everything is
written by `ib.services`; the admin shows it, scoped to the entities of the staff member,
downloads statements, and offers the services an IB manager uses from a list (suspend or
reactivate IBs, dismiss referral reviews, queue a commission run). The services check the
permission in each row's entity and write the audit rows."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from typing import Any

from django.contrib import admin, messages
from django.db.models import QuerySet
from django.http import HttpRequest, HttpResponse
from django.utils import timezone
from unfold.admin import ModelAdmin

from brokercrm.admin import ReadableFieldsMixin, ReadOnlyAdminMixin, ScopedAdmin
from brokercrm.errors import ApplicationError

from .models import (
    CommissionLine,
    CommissionRun,
    IbAssignment,
    IbClosure,
    IbLink,
    IbPartner,
    IbProgramme,
    RebatePlan,
    RebatePlanVersion,
    RebateRate,
    ReferralCode,
    ReferralReview,
)
from .selectors import ib_statement, ib_statement_csv
from .services import commission_run_request, ib_partner_update, referral_review_resolve


class ReadOnlyScopedAdmin(ReadOnlyAdminMixin, ScopedAdmin):
    """Rows only the IB services write."""


def _each(
    modeladmin: ModelAdmin,
    request: HttpRequest,
    queryset: QuerySet,
    call: Callable[[Any], Any],
    done: str,
) -> None:
    """Call a service per selected row; a refusal is reported for its row, not raised."""
    count = 0
    for obj in queryset.order_by("pk"):
        try:
            call(obj)
            count += 1
        except ApplicationError as exc:
            modeladmin.message_user(request, f"{obj}: {exc.detail} ({exc.code})", messages.ERROR)
    if count:
        modeladmin.message_user(request, f"{count} {done}.", messages.SUCCESS)


@admin.register(IbPartner)
class IbPartnerAdmin(ReadOnlyScopedAdmin):
    list_display = ("name", "entity", "plan", "status", "created_at")
    list_filter = ("entity", "status")
    search_fields = ("name",)
    actions = ("statement_last_31_days", "suspend", "reactivate")

    def _status_set(self, request: HttpRequest, queryset: QuerySet, status: str, done: str) -> None:
        _each(
            self,
            request,
            queryset,
            lambda ib: ib_partner_update(
                actor=request.user, ib=ib, status=status, reason=f"{done} in the back office"
            ),
            done,
        )

    @admin.action(description="Suspend the selected IBs (no new clients; payouts withheld)")
    def suspend(self, request: HttpRequest, queryset: QuerySet) -> None:
        self._status_set(request, queryset, IbPartner.Status.SUSPENDED, "suspended")

    @admin.action(description="Reactivate the selected IBs")
    def reactivate(self, request: HttpRequest, queryset: QuerySet) -> None:
        self._status_set(request, queryset, IbPartner.Status.ACTIVE, "reactivated")

    @admin.action(description="Download statement CSV (last 31 days)")
    def statement_last_31_days(self, request: HttpRequest, queryset: QuerySet) -> HttpResponse:
        date_to = timezone.now()
        date_from = date_to - dt.timedelta(days=31)
        body = "".join(
            ib_statement_csv(ib_statement(ib=ib, date_from=date_from, date_to=date_to))
            for ib in queryset.order_by("pk")
        )
        response = HttpResponse(body, content_type="text/csv")
        response["Content-Disposition"] = 'attachment; filename="ib-statements.csv"'
        return response


@admin.register(ReferralCode)
class ReferralCodeAdmin(ReadOnlyScopedAdmin):
    list_display = ("code", "ib", "brand", "active")
    search_fields = ("code",)


@admin.register(ReferralReview)
class ReferralReviewAdmin(ReadOnlyScopedAdmin):
    list_display = ("code_text", "reason", "profile", "entity", "created_at", "status")
    list_filter = ("status", "reason")
    actions = ("dismiss",)

    @admin.action(description="Dismiss the selected reviews (attribute nobody)")
    def dismiss(self, request: HttpRequest, queryset: QuerySet) -> None:
        _each(
            self,
            request,
            queryset,
            lambda review: referral_review_resolve(
                actor=request.user,
                review=review,
                decision="dismiss",
                reason="dismissed in the back office",
            ),
            "dismissed",
        )


@admin.register(IbAssignment)
class IbAssignmentAdmin(ReadOnlyScopedAdmin):
    list_display = ("profile", "ib", "valid_from", "valid_to", "source")


@admin.register(IbLink)
class IbLinkAdmin(ReadOnlyScopedAdmin):
    list_display = ("ib", "parent", "valid_from", "valid_to")


@admin.register(IbClosure)
class IbClosureAdmin(ReadOnlyScopedAdmin):
    list_display = ("ib", "ancestor", "depth", "valid_from", "valid_to")


@admin.register(IbProgramme)
class IbProgrammeAdmin(ReadOnlyScopedAdmin):
    list_display = ("entity", "max_depth")


@admin.register(RebatePlan)
class RebatePlanAdmin(ReadOnlyScopedAdmin):
    list_display = ("name", "entity", "currency")


@admin.register(RebatePlanVersion)
class RebatePlanVersionAdmin(ReadOnlyScopedAdmin):
    list_display = ("plan", "number", "valid_from", "valid_to", "tier_split", "corrects")
    list_select_related = ("plan", "corrects__plan")
    money_currency = {"per_trade_ceiling": "plan.currency"}


@admin.register(RebateRate)
class RebateRateAdmin(ReadOnlyScopedAdmin):
    list_display = (
        "version",
        "symbols",
        "account_group",
        "server",
        "basis",
        "amount_per_lot",
        "spread_per_lot",
        "share_percent",
    )
    list_select_related = ("version__plan", "server")
    money_currency = {
        "amount_per_lot": "version.plan.currency",
        "spread_per_lot": "version.plan.currency",
    }


@admin.register(CommissionLine)
class CommissionLineAdmin(ReadOnlyScopedAdmin):
    list_display = (
        "deal",
        "ib",
        "tier",
        "kind",
        "lots",
        "amount",
        "paid_amount",
        "currency",
        "status",
        "deal_time",
    )
    list_filter = ("status", "kind", "entity")
    list_select_related = ("deal", "ib")


@admin.register(CommissionRun)
class CommissionRunAdmin(ReadOnlyAdminMixin, ReadableFieldsMixin, ModelAdmin):
    list_display = ("pk", "started_at", "finished_at", "lines_created", "payouts", "payout_total")
    actions = ("queue_run",)

    @admin.action(description="Queue a new commission run (select any run)")
    def queue_run(self, request: HttpRequest, queryset: QuerySet) -> None:
        try:
            commission_run_request(actor=request.user)
        except ApplicationError as exc:
            self.message_user(request, f"{exc.detail} ({exc.code})", messages.ERROR)
        else:
            self.message_user(request, "A commission run is queued.", messages.SUCCESS)
