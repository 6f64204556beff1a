from __future__ import annotations

from typing import Any

from django.contrib import admin
from django.db.models import QuerySet
from django.http import HttpRequest

from brokercrm.admin import ReadOnlyAdminMixin, ScopedAdmin

from .models import AuditEvent


class PersonFilter(admin.SimpleListFilter):
    """`?person_id=7`: the trail of one client, as the client's page links to it. Audit sits
    below identity and knows persons by id only, so the filter offers the chosen one."""

    title = "client"
    parameter_name = "person_id"

    def lookups(self, request: HttpRequest, model_admin: Any) -> list[tuple[str, str]]:
        value = self.value()
        return [(value, f"Person #{value}")] if value else []

    def queryset(self, request: HttpRequest, queryset: QuerySet) -> QuerySet:
        value = self.value()
        if not value:
            return queryset
        if not value.isdigit():
            return queryset.none()
        return queryset.filter(person_id=int(value))


@admin.register(AuditEvent)
class AuditEventAdmin(ReadOnlyAdminMixin, ScopedAdmin):
    list_display = [
        "seq",
        "created_at",
        "actor_label",
        "action",
        "entity",
        "object_type",
        "object_id",
        "person_id",
    ]
    list_filter = [PersonFilter, "action", "entity"]
    list_select_related = ["entity"]
    search_fields = ["action", "object_type", "object_id", "actor_label", "request_id"]
    date_hierarchy = "created_at"
    evidence_fields = ("before", "after")
