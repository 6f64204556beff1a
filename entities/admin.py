from __future__ import annotations

from typing import Any

from django import forms
from django.contrib import admin
from django.http import HttpRequest

from brokercrm.admin import ScopedAdmin

from . import services
from .models import Brand, CountryRoute, Desk, LegalEntity, RuleSet


@admin.register(LegalEntity)
class LegalEntityAdmin(ScopedAdmin):
    list_display = [
        "code",
        "legal_name",
        "regulator",
        "licence_number",
        "jurisdiction",
        "base_currency",
        "status",
    ]
    list_filter = ["status", "regulator"]
    search_fields = ["code", "legal_name", "licence_number"]
    readonly_fields = ["created_at", "updated_at"]
    immutable_fields = ("code", "jurisdiction", "base_currency")

    def has_add_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return request.user.is_superuser

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False  # entities are closed, never deleted: everything they own points at them


@admin.register(Brand)
class BrandAdmin(ScopedAdmin):
    list_display = ["code", "name", "domain", "entity", "status"]
    list_filter = ["entity", "status"]
    search_fields = ["code", "name", "domain"]


@admin.register(Desk)
class DeskAdmin(ScopedAdmin):
    list_display = ["code", "name", "entity", "active"]
    list_filter = ["entity", "active"]
    search_fields = ["code", "name"]


@admin.register(CountryRoute)
class CountryRouteAdmin(ScopedAdmin):
    list_display = ["brand", "country", "entity"]
    list_filter = ["entity", "brand"]
    search_fields = ["country", "brand__code"]


class RuleSetForm(forms.ModelForm):
    class Meta:
        model = RuleSet
        fields = ["entity", "kind", "country", "effective_from", "document", "note"]


@admin.register(RuleSet)
class RuleSetAdmin(ScopedAdmin):
    """Rule sets are published, never edited: saving the form publishes the next version."""

    form = RuleSetForm
    list_display = [
        "__str__",
        "entity",
        "kind",
        "country",
        "version",
        "effective_from",
        "created_by",
    ]
    list_filter = ["entity", "kind"]
    readonly_fields = ["version", "created_by", "created_at"]

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def save_model(
        self, request: HttpRequest, obj: RuleSet, form: forms.ModelForm, change: bool
    ) -> None:
        published = services.ruleset_publish(
            actor=request.user,
            entity=obj.entity,
            kind=obj.kind,
            country=obj.country,
            document=obj.document,
            effective_from=obj.effective_from,
            note=obj.note,
        )
        obj.pk = published.pk
        obj.version = published.version
