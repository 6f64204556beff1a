"""What the trading servers report and the controls find, shown read-only: transfers, deals,
events, and compliance's queue of control failures."""

from __future__ import annotations

from typing import Any

from django.contrib import admin, messages
from django.db.models import QuerySet
from django.http import HttpRequest

from brokercrm.errors import ApplicationError
from brokercrm.scoping import scope_for
from platforms import services
from platforms.models import ControlFailure, Deal, TradingEvent, TradingTransfer

from .common import ReadOnlyScopedAdmin, _report_errors


@admin.register(TradingTransfer)
class TradingTransferAdmin(ReadOnlyScopedAdmin):
    list_display = [
        "pk",
        "created_at",
        "account",
        "direction",
        "amount",
        "currency",
        "status",
        "server_ticket",
        "error_code",
    ]
    list_filter = ["entity", "direction", "status"]
    list_select_related = ["account__server"]
    search_fields = ["=operation_id", "idempotency_key", "=account__login"]


@admin.register(Deal)
class DealAdmin(ReadOnlyScopedAdmin):
    list_display = [
        "ticket",
        "time",
        "server",
        "login",
        "kind",
        "entry",
        "symbol",
        "volume",
        "price",
        "profit",
    ]
    list_filter = ["entity", "server", "kind"]
    list_select_related = ["server", "account"]
    search_fields = ["=ticket", "=login", "symbol"]
    # A deal's profit, commission and swap are in its account's currency.
    money_currency = {
        "profit": "account.currency",
        "commission": "account.currency",
        "swap": "account.currency",
    }
    plain_numbers = ("price",)


@admin.register(TradingEvent)
class TradingEventAdmin(ReadOnlyScopedAdmin):
    list_display = ["time", "server", "login", "kind", "account"]
    list_filter = ["entity", "server", "kind"]
    list_select_related = ["server", "account__server"]
    search_fields = ["=login"]


@admin.register(ControlFailure)
class ControlFailureAdmin(ReadOnlyScopedAdmin):
    list_display = [
        "detected_at",
        "entity",
        "account",
        "kind",
        "crm_status",
        "server_rights",
        "corrected_at",
        "seen_count",
        "status",
    ]
    list_filter = ["entity", "status", "kind"]
    list_select_related = ["entity", "account__server"]
    actions = ["resolve"]

    @admin.action(description="Mark as reviewed (resolve)")
    def resolve(self, request: HttpRequest, queryset: QuerySet) -> None:
        done = 0
        for failure in queryset:
            try:
                services.control_failure_resolve(
                    actor=request.user, failure=failure, resolution="Reviewed in the back office"
                )
                done += 1
            except ApplicationError as error:
                _report_errors(request, f"Failure {failure.pk}", error)
        if done:
            messages.success(request, f"{done} control failure(s) resolved.")

    def get_actions(self, request: HttpRequest) -> Any:
        actions = super().get_actions(request)
        if scope_for(request.user, "platforms.resolve_controlfailure").is_empty:
            actions.pop("resolve", None)
        return actions
