"""Registration gives the new client the desk that covers their country of residence."""

from __future__ import annotations

import pytest
from django.core.management import call_command
from django.test import Client
from django.urls import reverse

from brokercrm.accounts.models import User
from entities.models import Desk
from entities.selectors import desk_for_country
from identity.models import ClientProfile

from .factories import register


@pytest.fixture
def dach(world):
    Desk.objects.unscoped().filter(pk=world.eu_desk.pk).update(countries=["DE", "AT", "LI"])
    Desk.objects.unscoped().filter(pk=world.eu_other_desk.pk).update(countries=["PL"])
    return world.eu_desk


def test_a_german_client_lands_on_the_dach_desk_and_its_sales_see_them(world, dach):
    result = register(world.eu_brand, residence_country="DE")
    profile = ClientProfile.objects.unscoped().get(pk=result.profile.pk)
    assert profile.desk_id == dach.pk
    visible = ClientProfile.objects.visible_to(world.eu_desk_sales, "identity.view_clientprofile")
    assert list(visible.values_list("pk", flat=True)) == [profile.pk]


def test_a_country_no_desk_covers_gets_no_desk(world, dach):
    result = register(world.eu_brand, residence_country="FR", nationality="FR")
    profile = ClientProfile.objects.unscoped().get(pk=result.profile.pk)
    assert profile.desk_id is None
    visible = ClientProfile.objects.visible_to(world.eu_desk_sales, "identity.view_clientprofile")
    assert not visible.exists()
    # The entity's own staff still see the client.
    assert (
        ClientProfile.objects.visible_to(world.eu_compliance, "identity.view_clientprofile")
        .filter(pk=profile.pk)
        .exists()
    )


def test_desk_for_country_looks_only_at_the_entitys_active_desks(world, dach):
    assert desk_for_country(world.eu.pk, "de") == dach
    assert desk_for_country(world.uk.pk, "DE") is None
    assert desk_for_country(world.eu.pk, "") is None
    Desk.objects.unscoped().filter(pk=dach.pk).update(active=False)
    assert desk_for_country(world.eu.pk, "DE") is None


def test_the_demo_dach_sales_login_sees_dach_clients_only(db, monkeypatch):
    monkeypatch.delenv("DEMO_PASSWORD", raising=False)
    call_command("seed_demo", quiet_logins=True)
    sales = User.objects.get(username="sales.eu.dach")
    visible = ClientProfile.objects.visible_to(sales, "identity.view_clientprofile")
    countries = set(visible.values_list("residence_country", flat=True))
    assert countries
    assert countries <= {"DE", "AT", "LI"}
    client = Client()
    client.force_login(sales)
    page = client.get(reverse("admin:identity_clientprofile_changelist"))
    assert page.status_code == 200
    assert visible.first().family_name in page.content.decode()
