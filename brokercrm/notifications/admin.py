"""Staff read what each client of their entities was told (and whether the e-mail went out)."""

from __future__ import annotations

from django.contrib import admin

from brokercrm.admin import ReadOnlyAdminMixin, ScopedAdmin

from .models import Notification


@admin.register(Notification)
class NotificationAdmin(ReadOnlyAdminMixin, ScopedAdmin):
    list_display = (
        "created_at",
        "entity",
        "profile_id",
        "kind",
        "title",
        "language",
        "email_status",
        "read_at",
    )
    list_filter = ("kind", "email_status", "language", "entity")
    list_select_related = ("entity",)
    search_fields = ("=profile_id", "kind")
    date_hierarchy = "created_at"
    readonly_fields = (
        "entity",
        "profile_id",
        "kind",
        "event",
        "language",
        "title",
        "body",
        "created_at",
        "read_at",
        "email_status",
        "emailed_at",
    )
