"""IB back office: partners, codes, hierarchy, plans and commission lines. Everything is
written by `ib.services`; the admin shows it, scoped to the entities of the staff member, and
downloads statements."""

from __future__ import annotations

import datetime as dt

from django.contrib import admin
from django.db.models import QuerySet
from django.http import HttpRequest, HttpResponse
from django.utils import timezone

from brokercrm.admin import ReadOnlyAdminMixin, ScopedAdmin

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


class ReadOnlyScopedAdmin(ReadOnlyAdminMixin, ScopedAdmin):
    """Rows only the IB services write."""


@admin.register(IbPartner)
class IbPartnerAdmin(ReadOnlyScopedAdmin):
    list_display = ("name", "entity", "plan", "status", "created_at")
    list_filter = ("entity", "status")
    search_fields = ("name",)
    actions = ("statement_last_31_days",)

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
    list_display = ("code_text", "reason", "profile", "entity", "created_at")
    list_filter = ("reason",)


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
class CommissionRunAdmin(ReadOnlyAdminMixin, admin.ModelAdmin):
    list_display = ("pk", "started_at", "finished_at", "lines_created", "payouts", "payout_total")
