from __future__ import annotations

from django.contrib import admin

from brokercrm.admin import ReadOnlyAdminMixin, ScopedAdmin

from .models import AuditEvent


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
    ]
    list_filter = ["action", "entity"]
    search_fields = ["action", "object_type", "object_id", "actor_label", "request_id"]
    date_hierarchy = "created_at"
