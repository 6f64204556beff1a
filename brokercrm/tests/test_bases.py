"""The scoping bases cannot be side-stepped by the code built on them."""

from __future__ import annotations

import pytest
from django.contrib import admin

from brokercrm.admin import ScopedAdmin
from brokercrm.api.base import ScopedViewSet
from entities.models import Brand


def test_a_viewset_cannot_override_get_queryset():
    with pytest.raises(TypeError, match="overrides get_queryset"):

        class Leaky(ScopedViewSet):
            base_queryset = Brand.objects.all()
            view_permission = "entities.view_brand"

            def get_queryset(self):
                return Brand.objects.unscoped()


def test_a_viewset_cannot_override_get_object():
    with pytest.raises(TypeError, match="overrides get_object"):

        class Leaky(ScopedViewSet):
            def get_object(self):
                return None


def test_every_admin_of_scoped_rows_is_a_scoped_admin():
    unscoped = [
        model._meta.label
        for model, model_admin in admin.site._registry.items()
        if (hasattr(model, "scope_entity_field") or hasattr(model, "entity_id"))
        and not isinstance(model_admin, ScopedAdmin)
    ]
    assert unscoped == []
