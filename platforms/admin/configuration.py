"""Trading configuration in the back office: servers and group mappings (configured by entity
admins) and the sync cursors of each server."""

from __future__ import annotations

from typing import Any

from django import forms
from django.contrib import admin
from django.db.models import QuerySet
from django.http import HttpRequest

from brokercrm.admin import ScopedAdmin
from brokercrm.scoping import scope_for
from platforms import services
from platforms.models import GroupMapping, SyncCursor, TradingServer

from .common import ReadOnlyScopedAdmin, _sync


class TradingServerForm(forms.ModelForm):
    class Meta:
        model = TradingServer
        fields = [
            "entity",
            "name",
            "kind",
            "base_url",
            "server_name",
            "credentials_env",
            "timeout_seconds",
            "active",
        ]

    def clean_base_url(self) -> str:
        url = self.cleaned_data["base_url"].strip()
        if not url.startswith(("http://", "https://")):
            raise forms.ValidationError("The gateway address starts with http:// or https://.")
        return url


@admin.register(TradingServer)
class TradingServerAdmin(ScopedAdmin):
    form = TradingServerForm
    list_display = ["name", "entity", "kind", "server_name", "base_url", "active", "last_full_sync"]
    list_filter = ["entity", "kind", "active"]
    search_fields = ["name", "server_name"]
    actions = ["sync_now"]

    @admin.display(description="Last full reconcile")
    def last_full_sync(self, server: TradingServer) -> Any:
        return services.last_sync(server) or "never"

    @admin.action(description="Sync now (full reconcile, deals and events)")
    def sync_now(self, request: HttpRequest, queryset: QuerySet) -> None:
        _sync(request, queryset)

    def get_actions(self, request: HttpRequest) -> Any:
        actions = super().get_actions(request)
        if scope_for(request.user, "platforms.sync_tradingserver").is_empty:
            actions.pop("sync_now", None)
        return actions


class GroupMappingForm(forms.ModelForm):
    class Meta:
        model = GroupMapping
        fields = ["entity", "server", "account_type", "currency", "group", "leverage", "active"]

    def clean(self) -> dict[str, Any]:
        cleaned = super().clean()
        server = cleaned.get("server")
        entity = cleaned.get("entity") or getattr(self.instance, "entity", None)
        if server is not None and entity is not None and server.entity_id != entity.pk:
            raise forms.ValidationError(
                "The server belongs to another entity: an entity maps groups on its own servers."
            )
        return cleaned


@admin.register(GroupMapping)
class GroupMappingAdmin(ScopedAdmin):
    form = GroupMappingForm
    list_display = ["entity", "server", "account_type", "currency", "group", "leverage", "active"]
    list_filter = ["entity", "server", "account_type", "currency", "active"]
    list_select_related = ["entity", "server"]


@admin.register(SyncCursor)
class SyncCursorAdmin(ReadOnlyScopedAdmin):
    list_display = [
        "server",
        "accounts_synced_at",
        "accounts_cursor",
        "deals_cursor",
        "events_cursor",
        "feed_polled_at",
        "last_error_at",
    ]
    list_filter = ["entity"]
