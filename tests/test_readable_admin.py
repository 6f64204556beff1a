"""The admin reads like the product: every row names itself in words, amounts are shown at
their currency's minor units with the code, never the stored eight places."""

from __future__ import annotations

import re
from decimal import Decimal
from io import StringIO

import pytest
from django.apps import apps
from django.contrib import admin
from django.core.management import call_command
from django.db import models
from django.test import Client
from django.urls import reverse

from brokercrm.accounts.models import User
from payments.models import Withdrawal, WithdrawalLeg

PROJECT_APPS = {
    "entities",
    "identity",
    "kyc",
    "wallets",
    "payments",
    "platforms",
    "ib",
    "audit",
    "accounts",
    "events",
    "notifications",
}
GENERIC = re.compile(r" object \(\d+\)$")
STORED_PLACES = re.compile(r"\d\.\d{8}\b")


def project_models() -> list[type[models.Model]]:
    return [model for model in apps.get_models() if model._meta.app_label in PROJECT_APPS]


@pytest.fixture
def demo(db, monkeypatch):
    monkeypatch.delenv("DEMO_PASSWORD", raising=False)
    call_command("seed_demo", quiet_logins=True)
    call_command("seed_ib", stdout=StringIO())


def test_every_model_names_itself():
    unnamed = [
        model._meta.label
        for model in project_models()
        if not any(
            "__str__" in vars(cls) for cls in model.__mro__[: model.__mro__.index(models.Model)]
        )
    ]
    assert unnamed == []


def test_every_demo_row_reads_in_words(demo):
    seen = 0
    for model in project_models():
        for row in model._base_manager.order_by("pk")[:5]:
            text = str(row)
            seen += 1
            assert not GENERIC.search(text), (model._meta.label, text)
            assert not STORED_PLACES.search(text), (model._meta.label, text)
    assert seen > 100


def test_unsaved_rows_name_themselves_without_queries(db, django_assert_num_queries):
    withdrawal = Withdrawal(amount=Decimal("250"), currency="EUR", status="pending_approval")
    leg = WithdrawalLeg(withdrawal=withdrawal, number=1, destination="bank", amount=Decimal("250"))
    with django_assert_num_queries(0):
        assert str(withdrawal) == "Withdrawal (new) · 250.00 EUR (waiting for approval)"
        assert str(leg).endswith(" · 250.00 EUR (bank payout, waiting)")


def test_admin_pages_show_no_generic_names_and_no_stored_places(demo):
    client = Client()
    client.force_login(User.objects.get(username="admin"))
    for model in admin.site._registry:
        opts = model._meta
        pages = [reverse(f"admin:{opts.app_label}_{opts.model_name}_changelist")]
        first = model._base_manager.order_by("pk").first()
        if first is not None:
            pages.append(
                reverse(f"admin:{opts.app_label}_{opts.model_name}_change", args=[first.pk])
            )
        for page in pages:
            response = client.get(page)
            assert response.status_code == 200, (page, response.status_code)
            html = response.content.decode()
            assert "object (" not in html, (page, re.findall(r".{40}object \(.{10}", html)[:3])
            assert not STORED_PLACES.search(html), (page, STORED_PLACES.findall(html)[:3])


def test_wallet_list_shows_amounts_with_their_code(demo):
    client = Client()
    client.force_login(User.objects.get(username="admin"))
    html = client.get(reverse("admin:wallets_ledgeraccount_changelist")).content.decode()
    assert re.search(r"\d\.\d{2} (EUR|USD|GBP)<", html)
    html = client.get(reverse("admin:ib_commissionline_changelist")).content.decode()
    assert re.search(r"\d\.\d{2} (EUR|USD|GBP)<", html)
