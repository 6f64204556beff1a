"""The client reads their profile and changes their contact details: a new address is
verified again, the login follows it, the match index keeps step."""

from __future__ import annotations

import pytest
from django.core import mail
from rest_framework.test import APIClient

from audit.models import AuditEvent
from brokercrm.accounts.models import User
from brokercrm.accounts.tests.factories import CLIENT_PASSWORD, client_login
from identity.crypto import blind_index
from identity.models import ClientProfile, MatchKey
from identity.tests.factories import brand_api, mailed_token, register, signed_in

URL = "/api/v1/me/profile"


@pytest.fixture
def ivan(world):
    profile = register(world.eu_brand).profile
    ClientProfile.objects.unscoped().filter(pk=profile.pk).update(email_verified=True)
    client_login(profile)
    return ClientProfile.objects.unscoped().select_related("brand").get(pk=profile.pk)


@pytest.fixture
def olga(world):
    profile = register(
        world.eu_brand,
        given_name="Olga",
        family_name="Sidorova",
        birth_date="1990-01-02",
        email="olga.sidorova@example.com",
        phone="+49 151 99999999",
        document=None,
        ip="203.0.113.99",
        device_fingerprint="dev-olga",
    ).profile
    client_login(profile)
    return profile


def _keys(profile, kind):
    return list(
        MatchKey.objects.filter(profile=profile, kind=kind).values_list("digest", flat=True)
    )


def test_the_client_reads_their_profile(world, ivan):
    response = signed_in(ivan).get(URL)
    assert response.status_code == 200
    assert response.json() == {
        "id": ivan.pk,
        "entity": "EU",
        "given_name": "Ivan",
        "family_name": "Petrov",
        "email": "ivan.petrov@example.com",
        "email_verified": True,
        "phone": "+4915123456789",
        "address_line1": "Hauptstrasse 1",
        "address_line2": "",
        "city": "Berlin",
        "postcode": "10115",
        "residence_country": "DE",
        "language": "en",
        "status": "applicant",
        "agreement_version": "",
    }


def test_the_client_changes_phone_address_and_language(world, ivan):
    body = {
        "phone": "0151 23456780",
        "address_line1": " Unter den Linden 5 ",
        "city": "Berlin",
        "postcode": "10117",
        "language": "es",
    }
    response = signed_in(ivan).patch(URL, body, format="json")
    assert response.status_code == 200, response.content
    data = response.json()
    assert (data["phone"], data["address_line1"], data["postcode"], data["language"]) == (
        "+4915123456780",
        "Unter den Linden 5",
        "10117",
        "es",
    )
    assert data["email_verified"] is True  # the address did not change
    assert [bytes(key) for key in _keys(ivan, MatchKey.Kind.PHONE)] == [
        blind_index(MatchKey.Kind.PHONE, "+4915123456780")
    ]
    event = AuditEvent.objects.get(action="identity.profile_updated")
    assert (event.actor_id, event.entity_id) == (User.objects.get(profile=ivan).pk, world.eu.pk)
    assert set(event.after) == set(body)


def test_a_new_address_is_verified_again_and_the_login_follows(
    world, ivan, django_capture_on_commit_callbacks
):
    api = signed_in(ivan)
    with django_capture_on_commit_callbacks(execute=True):
        response = api.patch(URL, {"email": "Ivan.P@Example.NET"}, format="json")
    assert response.status_code == 200, response.content
    assert (response.json()["email"], response.json()["email_verified"]) == (
        "Ivan.P@example.net",
        False,
    )
    login = User.objects.get(profile=ivan)
    assert (login.username, login.email) == ("eu+ivan.p@example.net", "Ivan.P@example.net")
    assert [bytes(key) for key in _keys(ivan, MatchKey.Kind.EMAIL)] == [
        blind_index(MatchKey.Kind.EMAIL, "ivan.p@example.net")
    ]
    verification, notice = mail.outbox
    assert (verification.to, verification.subject) == (
        ["Ivan.P@example.net"],
        "Confirm your e-mail address",
    )
    assert (notice.to, notice.subject) == (
        ["ivan.petrov@example.com"],
        "Your e-mail address was changed",
    )
    assert "Ivan.P@example.net" in notice.body
    # the brand logs in with the new address only; the session in use goes on
    brand = brand_api(world.eu_brand)
    tokens = "/api/v1/client-tokens"
    new = {"email": "ivan.p@example.net", "password": CLIENT_PASSWORD}
    old = {"email": "ivan.petrov@example.com", "password": CLIENT_PASSWORD}
    assert brand.post(tokens, new, format="json").status_code == 200
    assert brand.post(tokens, old, format="json").json()["code"] == "login_failed"
    assert api.get(URL).status_code == 200
    # and the new address is verified with the link sent to it
    confirm = api.post(
        "/api/v1/me/email-verification/confirm",
        {"token": mailed_token(verification)},
        format="json",
    )
    assert confirm.json()["email_verified"] is True


def test_writing_the_same_address_differently_keeps_it_verified(world, ivan):
    response = signed_in(ivan).patch(URL, {"email": "Ivan.Petrov@EXAMPLE.com"}, format="json")
    assert response.status_code == 200
    assert (response.json()["email"], response.json()["email_verified"]) == (
        "Ivan.Petrov@example.com",
        True,
    )


def test_an_address_another_login_of_the_entity_uses_is_refused(world, ivan, olga):
    response = signed_in(ivan).patch(URL, {"email": "olga.sidorova@example.com"}, format="json")
    assert (response.status_code, response.json()["code"]) == (409, "login_email_taken")
    profile = ClientProfile.objects.unscoped().get(pk=ivan.pk)
    assert (profile.email, profile.email_verified) == ("ivan.petrov@example.com", True)
    assert User.objects.get(profile=ivan).username == "eu+ivan.petrov@example.com"
    assert not AuditEvent.objects.filter(action="identity.profile_updated").exists()


@pytest.mark.parametrize(
    ("body", "code"),
    [
        ({"email": "not an address"}, "email_invalid"),
        ({"email": ""}, "invalid"),
        ({"phone": "call me maybe"}, "phone_invalid"),
        ({"language": "fr"}, "invalid"),
        ({"status": "active"}, "invalid"),
        ({"given_name": "Ivo"}, "invalid"),
        ({"city": "x" * 101}, "invalid"),
        ({}, "invalid"),
        ([], "invalid"),
    ],
)
def test_bad_changes_are_refused_and_nothing_changes(world, ivan, body, code):
    before = ClientProfile.objects.unscoped().values().get(pk=ivan.pk)
    response = signed_in(ivan).patch(URL, body, format="json")
    assert (response.status_code, response.json()["code"]) == (400, code), response.content
    assert ClientProfile.objects.unscoped().values().get(pk=ivan.pk) == before
    assert not AuditEvent.objects.filter(action="identity.profile_updated").exists()


def test_the_service_keeps_a_client_to_their_contact_details(world, ivan, olga):
    from brokercrm.errors import NotFound, ValidationFailed
    from identity.services import profile_update

    login = User.objects.get(profile=ivan)
    with pytest.raises(ValidationFailed) as raised:
        profile_update(actor=login, profile=ivan, status="active")
    assert raised.value.code == "field_read_only"
    with pytest.raises(NotFound):
        profile_update(actor=login, profile=olga, city="Paris")
    assert ClientProfile.objects.unscoped().get(pk=olga.pk).city == "Berlin"


def test_personas(world, ivan):
    staff = APIClient()
    staff.force_authenticate(world.eu_compliance)
    assert APIClient().get(URL).status_code == 401
    assert APIClient().patch(URL, {"city": "Paris"}, format="json").status_code == 401
    assert staff.get(URL).status_code == 403
    assert staff.patch(URL, {"city": "Paris"}, format="json").status_code == 403
    assert brand_api(world.eu_brand).patch(URL, {"city": "Paris"}, format="json").status_code == 401
    assert ClientProfile.objects.unscoped().get(pk=ivan.pk).city == "Berlin"


def test_staff_edits_still_pass_the_gate(world, ivan):
    from brokercrm.errors import PermissionDenied
    from identity.services import profile_update

    with pytest.raises(PermissionDenied):
        profile_update(actor=world.eu_support, profile=ivan, city="Paris")
    with pytest.raises(PermissionDenied):
        profile_update(actor=world.uk_compliance, profile=ivan, city="Paris")
    updated = profile_update(actor=world.eu_compliance, profile=ivan, city="Paris", reason="call")
    assert updated.city == "Paris"
