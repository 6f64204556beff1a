from __future__ import annotations

from typing import Any

from django.contrib import admin
from django.http import HttpRequest

from brokercrm.admin import ScopedAdmin

from .models import AuditEvent


@admin.register(AuditEvent)
class AuditEventAdmin(ScopedAdmin):
    list_display = [
        "seq",
        "created_at",
        "actor_label",
        "action",
        "entity",
        "object_type",
        "object_id",
    ]
    list_filter = ["action", "entity"]
    search_fields = ["action", "object_type", "object_id", "actor_label", "request_id"]
    date_hierarchy = "created_at"

    def has_add_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False
