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


@pytest.mark.parametrize("view", ["changeform_view", "delete_view"])
def test_admin_saves_are_not_wrapped_in_an_outer_transaction(transactional_db, monkeypatch, view):
    """Services called from an admin form own their durable transaction."""
    from django.db import connection, transaction
    from django.test import RequestFactory

    seen = []

    def inner(self, request, *args):
        seen.append(connection.in_atomic_block)
        with transaction.atomic(durable=True):  # what a service does
            pass
        return "page"

    monkeypatch.setattr(ScopedAdmin, f"_{view}", inner)
    request = RequestFactory().post("/admin/entities/brand/1/change/")
    request._dont_enforce_csrf_checks = True
    model_admin = admin.site._registry[Brand]
    assert getattr(model_admin, view)(request, "1") == "page"
    assert seen == [False]


def test_admin_saves_and_deletes_are_audited_by_model_and_verb(db, django_user_model):
    from django.test import RequestFactory

    from audit.models import AuditEvent
    from entities.models import Desk
    from entities.tests.factories import DeskFactory

    staff = django_user_model.objects.create_superuser("ops", password="x")
    request = RequestFactory().post("/admin/")
    request.user = staff
    desks = ScopedAdmin(Desk, admin.site)  # the base's own save and delete
    desk = DeskFactory.build(entity=DeskFactory().entity)
    desks.save_model(request, desk, form=None, change=False)
    desk.name = "Renamed"
    desks.save_model(request, desk, form=None, change=True)
    desk_id = str(desk.pk)
    desks.delete_model(request, desk)
    recorded = list(
        AuditEvent.objects.filter(actor=staff).order_by("seq").values_list("action", "object_id")
    )
    assert recorded == [
        ("admin.entities.desk.created", desk_id),
        ("admin.entities.desk.changed", desk_id),
        ("admin.entities.desk.deleted", desk_id),
    ]
