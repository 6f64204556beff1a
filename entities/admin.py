from __future__ import annotations

from typing import Any

from django import forms
from django.contrib import admin
from django.http import HttpRequest

from brokercrm.admin import ScopedAdmin

from . import services
from .models import Brand, CountryRoute, Desk, LegalDocument, LegalEntity, RuleSet


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

    def save_model(self, request: HttpRequest, obj: LegalEntity, form: Any, change: bool) -> None:
        if not change:
            created = services.entity_create(actor=request.user, **_form_values(form))
            obj.pk = created.pk
            return
        services.entity_update(
            actor=request.user,
            entity=obj,
            **{name: form.cleaned_data[name] for name in form.changed_data},
        )


def _form_values(form: Any) -> dict[str, Any]:
    return {name: value for name, value in form.cleaned_data.items() if name in form.fields}


@admin.register(Brand)
class BrandAdmin(ScopedAdmin):
    list_display = ["code", "name", "domain", "entity", "status"]
    list_filter = ["entity", "status"]
    search_fields = ["code", "name", "domain"]

    def save_model(self, request: HttpRequest, obj: Brand, form: Any, change: bool) -> None:
        values = _form_values(form)
        if change:
            changes = {name: values[name] for name in form.changed_data if name in values}
            services.brand_update(
                actor=request.user, brand=Brand.objects.unscoped().get(pk=obj.pk), **changes
            )
            return
        entity = values.pop("entity")
        obj.pk = services.brand_create(actor=request.user, entity=entity, **values).pk


@admin.register(Desk)
class DeskAdmin(ScopedAdmin):
    list_display = ["code", "name", "entity", "active"]
    list_filter = ["entity", "active"]
    search_fields = ["code", "name"]

    def save_model(self, request: HttpRequest, obj: Desk, form: Any, change: bool) -> None:
        if change:
            super().save_model(request, obj, form, change)
            return
        values = _form_values(form)
        entity = values.pop("entity")
        obj.pk = services.desk_create(actor=request.user, entity=entity, **values).pk


@admin.register(CountryRoute)
class CountryRouteAdmin(ScopedAdmin):
    list_display = ["brand", "country", "entity"]
    list_filter = ["entity", "brand"]
    search_fields = ["country", "brand__code"]
    immutable_fields = ("brand", "country")

    def save_model(self, request: HttpRequest, obj: CountryRoute, form: Any, change: bool) -> None:
        route = services.country_route_set(
            actor=request.user, brand=obj.brand, country=obj.country, entity=obj.entity
        )
        obj.pk = route.pk


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
    evidence_fields = ("document",)

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


class LegalDocumentForm(forms.ModelForm):
    # Declared here, not generated from the model field: addresses without a scheme are https.
    url = forms.URLField(
        max_length=500,
        required=False,
        assume_scheme="https",
        help_text="Where the text is published, if not given above.",
    )

    class Meta:
        model = LegalDocument
        fields = ["entity", "kind", "title", "body", "published_at"]


@admin.register(LegalDocument)
class LegalDocumentAdmin(ScopedAdmin):
    """Client agreements, risk disclosures and privacy notices. Saving the form publishes the
    next version of that kind; a published version is never edited (clients accepted it)."""

    form = LegalDocumentForm
    list_display = ["title", "entity", "kind", "version", "published_at", "created_by"]
    list_filter = ["entity", "kind"]
    search_fields = ["title"]
    readonly_fields = ["version", "created_by", "created_at"]

    def get_fields(self, request: HttpRequest, obj: Any = None) -> list[str]:
        fields = ["entity", "kind", "title", "body", "url", "published_at"]
        return fields + (self.readonly_fields if obj is not None else [])

    def get_readonly_fields(self, request: HttpRequest, obj: Any = None) -> list[str]:
        if obj is not None:  # a published version is shown, never edited
            return ["entity", "kind", "title", "body", "url", "published_at", *self.readonly_fields]
        return self.readonly_fields

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def save_model(
        self, request: HttpRequest, obj: LegalDocument, form: forms.ModelForm, change: bool
    ) -> None:
        published = services.legal_document_publish(
            actor=request.user,
            entity=obj.entity,
            kind=obj.kind,
            title=obj.title,
            body=obj.body,
            url=form.cleaned_data.get("url", ""),
            published_at=obj.published_at,
        )
        obj.pk = published.pk
        obj.version = published.version
