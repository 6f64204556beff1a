"""Every admin page renders for every kind of staff member: 200 or 403, never a server error."""

from __future__ import annotations

import pytest
from django.contrib import admin
from django.core.management import call_command
from django.test import Client
from django.urls import reverse

from brokercrm.accounts.models import User


@pytest.fixture
def demo(db):
    call_command("seed_demo", quiet_logins=True)


@pytest.mark.parametrize(
    "username", ["admin", "compliance.eu", "support.uk", "group.compliance", "sales.eu.dach"]
)
def test_every_changelist_and_change_page_renders(demo, username):
    client = Client()
    client.force_login(User.objects.get(username=username))
    assert client.get("/admin/").status_code == 200
    for model in admin.site._registry:
        opts = model._meta
        changelist = reverse(f"admin:{opts.app_label}_{opts.model_name}_changelist")
        response = client.get(changelist)
        assert response.status_code in (200, 403), (username, changelist, response.status_code)
        add = client.get(reverse(f"admin:{opts.app_label}_{opts.model_name}_add"))
        assert add.status_code in (200, 403), (username, opts.label, "add", add.status_code)
        first = model._base_manager.order_by("pk").first()
        if first is not None:
            change = client.get(
                reverse(f"admin:{opts.app_label}_{opts.model_name}_change", args=[first.pk])
            )
            assert change.status_code in (200, 403, 404), (
                username,
                opts.label,
                "change",
                change.status_code,
            )
