"""Staff see the event stream and the deliveries that kept failing, and replay those."""

from __future__ import annotations

from typing import Any

from django.contrib import admin, messages
from django.db.models import QuerySet
from django.http import HttpRequest
from unfold.admin import ModelAdmin, TabularInline

from brokercrm.admin import ReadOnlyAdminMixin, ScopedAdmin
from brokercrm.errors import ApplicationError

from .bus import delivery_replay
from .models import Delivery, Event


class DeliveryInline(TabularInline):
    model = Delivery
    fields = ("subscriber", "status", "attempts", "due_at", "delivered_at", "last_error")
    readonly_fields = fields
    extra = 0
    can_delete = False

    def has_add_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False


@admin.register(Event)
class EventAdmin(ReadOnlyAdminMixin, ScopedAdmin):
    list_display = ("pk", "type", "entity", "person_id", "profile_id", "occurred_at")
    list_filter = ("type", "entity")
    search_fields = ("type", "=profile_id", "=person_id")
    readonly_fields = (
        "type",
        "entity",
        "person_id",
        "profile_id",
        "payload",
        "actor_label",
        "occurred_at",
    )
    inlines = [DeliveryInline]


@admin.register(Delivery)
class DeliveryAdmin(ReadOnlyAdminMixin, ModelAdmin):
    list_display = ("pk", "subscriber", "event", "status", "attempts", "due_at", "short_error")
    list_filter = ("status", "subscriber")
    list_select_related = ("event",)
    readonly_fields = (
        "event",
        "subscriber",
        "status",
        "attempts",
        "due_at",
        "delivered_at",
        "last_error",
    )
    actions = ["replay"]

    @admin.display(description="last error")
    def short_error(self, obj: Delivery) -> str:
        return obj.last_error[:120]

    @admin.action(description="Send the selected parked deliveries again")
    def replay(self, request: HttpRequest, queryset: QuerySet[Delivery]) -> None:
        sent = 0
        for delivery in queryset:
            try:
                delivery_replay(
                    actor=request.user,
                    delivery=delivery,
                    reason=f"replayed from the admin by {request.user.get_username()}",
                )
                sent += 1
            except ApplicationError as error:
                messages.error(request, f"#{delivery.pk}: {error.detail} ({error.code})")
        if sent:
            messages.success(request, f"{sent} deliveries sent again.")
