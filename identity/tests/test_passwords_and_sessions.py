"""A client's password (change, reset by e-mail) and sessions (log out, log out everywhere)."""

from __future__ import annotations

import pytest
from django.contrib.auth.tokens import default_token_generator
from django.core import mail
from django.utils.encoding import force_bytes
from django.utils.http import urlsafe_base64_encode
from rest_framework.test import APIClient

from audit.models import AuditEvent
from brokercrm.accounts.models import ClientToken, User
from brokercrm.accounts.tests.factories import CLIENT_PASSWORD, client_login
from identity.services.passwords import CHANGE_MAX_FAILURES, RESET_LIMIT
from identity.tests.factories import brand_api, mailed_token, register, signed_in

PASSWORD = "/api/v1/me/password"
SESSIONS = "/api/v1/me/sessions"
RESET = "/api/v1/client-password-resets"
RESET_CONFIRM = "/api/v1/client-password-resets/confirm"
NEW_PASSWORD = "silver-harbour-morning-77"
EMAIL = "ivan.petrov@example.com"


@pytest.fixture
def login(world):
    return client_login(register(world.eu_brand).profile)


def _password_of(login: User) -> str:
    return User.objects.get(pk=login.pk).password


def _works(api: APIClient) -> bool:
    return api.get("/api/v1/me").status_code == 200


# --- change ------------------------------------------------------------------------------


def test_a_client_changes_their_password_and_other_sessions_end(
    world, login, django_capture_on_commit_callbacks
):
    phone, laptop = signed_in(login.profile), signed_in(login.profile)
    with django_capture_on_commit_callbacks(execute=True):
        response = laptop.post(
            PASSWORD,
            {"current_password": CLIENT_PASSWORD, "new_password": NEW_PASSWORD},
            format="json",
        )
    assert response.status_code == 204, response.content
    assert _works(laptop)
    assert not _works(phone)
    assert ClientToken.objects.filter(user=login).count() == 1
    assert User.objects.get(pk=login.pk).check_password(NEW_PASSWORD)
    event = AuditEvent.objects.get(action="access.client_password_changed")
    assert event.after == {"sessions_ended": 1}
    (notice,) = mail.outbox
    assert (notice.to, notice.subject) == ([EMAIL], "Your password was changed")
    # the brand logs in with the new password only
    api = brand_api(world.eu_brand)
    assert (
        api.post(
            "/api/v1/client-tokens", {"email": EMAIL, "password": NEW_PASSWORD}, format="json"
        ).status_code
        == 200
    )
    assert (
        api.post(
            "/api/v1/client-tokens", {"email": EMAIL, "password": CLIENT_PASSWORD}, format="json"
        ).json()["code"]
        == "login_failed"
    )


@pytest.mark.parametrize(
    ("body", "code"),
    [
        ({"current_password": "wrong-password-1", "new_password": NEW_PASSWORD}, "password_wrong"),
        ({"current_password": CLIENT_PASSWORD, "new_password": "short"}, "password_weak"),
        ({"current_password": CLIENT_PASSWORD, "new_password": "password123"}, "password_weak"),
        ({"current_password": CLIENT_PASSWORD, "new_password": "12345678901"}, "password_weak"),
        (
            {"current_password": CLIENT_PASSWORD, "new_password": CLIENT_PASSWORD},
            "password_unchanged",
        ),
        ({"current_password": CLIENT_PASSWORD}, "invalid"),
        ({"new_password": NEW_PASSWORD}, "invalid"),
        ({"current_password": CLIENT_PASSWORD, "new_password": "x" * 257}, "invalid"),
    ],
)
def test_a_refused_change_changes_nothing(world, login, body, code):
    phone, laptop = signed_in(login.profile), signed_in(login.profile)
    before = _password_of(login)
    response = laptop.post(PASSWORD, body, format="json")
    assert (response.status_code, response.json()["code"]) == (400, code)
    assert _password_of(login) == before
    assert _works(phone)
    assert _works(laptop)
    assert not AuditEvent.objects.filter(action="access.client_password_changed").exists()


def test_guessing_the_current_password_is_limited(world, login):
    api = signed_in(login.profile)
    body = {"current_password": "wrong-password-1", "new_password": NEW_PASSWORD}
    for _ in range(CHANGE_MAX_FAILURES):
        assert api.post(PASSWORD, body, format="json").json()["code"] == "password_wrong"
    right = {"current_password": CLIENT_PASSWORD, "new_password": NEW_PASSWORD}
    response = api.post(PASSWORD, right, format="json")
    assert (response.status_code, response.json()["code"]) == (429, "password_throttled")
    assert User.objects.get(pk=login.pk).check_password(CLIENT_PASSWORD)


def test_password_change_personas(world, login):
    body = {"current_password": CLIENT_PASSWORD, "new_password": NEW_PASSWORD}
    assert APIClient().post(PASSWORD, body, format="json").status_code == 401
    staff = APIClient()
    staff.force_authenticate(world.eu_admin)
    assert staff.post(PASSWORD, body, format="json").status_code == 403
    assert brand_api(world.eu_brand).post(PASSWORD, body, format="json").status_code == 401
    assert User.objects.get(pk=login.pk).check_password(CLIENT_PASSWORD)


# --- sessions ----------------------------------------------------------------------------


def test_log_out_everywhere_ends_every_token_of_the_login(world, login):
    phone, laptop = signed_in(login.profile), signed_in(login.profile)
    # another client's session is not touched
    other = client_login(
        register(
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
    )
    olga = signed_in(other.profile)
    assert laptop.delete(SESSIONS).status_code == 204
    assert not _works(phone)
    assert not _works(laptop)
    assert _works(olga)
    assert not ClientToken.objects.filter(user=login).exists()
    event = AuditEvent.objects.get(action="access.client_logged_out_everywhere")
    assert (event.actor_id, event.after) == (login.pk, {"sessions_ended": 2})


def test_log_out_everywhere_personas(world, login):
    phone = signed_in(login.profile)
    assert APIClient().delete(SESSIONS).status_code == 401
    staff = APIClient()
    staff.force_authenticate(world.eu_admin)
    assert staff.delete(SESSIONS).status_code == 403
    assert _works(phone)


# --- reset -------------------------------------------------------------------------------


def _reset_mail(api, django_capture_on_commit_callbacks, **body):
    with django_capture_on_commit_callbacks(execute=True):
        response = api.post(RESET, {"email": EMAIL, **body}, format="json")
    assert response.status_code == 202, response.content
    return response


def test_reset_by_email_sets_the_password_and_ends_every_session(
    world, login, django_capture_on_commit_callbacks
):
    phone = signed_in(login.profile)
    api = brand_api(world.eu_brand)
    _reset_mail(api, django_capture_on_commit_callbacks)
    (message,) = mail.outbox
    assert message.subject == "Reset your password"
    assert "https://eu.example.com/reset-password?uid=" in message.body
    uid, token = mailed_token(message, "uid"), mailed_token(message, "token")
    with django_capture_on_commit_callbacks(execute=True):
        response = api.post(
            RESET_CONFIRM, {"uid": uid, "token": token, "new_password": NEW_PASSWORD}, format="json"
        )
    assert response.status_code == 204, response.content
    assert not _works(phone)
    assert User.objects.get(pk=login.pk).check_password(NEW_PASSWORD)
    assert AuditEvent.objects.filter(action="access.client_password_reset").count() == 1
    assert mail.outbox[-1].subject == "Your password was changed"
    # the link works once
    again = api.post(
        RESET_CONFIRM,
        {"uid": uid, "token": token, "new_password": "another-fine-phrase-9"},
        format="json",
    )
    assert (again.status_code, again.json()["code"]) == (400, "reset_link_invalid")
    assert User.objects.get(pk=login.pk).check_password(NEW_PASSWORD)


def test_reset_answers_alike_for_addresses_that_are_no_client(
    world, login, django_capture_on_commit_callbacks
):
    eu_api, uk_api = brand_api(world.eu_brand), brand_api(world.uk_brand)
    for api, body in (
        (eu_api, {"email": "nobody@example.com"}),
        (eu_api, {"email": "not an address"}),
        (eu_api, {"email": EMAIL, "entity": "NOPE"}),
        (uk_api, {"email": EMAIL}),  # the EU client through the UK brand
        (uk_api, {"email": EMAIL, "entity": "EU"}),
    ):
        with django_capture_on_commit_callbacks(execute=True):
            response = api.post(RESET, body, format="json")
        assert (response.status_code, response.content) == (202, b""), body
    assert mail.outbox == []
    assert not AuditEvent.objects.filter(action="access.client_password_reset_requested").exists()


def test_reset_requests_are_limited_for_known_and_unknown_addresses(world, login):
    api = brand_api(world.eu_brand)
    for email in (EMAIL, "nobody@example.com"):
        for _ in range(RESET_LIMIT):
            assert api.post(RESET, {"email": email}, format="json").status_code == 202
        response = api.post(RESET, {"email": email}, format="json")
        assert (response.status_code, response.json()["code"]) == (429, "reset_throttled")


def _uid(user_pk: int) -> str:
    return urlsafe_base64_encode(force_bytes(user_pk))


def test_bad_reset_links_change_nothing(world, login):
    phone = signed_in(login.profile)
    api = brand_api(world.eu_brand)
    # made after the sign-in: a reset link dies with the next sign-in, as Django's tokens do
    token = default_token_generator.make_token(User.objects.get(pk=login.pk))
    before = _password_of(login)
    for body in (
        {"uid": _uid(999999), "token": token},  # unknown uid
        {"uid": "!!!", "token": token},  # not base64
        {"uid": _uid(login.pk), "token": "abc-def"},  # forged token
        # the last character changed (a token that ends in 0 would stay genuine with a 0)
        {"uid": _uid(login.pk), "token": token[:-1] + ("1" if token.endswith("0") else "0")},
        {
            "uid": _uid(world.eu_admin.pk),
            "token": default_token_generator.make_token(world.eu_admin),
        },
    ):
        response = api.post(RESET_CONFIRM, {**body, "new_password": NEW_PASSWORD}, format="json")
        assert (response.status_code, response.json()["code"]) == (400, "reset_link_invalid"), body
    # another entity's brand cannot use a genuine link
    response = brand_api(world.uk_brand).post(
        RESET_CONFIRM,
        {"uid": _uid(login.pk), "token": token, "new_password": NEW_PASSWORD},
        format="json",
    )
    assert (response.status_code, response.json()["code"]) == (400, "reset_link_invalid")
    # a weak password keeps the link usable
    weak = api.post(
        RESET_CONFIRM,
        {"uid": _uid(login.pk), "token": token, "new_password": "password"},
        format="json",
    )
    assert (weak.status_code, weak.json()["code"]) == (400, "password_weak")
    assert _password_of(login) == before
    assert _works(phone)
    assert default_token_generator.check_token(User.objects.get(pk=login.pk), token)
    # malformed bodies
    for body in ({}, {"uid": _uid(login.pk)}, []):
        assert api.post(RESET_CONFIRM, body, format="json").json()["code"] == "invalid"
    assert APIClient().post(RESET, {"email": EMAIL}, format="json").status_code == 401
    assert not AuditEvent.objects.filter(action="access.client_password_reset").exists()


def test_a_password_change_kills_an_outstanding_reset_link(world, login):
    token = default_token_generator.make_token(login)
    signed_in(login.profile).post(
        PASSWORD,
        {"current_password": CLIENT_PASSWORD, "new_password": NEW_PASSWORD},
        format="json",
    )
    response = brand_api(world.eu_brand).post(
        RESET_CONFIRM,
        {"uid": _uid(login.pk), "token": token, "new_password": "another-fine-phrase-9"},
        format="json",
    )
    assert (response.status_code, response.json()["code"]) == (400, "reset_link_invalid")
