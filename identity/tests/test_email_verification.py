"""E-mail verification: the link sent at registration and on request, confirmed by the client
or by the brand's site; expired, forged, other clients' and other entities' tokens refused."""

from __future__ import annotations

import datetime as dt

import pytest
import time_machine
from django.core import mail, signing
from rest_framework.test import APIClient

from audit.models import AuditEvent
from brokercrm.accounts.tests.factories import client_login
from identity.models import ClientProfile
from identity.selectors import profile_email_verified
from identity.services import email_verification_token
from identity.services.verification import RESEND_LIMIT
from identity.tests.factories import brand_api, mailed_token, register, signed_in

ME = "/api/v1/me/email-verification"
CONFIRM = "/api/v1/me/email-verification/confirm"
BRAND_CONFIRM = "/api/v1/email-verifications"


def _fresh(profile: ClientProfile) -> ClientProfile:
    return ClientProfile.objects.unscoped().get(pk=profile.pk)


@pytest.fixture
def eu_client(world, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=True):
        profile = register(world.eu_brand).profile
    client_login(profile)
    return profile


@pytest.fixture
def other_eu_client(world):
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


# --- sent at registration ---------------------------------------------------------------


def test_registration_sends_the_verification_link_after_commit(world, eu_client):
    assert len(mail.outbox) == 1
    message = mail.outbox[0]
    assert message.to == ["ivan.petrov@example.com"]
    assert message.subject == "Confirm your e-mail address"
    assert message.extra_headers["Content-Language"] == "en"
    assert "https://eu.example.com/verify-email?token=" in message.body
    assert "Hello Ivan," in message.body
    assert not eu_client.email_verified


@pytest.mark.parametrize(
    ("language", "subject", "greeting"),
    [
        ("es", "Confirme su dirección de correo electrónico", "Hola, Ivan:"),
        ("ar", "أكّد عنوان بريدك الإلكتروني", "مرحبًا Ivan،"),
    ],
)
def test_the_link_is_written_in_the_clients_language(
    world, django_capture_on_commit_callbacks, language, subject, greeting
):
    with django_capture_on_commit_callbacks(execute=True):
        profile = register(world.eu_brand, language=language).profile
    assert profile.language == language
    (message,) = mail.outbox
    assert (message.subject, message.extra_headers["Content-Language"]) == (subject, language)
    assert message.body.startswith(greeting)


def test_nothing_is_sent_before_commit_nor_for_an_address_the_brand_verified(
    world, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=False) as callbacks:
        register(world.eu_brand)
    assert mail.outbox == []  # waits for the commit
    assert callbacks
    with django_capture_on_commit_callbacks(execute=True):
        register(
            world.uk_brand,
            residence_country="GB",
            email="verified@example.com",
            email_verified=True,
        )
    assert mail.outbox == []


# --- the client confirms ---------------------------------------------------------------


def test_the_client_confirms_with_the_mailed_token(world, eu_client):
    token = mailed_token(mail.outbox[0])
    api = signed_in(eu_client)
    response = api.post(CONFIRM, {"token": token}, format="json")
    assert response.status_code == 200, response.content
    assert response.json() == {
        "profile_id": eu_client.pk,
        "email": "ivan.petrov@example.com",
        "email_verified": True,
    }
    assert profile_email_verified(eu_client) is True
    assert AuditEvent.objects.filter(action="identity.email_verified").count() == 1
    # confirming again is harmless and records nothing more
    assert api.post(CONFIRM, {"token": token}, format="json").status_code == 200
    assert AuditEvent.objects.filter(action="identity.email_verified").count() == 1


def test_an_expired_token_is_refused(world, eu_client, settings):
    settings.EMAIL_VERIFICATION_MAX_AGE = 3600
    token = email_verification_token(eu_client)
    api = signed_in(eu_client)
    later = dt.datetime.now(tz=dt.UTC) + dt.timedelta(hours=2)
    with time_machine.travel(later, tick=False):
        response = api.post(CONFIRM, {"token": token}, format="json")
    assert (response.status_code, response.json()["code"]) == (400, "verification_expired")
    assert profile_email_verified(eu_client) is False


@pytest.mark.parametrize(
    "token",
    [
        "not-a-token",
        "",
        "x" * 401,
        signing.dumps({"p": 1, "e": "x"}, salt="another-salt"),
        signing.dumps("just a string", salt="identity.email-verification"),
        signing.dumps({"p": 999999999, "e": "x"}, salt="identity.email-verification"),
    ],
)
def test_forged_and_malformed_tokens_are_refused(world, eu_client, token):
    response = signed_in(eu_client).post(CONFIRM, {"token": token}, format="json")
    assert response.status_code == 400
    assert response.json()["code"] in {"verification_invalid", "invalid"}
    assert profile_email_verified(eu_client) is False
    assert not AuditEvent.objects.filter(action="identity.email_verified").exists()


def test_a_tampered_token_is_refused(world, eu_client):
    token = email_verification_token(eu_client)
    tampered = token[:-3] + ("aaa" if not token.endswith("aaa") else "bbb")
    response = signed_in(eu_client).post(CONFIRM, {"token": tampered}, format="json")
    assert (response.status_code, response.json()["code"]) == (400, "verification_invalid")
    assert profile_email_verified(eu_client) is False


def test_another_clients_token_does_not_verify_either(world, eu_client, other_eu_client):
    # Ivan sends Olga's token through his own session
    response = signed_in(eu_client).post(
        CONFIRM, {"token": email_verification_token(other_eu_client)}, format="json"
    )
    assert (response.status_code, response.json()["code"]) == (400, "verification_invalid")
    assert profile_email_verified(other_eu_client) is False
    assert profile_email_verified(eu_client) is False


def test_a_token_for_a_previous_address_no_longer_verifies(world, eu_client):
    old_token = email_verification_token(eu_client)
    api = signed_in(eu_client)
    assert (
        api.patch("/api/v1/me/profile", {"email": "ivan@new.example.com"}, format="json")
    ).status_code == 200
    response = api.post(CONFIRM, {"token": old_token}, format="json")
    assert (response.status_code, response.json()["code"]) == (400, "verification_email_changed")
    assert profile_email_verified(eu_client) is False


# --- the brand's site confirms -----------------------------------------------------------


def test_the_brands_site_confirms_its_own_clients_token(world, eu_client):
    token = mailed_token(mail.outbox[0])
    # another entity's brand cannot use it
    refused = brand_api(world.uk_brand).post(BRAND_CONFIRM, {"token": token}, format="json")
    assert (refused.status_code, refused.json()["code"]) == (400, "verification_invalid")
    assert profile_email_verified(eu_client) is False
    # no key at all
    assert APIClient().post(BRAND_CONFIRM, {"token": token}, format="json").status_code == 401
    response = brand_api(world.eu_brand).post(BRAND_CONFIRM, {"token": token}, format="json")
    assert response.status_code == 200
    assert response.json()["email_verified"] is True
    event = AuditEvent.objects.get(action="identity.email_verified")
    assert event.actor_label == "brand:eu-brand"


def test_a_brand_confirms_a_client_it_onboarded_in_another_entity(world):
    from brokercrm.gate import SYSTEM
    from entities.services import country_route_set

    country_route_set(actor=SYSTEM, brand=world.eu_brand, country="GB", entity=world.uk)
    routed = register(world.eu_brand, residence_country="GB").profile
    assert routed.entity_id == world.uk.pk
    token = email_verification_token(routed)
    response = brand_api(world.eu_brand).post(BRAND_CONFIRM, {"token": token}, format="json")
    assert response.status_code == 200
    assert profile_email_verified(routed)


# --- asking again ------------------------------------------------------------------------


def test_the_client_asks_for_the_link_again(world, eu_client, django_capture_on_commit_callbacks):
    mail.outbox.clear()
    api = signed_in(eu_client)
    with django_capture_on_commit_callbacks(execute=True):
        response = api.post(ME)
    assert response.status_code == 202
    (message,) = mail.outbox
    assert message.to == [eu_client.email]
    api.post(CONFIRM, {"token": mailed_token(message)}, format="json")
    again = api.post(ME)
    assert (again.status_code, again.json()["code"]) == (409, "email_already_verified")


def test_asking_again_is_limited(world, eu_client):
    api = signed_in(eu_client)
    for _ in range(RESEND_LIMIT):
        assert api.post(ME).status_code == 202
    response = api.post(ME)
    assert (response.status_code, response.json()["code"]) == (429, "verification_throttled")
    assert (
        AuditEvent.objects.filter(action="identity.email_verification_sent").count() == RESEND_LIMIT
    )


def test_personas_on_the_client_endpoints(world, eu_client):
    token = email_verification_token(eu_client)
    anonymous = APIClient()
    staff = APIClient()
    staff.force_authenticate(world.eu_admin)
    brand = brand_api(world.eu_brand)
    for path, body in ((ME, None), (CONFIRM, {"token": token})):
        assert anonymous.post(path, body, format="json").status_code == 401
        assert staff.post(path, body, format="json").status_code == 403
        assert brand.post(path, body, format="json").status_code in (401, 403)
    assert profile_email_verified(eu_client) is False
    assert not AuditEvent.objects.filter(action__startswith="identity.email_verif").exists()
