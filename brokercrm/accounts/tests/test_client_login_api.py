"""Staff open a client's portal login: POST /api/v1/client-profiles/{id}/login."""

from __future__ import annotations

import pytest
from rest_framework.test import APIClient

from audit.models import AuditEvent
from brokercrm.accounts.models import User
from brokercrm.accounts.tests.factories import CLIENT_PASSWORD, client_login
from identity.logins import client_token_obtain
from identity.tests.factories import register

PASSWORD = "amber-falcon-river-77"


def url(profile) -> str:
    return f"/api/v1/client-profiles/{profile.pk}/login"


def as_user(user) -> APIClient:
    api = APIClient()
    api.force_authenticate(user)
    return api


@pytest.fixture
def eu_profile(world):
    return register(world.eu_brand).profile


def nothing_written() -> bool:
    return (
        not User.objects.filter(kind="client").exists()
        and not AuditEvent.objects.filter(action="access.client_login_created").exists()
    )


def test_staff_with_the_permission_opens_the_login(world, eu_profile):
    # given EU compliance staff; when they open a login for an EU client
    response = as_user(world.eu_compliance).post(
        url(eu_profile), {"password": PASSWORD}, format="json"
    )
    # then the login exists, is the client's, and the client can obtain a token with it
    assert response.status_code == 201, response.json()
    user = User.objects.get(kind="client")
    assert response.json() == {
        "id": user.pk,
        "username": f"eu+{eu_profile.email_canonical}",
        "email": eu_profile.email,
        "profile_id": eu_profile.pk,
    }
    assert PASSWORD not in str(response.json())
    event = AuditEvent.objects.get(action="access.client_login_created")
    assert (event.actor_id, event.entity_id) == (world.eu_compliance.pk, world.eu.pk)
    token = client_token_obtain(brand=world.eu_brand, email=eu_profile.email, password=PASSWORD)
    assert token.user_id == user.pk


@pytest.mark.parametrize("persona", ["uk_admin", "uk_compliance", "eu_desk_sales", "eu_admin"])
def test_profile_out_of_scope_answers_404_and_writes_nothing(world, eu_profile, persona):
    # UK staff, an EU desk grant on another desk and the EU entity admin (configuration
    # only) do not see this client at all
    response = as_user(getattr(world, persona)).post(
        url(eu_profile), {"password": PASSWORD}, format="json"
    )
    assert response.status_code == 404
    assert response.json()["code"] == "not_found"
    assert nothing_written()


def test_unknown_profile_and_huge_id_answer_404(world):
    api = as_user(world.superuser)
    for path in (
        "/api/v1/client-profiles/999999/login",
        f"/api/v1/client-profiles/{'9' * 18}/login",
    ):
        assert api.post(path, {"password": PASSWORD}, format="json").status_code == 404
    assert (
        api.post(
            f"/api/v1/client-profiles/{'9' * 30}/login", {"password": PASSWORD}, format="json"
        ).status_code
        == 404
    )


@pytest.mark.parametrize("persona", ["eu_support", "group_compliance"])
def test_staff_who_see_the_profile_but_may_not_change_it_get_403(world, eu_profile, persona):
    response = as_user(getattr(world, persona)).post(
        url(eu_profile), {"password": PASSWORD}, format="json"
    )
    assert response.status_code == 403
    assert response.json()["code"] == "permission_denied"
    assert nothing_written()


def test_anonymous_gets_401(world, eu_profile):
    response = APIClient().post(url(eu_profile), {"password": PASSWORD}, format="json")
    assert response.status_code == 401
    assert nothing_written()


def test_a_client_login_cannot_open_logins(world, eu_profile):
    # given a client of the same entity holding a token; the staff endpoint does not know them
    other = register(
        world.eu_brand,
        given_name="Olga",
        family_name="Sidorova",
        birth_date="1990-01-02",
        email="olga@example.com",
        phone="+49 151 99999999",
        document=None,
    ).profile
    client = client_login(other)
    response = as_user(client).post(url(eu_profile), {"password": PASSWORD}, format="json")
    assert response.status_code == 404
    assert not User.objects.filter(profile=eu_profile).exists()


@pytest.mark.parametrize("password", ["short", "password1234", "1234567890123"])
def test_weak_password_answers_400_with_a_code(world, eu_profile, password):
    response = as_user(world.eu_compliance).post(
        url(eu_profile), {"password": password}, format="json"
    )
    assert response.status_code == 400
    assert response.json()["code"] == "password_weak"
    assert response.json()["errors"]["password"]
    assert nothing_written()


@pytest.mark.parametrize(
    "body", [{}, {"password": ""}, {"password": 12}, {"password": "x" * 300}, ["x"], "x"]
)
def test_bad_input_answers_400_and_writes_nothing(world, eu_profile, body):
    response = as_user(world.eu_compliance).post(url(eu_profile), body, format="json")
    assert response.status_code == 400, response.json()
    assert response.json()["code"] in {"invalid", "password_required", "password_weak"}
    assert nothing_written()


def test_second_login_answers_409_and_keeps_the_first(world, eu_profile):
    first = client_login(eu_profile)
    response = as_user(world.eu_compliance).post(
        url(eu_profile), {"password": PASSWORD}, format="json"
    )
    assert response.status_code == 409
    assert response.json()["code"] == "login_exists"
    assert list(User.objects.filter(kind="client")) == [first]
    first.refresh_from_db()
    assert first.check_password(CLIENT_PASSWORD)
    assert AuditEvent.objects.filter(action="access.client_login_created").count() == 1


def test_get_is_not_allowed(world, eu_profile):
    assert as_user(world.eu_compliance).get(url(eu_profile)).status_code == 405
