"""The admin is the staff back office. `ScopedAdmin` is the base of every ModelAdmin over
entity-scoped rows: it lists, shows and edits only what `scope_for` allows, answers 404 for
rows of other entities, limits foreign-key choices to visible rows, never lets a row move to
another entity, and audits every save and delete in the same transaction. Saves are not wrapped
in an outer transaction: the services they call own theirs."""

from __future__ import annotations

from collections.abc import Callable
from decimal import Decimal
from typing import Any, ClassVar

from django.contrib import admin, messages
from django.contrib.admin.options import InlineModelAdmin, csrf_protect_m
from django.db import models, transaction
from django.db.models import QuerySet
from django.forms import ModelForm
from django.http import Http404, HttpRequest
from django.shortcuts import redirect
from unfold.admin import ModelAdmin, TabularInline

from brokercrm import audit_actions
from brokercrm.api.base import scoped
from brokercrm.auditing import audit as audit_record
from brokercrm.backoffice.templatetags.backoffice import evidence_table, money_text
from brokercrm.errors import ApplicationError
from brokercrm.masking import snapshot
from brokercrm.money import MONEY
from brokercrm.scoping import EntityOwnedQuerySet, Scope, scope_for


def _perm(model: type[models.Model], action: str) -> str:
    return f"{model._meta.app_label}.{action}_{model._meta.model_name}"


def _entity_id_of(obj: models.Model) -> int | None:
    field = getattr(type(obj), "scope_entity_field", "entity")
    return obj.pk if field == "id" else getattr(obj, f"{field}_id", None)


def _is_stored_like_money(field: Any) -> bool:
    return (
        isinstance(field, models.DecimalField) and field.decimal_places == MONEY["decimal_places"]
    )


def _follow(row: Any, path: str) -> Any:
    for step in path.split("."):
        if row is None:
            return None
        row = getattr(row, step, None)
    return row


def _plain_number(value: Any) -> str:
    """A price or a percentage stored with money's eight places: its digits, at least two."""
    if value is None:
        return "—"
    value = Decimal(value).normalize()
    places = max(-value.as_tuple().exponent, 2)  # type: ignore[operator]
    return f"{value:,.{places}f}"


class ReadableFieldsMixin:
    """Amounts at their currency's minor units with the code (`1,234.50 EUR`), in every list
    column and on every read-only detail field, never the stored `1234.50000000`; JSON
    documents as tables.

    Each decimal stored like money is swapped for a display method. Its currency is the
    row's `currency`, or `<prefix>_currency` for `<prefix>_amount`, or what `money_currency`
    names (a dotted path from the row, `"withdrawal.currency"`); `plain_numbers` are decimals
    stored like money that are not money (prices, margin levels)."""

    money_currency: ClassVar[dict[str, str]] = {}
    plain_numbers: ClassVar[tuple[str, ...]] = ()
    # JSON documents (evidence, answers, breakdowns) shown on the detail page as a table; on a
    # page that edits the row the document stays editable and the table shows beside it.
    evidence_fields: ClassVar[tuple[str, ...]] = ()

    model: type[models.Model]

    def _money_fields(self) -> dict[str, models.Field]:
        return {
            field.name: field for field in self.model._meta.fields if _is_stored_like_money(field)
        }

    def _shown_fields(self) -> dict[str, models.Field]:
        """The fields a detail page shows through a display: amounts and JSON documents."""
        evidence = {name: self.model._meta.get_field(name) for name in self.evidence_fields}
        return {**self._money_fields(), **evidence}

    def _currency_path(self, name: str) -> str:
        if name in self.money_currency:
            return self.money_currency[name]
        names = {field.name for field in self.model._meta.fields}
        if name.endswith("_amount") and f"{name.removesuffix('_amount')}_currency" in names:
            return f"{name.removesuffix('_amount')}_currency"
        return "currency" if "currency" in names else ""

    def _display_name(self, name: str) -> str:
        display = f"{name}_shown"
        if not hasattr(self, display):
            field = self._shown_fields()[name]
            label = str(field.verbose_name).capitalize()
            if name in self.evidence_fields:

                def show(row: Any) -> str:
                    return evidence_table(getattr(row, name))

                setattr(self, display, admin.display(description=label)(show))
                return display
            if name in self.plain_numbers:

                def show(row: Any) -> str:
                    return _plain_number(getattr(row, name))
            else:
                path = self._currency_path(name)

                def show(row: Any) -> str:
                    currency = _follow(row, path) if path else ""
                    return money_text(getattr(row, name), currency or "")

            setattr(self, display, admin.display(description=label, ordering=name)(show))
        return display

    def _swap(
        self, names: Any, only: Callable[[str], bool] = lambda name: True, lists: bool = False
    ) -> list[Any]:
        money = self._money_fields() if lists else self._shown_fields()
        return [
            self._display_name(name)
            if isinstance(name, str) and name in money and only(name)
            else name
            for name in names
        ]

    def _view_only(self, request: HttpRequest, obj: Any) -> bool:
        if isinstance(self, InlineModelAdmin):
            return not self.has_change_permission(request, obj)
        if obj is None:
            return not self.has_add_permission(request)  # type: ignore[attr-defined]
        return not self.has_change_permission(request, obj)  # type: ignore[attr-defined]

    def get_list_display(self, request: HttpRequest) -> Any:
        return self._swap(super().get_list_display(request), lists=True)  # type: ignore[misc]

    def get_readonly_fields(self, request: HttpRequest, obj: Any = None) -> Any:
        readonly = self._swap(super().get_readonly_fields(request, obj))  # type: ignore[misc]
        if self._view_only(request, obj):
            # Every field of the page is shown read-only: each amount as its display.
            shown = [self._display_name(name) for name in self._shown_fields()]
        elif obj is not None:
            shown = [self._display_name(name) for name in self.evidence_fields]
        else:
            shown = []
        readonly += [name for name in shown if name not in readonly]
        return readonly

    def get_fields(self, request: HttpRequest, obj: Any = None) -> Any:
        fields = super().get_fields(request, obj)  # type: ignore[misc]
        if self._view_only(request, obj):
            swapped = self._swap(fields)
        else:
            readonly = set(super().get_readonly_fields(request, obj))  # type: ignore[misc]
            swapped = self._swap(fields, only=lambda name: name in readonly)
            # An editable document keeps its field; its table follows it.
            for name in self.evidence_fields if obj is not None else ():
                if name in swapped and name not in readonly:
                    at = swapped.index(name) + 1
                    swapped[at:at] = [self._display_name(name)]
        # The default field list appends the read-only names: each display once, in the
        # place of the field it shows; one for a field the page does not show is dropped.
        money_shown = {self._display_name(name): name for name in self._shown_fields()}
        listed = set(fields)
        unique: list[Any] = []
        for name in swapped:
            if name in unique:
                continue
            if name in money_shown and name not in fields and money_shown[name] not in listed:
                continue
            unique.append(name)
        return unique


class ReadOnlyAdminMixin:
    """For rows only services write (audit events, decisions, roles): shown, never edited."""

    def has_add_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False


class ReadOnlyChildInline(ReadableFieldsMixin, TabularInline):
    """The rows a scoped parent owns (attempts of a deposit, legs of a withdrawal), shown read
    only. The parent page is already scoped, and its children share its entity."""

    extra = 0
    can_delete = False

    def get_readonly_fields(self, request: HttpRequest, obj: Any = None) -> Any:
        readonly = [*self._swap(self.fields), *super().get_readonly_fields(request, obj)]
        return list(dict.fromkeys(readonly))

    def get_queryset(self, request: HttpRequest) -> Any:
        return self.model.objects.unscoped()

    def has_add_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False


class HiddenIsNotFoundMixin:
    """A row outside the user's queryset answers 404: another entity's row and a row that
    does not exist look the same."""

    def get_object(
        self, request: HttpRequest, object_id: str, from_field: str | None = None
    ) -> Any:
        obj = super().get_object(request, object_id, from_field)  # type: ignore[misc]
        if obj is None:
            raise Http404("Not found.")
        return obj


class VisibleRelatedFilter(admin.RelatedOnlyFieldListFilter):
    """Filter choices: the related rows that the rows this user sees point at, nothing else."""

    def field_choices(
        self, field: Any, request: HttpRequest, model_admin: Any
    ) -> list[tuple[Any, str]]:
        visible_rows = model_admin.get_queryset(request).order_by()
        referenced = visible_rows.values_list(f"{self.field_path}__pk", flat=True)
        related = field.remote_field.model._default_manager.all()
        if isinstance(related, EntityOwnedQuerySet):
            # Safe unscoped: limited to ids that visible rows already reference.
            related = related.unscoped()
        return [(obj.pk, str(obj)) for obj in related.filter(pk__in=referenced)]


class ScopedAdmin(HiddenIsNotFoundMixin, ReadableFieldsMixin, ModelAdmin):
    # Fields that may never change once the row exists.
    immutable_fields: tuple[str, ...] = ("entity",)

    def scope(self, request: HttpRequest, action: str) -> Scope:
        return scope_for(request.user, _perm(self.model, action))

    # --- what the user sees ---------------------------------------------------------------
    def get_queryset(self, request: HttpRequest) -> QuerySet:
        return scoped(super().get_queryset(request), self.scope(request, "view"))

    # --- what the user may do -------------------------------------------------------------
    def has_module_permission(self, request: HttpRequest) -> bool:
        return self.has_view_permission(request)

    def has_view_permission(self, request: HttpRequest, obj: models.Model | None = None) -> bool:
        scope = self.scope(request, "view")
        return not scope.is_empty if obj is None else scope.contains(obj)

    def has_change_permission(self, request: HttpRequest, obj: models.Model | None = None) -> bool:
        scope = self.scope(request, "change")
        return not scope.is_empty if obj is None else scope.contains(obj)

    def has_add_permission(self, request: HttpRequest, obj: models.Model | None = None) -> bool:
        return not self.scope(request, "add").is_empty

    def has_delete_permission(self, request: HttpRequest, obj: models.Model | None = None) -> bool:
        scope = self.scope(request, "delete")
        return not scope.is_empty if obj is None else scope.contains(obj)

    def get_list_filter(self, request: HttpRequest) -> Any:
        # A plain related filter lists every row of the related table (every entity, every
        # brand); offer only the values present in the rows this user may see.
        filters = []
        for entry in super().get_list_filter(request):
            if isinstance(entry, str) and "__" not in entry:
                field = self.model._meta.get_field(entry)
                if field.is_relation and field.many_to_one:
                    entry = (entry, VisibleRelatedFilter)
            filters.append(entry)
        return filters

    def get_readonly_fields(self, request: HttpRequest, obj: models.Model | None = None) -> Any:
        readonly = list(super().get_readonly_fields(request, obj))
        if obj is not None:
            readonly += [name for name in self.immutable_fields if name not in readonly]
        return readonly

    def formfield_for_foreignkey(self, db_field: Any, request: HttpRequest, **kwargs: Any) -> Any:
        related = db_field.related_model
        if db_field.name == getattr(self.model, "scope_entity_field", "entity"):
            # The owning entity: only those where the user may create this kind of row.
            kwargs["queryset"] = scoped(related._default_manager.all(), self.scope(request, "add"))
        elif hasattr(related, "scope_entity_field") or hasattr(related, "entity_id"):
            kwargs["queryset"] = scoped(
                related._default_manager.all(), scope_for(request.user, _perm(related, "view"))
            )
        return super().formfield_for_foreignkey(db_field, request, **kwargs)

    # --- writes: scoped, audited, atomic ----------------------------------------------------
    def save_model(self, request: HttpRequest, obj: Any, form: ModelForm, change: bool) -> None:
        action = "change" if change else "add"
        allowed = self.scope(request, action)
        if not allowed.allows_entity(_entity_id_of(obj)) and not allowed.contains(obj):
            raise Http404("Not found.")
        before = snapshot(type(obj)._base_manager.get(pk=obj.pk)) if change else None
        with transaction.atomic(durable=True):
            obj.save()
            audit_record(
                actor=request.user,
                action=audit_actions.admin_row(
                    self.model._meta.label_lower, "changed" if change else "created"
                ),
                entity=_entity_id_of(obj),
                obj=obj,
                before=before,
                after=snapshot(obj),
            )

    def delete_model(self, request: HttpRequest, obj: Any) -> None:
        if not self.has_delete_permission(request, obj):
            raise Http404("Not found.")
        with transaction.atomic(durable=True):
            audit_record(
                actor=request.user,
                action=audit_actions.admin_row(self.model._meta.label_lower, "deleted"),
                entity=_entity_id_of(obj),
                obj=obj,
                before=snapshot(obj),
            )
            obj.delete()

    def delete_queryset(self, request: HttpRequest, queryset: QuerySet) -> None:
        for obj in queryset:
            self.delete_model(request, obj)

    # Services own their transactions (`atomic(durable=True)`): unlike the stock admin, the
    # form views do not wrap a save in an outer transaction, so a save that calls a service
    # commits exactly what that service commits, and the default save and delete below are
    # durable transactions of their own.
    @csrf_protect_m
    def changeform_view(
        self,
        request: HttpRequest,
        object_id: str | None = None,
        form_url: str = "",
        extra_context: dict[str, Any] | None = None,
    ) -> Any:
        # A service refusing the change (its transaction already rolled back) is shown on the
        # page it came from rather than as a server error.
        try:
            return self._changeform_view(request, object_id, form_url, extra_context)
        except ApplicationError as error:
            messages.error(request, f"{error.detail} ({error.code})")
            return redirect(request.get_full_path())

    @csrf_protect_m
    def delete_view(
        self, request: HttpRequest, object_id: str, extra_context: dict[str, Any] | None = None
    ) -> Any:
        try:
            return self._delete_view(request, object_id, extra_context)
        except ApplicationError as error:
            messages.error(request, f"{error.detail} ({error.code})")
            return redirect(request.get_full_path())
