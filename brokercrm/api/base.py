"""Base classes for every API endpoint over entity-scoped rows.

`ScopedViewSet` owns `get_queryset`, `filter_queryset` and `get_object`; a subclass that
tries to define one of them fails at import time. Subclasses say what they list
(`base_queryset`) and which permission lets a user see it (`view_permission`); the scope
from `scope_for` is always applied, so a row of another entity is simply not there (404).
Writes go through services, which check the add/change/delete permission themselves.
"""

from __future__ import annotations

from typing import Any, ClassVar

from django.apps import apps
from django.db.models import Model, QuerySet
from rest_framework import serializers, viewsets
from rest_framework.exceptions import NotFound
from rest_framework.request import Request

from brokercrm.errors import PermissionDenied
from brokercrm.scoping import EntityOwnedQuerySet, Scope, scope_for

_FINAL = ("get_queryset", "filter_queryset", "get_object")


def scoped(queryset: QuerySet, scope: Scope) -> QuerySet:
    """Apply a scope to any queryset: entity-owned ones are marked scoped, others filtered."""
    if isinstance(queryset, EntityOwnedQuerySet):
        return queryset.within(scope)
    return queryset.filter(scope.q(queryset.model))


class ScopedViewSet(viewsets.GenericViewSet):
    base_queryset: ClassVar[QuerySet]
    view_permission: ClassVar[str]
    lookup_value_regex = r"[0-9]{1,18}"

    def __init_subclass__(cls, **kwargs: Any) -> None:
        super().__init_subclass__(**kwargs)
        overridden = [name for name in _FINAL if name in cls.__dict__]
        if overridden:
            raise TypeError(
                f"{cls.__name__} overrides {', '.join(overridden)}; "
                "scoping lives in ScopedViewSet. "
                "Set base_queryset / view_permission, or narrow results in filter_rows()."
            )

    # --- scope --------------------------------------------------------------------------
    def scope(self, perm: str | None = None) -> Scope:
        return scope_for(self.request.user, perm or self.view_permission)

    def get_queryset(self) -> QuerySet:
        return scoped(self.base_queryset.all(), self.scope())

    def filter_rows(self, queryset: QuerySet) -> QuerySet:
        """Narrow the list by query parameters. The scope is applied again afterwards."""
        return queryset

    def filter_queryset(self, queryset: QuerySet) -> QuerySet:
        queryset = self.filter_rows(super().filter_queryset(queryset))
        return scoped(queryset, self.scope())

    def get_object(self) -> Model:
        lookup = self.kwargs.get(self.lookup_url_kwarg or self.lookup_field)
        obj = (
            self.filter_queryset(self.get_queryset()).filter(**{self.lookup_field: lookup}).first()
        )
        if obj is None:
            raise NotFound()
        self.check_object_permissions(self.request, obj)
        return obj

    def require(self, perm: str, obj: Model) -> None:
        """The user sees `obj`; may they also do `perm` on it? 403 if not (visible, so no leak)."""
        if not scope_for(self.request.user, perm).contains(obj):
            raise PermissionDenied(
                "You can see this record but not change it.", code="permission_denied"
            )

    @property
    def actor(self) -> Any:
        return self.request.user


class ScopedPrimaryKeyField(serializers.PrimaryKeyRelatedField):
    """A foreign key the user may only point at rows they can see (others read as unknown)."""

    def __init__(self, *, model: type[Model] | str, perm: str, **kwargs: Any) -> None:
        # Another app's model is named by its label ("identity.ClientProfile"): a serializer
        # points at another app's rows without importing that app's models.
        self.model = apps.get_model(model) if isinstance(model, str) else model
        self.perm = perm
        kwargs.setdefault("queryset", self.model._base_manager.none())
        super().__init__(**kwargs)

    def get_queryset(self) -> QuerySet:
        request: Request | None = self.context.get("request")
        user = getattr(request, "user", None)
        return scoped(self.model._default_manager.all(), scope_for(user, self.perm))
