"""Staff read dates and times in their own time zone."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
from django.test import Client
from django.urls import reverse

from brokercrm.accounts.models import User, time_zone_choices
from brokercrm.accounts.tests.factories import UserFactory

# 12:00 UTC in July is 13:00 in London (BST).
MOMENT = datetime(2024, 7, 15, 12, 0, tzinfo=UTC)


def _user_list(viewer: User) -> str:
    client = Client()
    client.force_login(viewer)
    response = client.get(reverse("admin:accounts_user_changelist"), {"q": "someone.else"})
    assert response.status_code == 200
    return response.content.decode()


@pytest.mark.django_db
def test_admin_pages_show_times_in_the_staff_members_zone():
    UserFactory(username="someone.else", last_login=MOMENT)
    viewer = UserFactory(username="root", is_superuser=True, time_zone="UTC")
    assert "noon" in _user_list(viewer)
    User.objects.filter(pk=viewer.pk).update(time_zone="Europe/London")
    viewer.refresh_from_db()
    assert "1 p.m." in _user_list(viewer)


@pytest.mark.django_db
def test_staff_set_their_own_zone_and_nothing_else():
    member = UserFactory(username="member", time_zone="UTC")
    client = Client()
    client.force_login(member)
    page = reverse("admin:accounts_user_change", args=[member.pk])
    response = client.get(page)
    assert response.status_code == 200
    assert 'name="is_superuser"' not in response.content.decode()
    response = client.post(page, {"time_zone": "Europe/Berlin", "is_superuser": "on"})
    assert response.status_code == 302
    member.refresh_from_db()
    assert (member.time_zone, member.is_superuser) == ("Europe/Berlin", False)
    other = UserFactory(username="other")
    assert client.get(reverse("admin:accounts_user_change", args=[other.pk])).status_code in (
        403,
        302,
    )
    assert client.get(reverse("admin:accounts_user_changelist")).status_code == 403


def test_zones_are_sorted_and_include_the_usual_ones():
    names = [name for name, _ in time_zone_choices()]
    assert names == sorted(names)
    assert {"UTC", "Europe/London", "Europe/Berlin"} <= set(names)
