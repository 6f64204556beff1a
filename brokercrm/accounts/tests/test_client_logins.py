"""Client logins: one per client profile, hence one entity; tokens through the brand key."""

from __future__ import annotations

import pytest
from django.db import IntegrityError, transaction
from rest_framework.test import APIClient

from audit.models import AuditEvent
from brokercrm.accounts.models import ClientToken, User
from brokercrm.accounts.tests.factories import CLIENT_PASSWORD, client_login
from brokercrm.accounts.tokens import key_digest
from brokercrm.errors import (
    ApplicationError,
    Conflict,
    NotFound,
    PermissionDenied,
    ValidationFailed,
)
from brokercrm.gate import SYSTEM, system
from identity.api.auth import brand_api_key_create
from identity.logins import (
    LOGIN_PER_ADDRESS,
    LOGIN_PER_SOURCE,
    client_login_create,
    client_token_obtain,
    login_wait_seconds,
)
from identity.tests.factories import register

EMAIL = "ivan.petrov@example.com"


@pytest.fixture
def eu_profile(world):
    return register(world.eu_brand).profile


@pytest.fixture
def uk_profile(world, eu_profile):
    # The same person, same e-mail, now also a client of the UK entity.
    result = register(world.uk_brand, residence_country="GB")
    assert result.outcome == "auto_link"
    return result.profile


def brand_api(brand) -> APIClient:
    _, secret = brand_api_key_create(brand=brand, name="web")
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Api-Key {secret}")
    return client


def token_client(token: str) -> APIClient:
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Token {token}")
    return client


# --- creating a login -----------------------------------------------------------------------


def test_login_created_for_the_profile_and_audited(world, eu_profile):
    user = client_login(eu_profile)
    assert (user.kind, user.profile_id, user.is_staff) == ("client", eu_profile.pk, False)
    assert user.username == f"eu+{EMAIL}"
    assert user.check_password(CLIENT_PASSWORD)
    event = AuditEvent.objects.get(action="access.client_login_created")
    assert (event.entity_id, event.object_id) == (world.eu.pk, str(user.pk))
    assert CLIENT_PASSWORD not in str(event.after)


@pytest.mark.parametrize("password", ["short", "password1234", "1234567890123", "ivanpetrov1"])
def test_weak_password_refused_and_nothing_written(eu_profile, password):
    with pytest.raises(ValidationFailed) as raised:
        client_login_create(actor=system("client_login"), profile=eu_profile, password=password)
    assert raised.value.code == "password_weak"
    assert raised.value.extra["errors"]["password"]
    assert not User.objects.filter(kind="client").exists()
    assert not AuditEvent.objects.filter(action="access.client_login_created").exists()


def test_empty_password_refused(eu_profile):
    with pytest.raises(ValidationFailed) as raised:
        client_login_create(actor=system("client_login"), profile=eu_profile, password="")
    assert raised.value.code == "password_required"


def test_second_login_for_the_profile_refused(eu_profile):
    client_login(eu_profile)
    with pytest.raises(Conflict) as raised:
        client_login(eu_profile, password="another-long-passphrase")
    assert raised.value.code == "login_exists"
    assert User.objects.filter(kind="client").count() == 1


def test_same_email_in_the_same_entity_refused(world, eu_profile):
    # given another profile of the EU entity that carries the same e-mail address
    other = register(
        world.eu_brand,
        given_name="Olga",
        family_name="Sidorova",
        birth_date="1990-01-02",
        phone="+49 151 99999999",
        document=None,
        ip="203.0.113.99",
        device_fingerprint="dev-olga",
    ).profile
    type(other).objects.unscoped().filter(pk=other.pk).update(
        email_canonical=eu_profile.email_canonical
    )
    other.refresh_from_db()
    client_login(eu_profile)
    with pytest.raises(Conflict) as raised:
        client_login(other)
    assert raised.value.code == "login_email_taken"
    assert User.objects.filter(kind="client").count() == 1


def test_same_email_may_hold_a_login_in_another_entity(eu_profile, uk_profile):
    eu_user = client_login(eu_profile)
    uk_user = client_login(uk_profile, password="a-different-uk-passphrase")
    assert eu_user.pk != uk_user.pk
    assert (eu_user.username, uk_user.username) == (f"eu+{EMAIL}", f"uk+{EMAIL}")


def test_staff_need_to_change_the_entitys_profiles(world, eu_profile):
    with pytest.raises(NotFound):
        client_login_create(actor=world.uk_compliance, profile=eu_profile, password=CLIENT_PASSWORD)
    with pytest.raises(PermissionDenied):
        client_login_create(actor=world.eu_support, profile=eu_profile, password=CLIENT_PASSWORD)
    assert not User.objects.filter(kind="client").exists()
    user = client_login_create(
        actor=world.eu_compliance, profile=eu_profile, password=CLIENT_PASSWORD
    )
    assert user.profile_id == eu_profile.pk


def test_closed_profile_gets_no_login(eu_profile):
    type(eu_profile).objects.unscoped().filter(pk=eu_profile.pk).update(status="closed")
    eu_profile.refresh_from_db()
    with pytest.raises(ValidationFailed) as raised:
        client_login(eu_profile)
    assert raised.value.code == "profile_closed"


def test_database_refuses_staff_with_a_profile_and_client_without(world, eu_profile):
    with pytest.raises(IntegrityError), transaction.atomic():
        User.objects.create(username="staff-with-profile", kind="staff", profile=eu_profile)
    with pytest.raises(IntegrityError), transaction.atomic():
        User.objects.create(username="client-without-profile", kind="client")
    assert not User.objects.filter(
        username__in=["staff-with-profile", "client-without-profile"]
    ).exists()


# --- the token endpoint ---------------------------------------------------------------------

URL = "/api/v1/client-tokens"


def test_token_for_the_brands_entity(world, eu_profile):
    user = client_login(eu_profile)
    response = brand_api(world.eu_brand).post(
        URL, {"email": "Ivan.Petrov@Example.com ", "password": CLIENT_PASSWORD}, format="json"
    )
    assert response.status_code == 200
    assert response.json()["profile_id"] == eu_profile.pk
    # only a digest of the key is stored
    token = ClientToken.objects.get(user=user)
    assert token.key_digest == key_digest(response.json()["token"])
    assert response.json()["token"] not in str(list(ClientToken.objects.values()))
    assert AuditEvent.objects.filter(action="access.client_token_issued", actor=user).count() == 1
    me = token_client(response.json()["token"]).get("/api/v1/me")
    assert me.status_code == 200
    assert {key: me.json()[key] for key in ("id", "kind", "profile_id", "grants")} == {
        "id": user.pk,
        "kind": "client",
        "profile_id": eu_profile.pk,
        "grants": [],
    }


def test_token_failures_answer_alike(world, eu_profile, uk_profile):
    client_login(eu_profile)
    # the UK profile has a login with its own password; the UK brand may not log into EU
    client_login(uk_profile, password="a-different-uk-passphrase")
    eu_api, uk_api = brand_api(world.eu_brand), brand_api(world.uk_brand)
    attempts = [
        (eu_api, {"email": EMAIL, "password": "wrong-password-123"}),  # wrong password
        (uk_api, {"email": EMAIL, "password": CLIENT_PASSWORD}),  # EU password on UK brand
        (eu_api, {"email": "nobody@example.com", "password": CLIENT_PASSWORD}),  # unknown
        (eu_api, {"email": "not an address", "password": CLIENT_PASSWORD}),  # unreadable
    ]
    answers = [api.post(URL, body, format="json") for api, body in attempts]
    assert [answer.status_code for answer in answers] == [400] * 4
    assert {str(answer.json()) for answer in answers} == {
        str({"code": "login_failed", "detail": "The e-mail address or the password is wrong."})
    }
    assert not ClientToken.objects.exists()


def test_a_brand_logs_in_the_clients_it_onboarded_in_another_entity(world):
    from entities.services import country_route_set

    # the EU brand's country routes send a UK resident to the UK entity
    country_route_set(actor=SYSTEM, brand=world.eu_brand, country="GB", entity=world.uk)
    routed = register(world.eu_brand, residence_country="GB").profile
    assert (routed.entity_id, routed.brand_id) == (world.uk.pk, world.eu_brand.pk)
    user = client_login(routed)
    body = {"email": EMAIL, "password": CLIENT_PASSWORD}
    eu_api = brand_api(world.eu_brand)
    # the brand's own entity holds no such login; the entity the registration named does
    assert eu_api.post(URL, body, format="json").json()["code"] == "login_failed"
    response = eu_api.post(URL, {**body, "entity": "UK"}, format="json")
    assert response.status_code == 200, response.content
    assert response.json()["profile_id"] == routed.pk
    event = AuditEvent.objects.get(action="access.client_token_issued", actor=user)
    assert event.entity_id == world.uk.pk
    # the UK entity's own brand reaches its logins; an unknown entity code answers alike
    assert brand_api(world.uk_brand).post(URL, body, format="json").status_code == 200
    assert eu_api.post(URL, {**body, "entity": "NOPE"}, format="json").json()["code"] == (
        "login_failed"
    )


def test_another_entitys_brand_cannot_name_an_entity_it_did_not_onboard(world, eu_profile):
    client_login(eu_profile)
    uk_api = brand_api(world.uk_brand)
    response = uk_api.post(
        URL, {"email": EMAIL, "password": CLIENT_PASSWORD, "entity": "EU"}, format="json"
    )
    assert (response.status_code, response.json()["code"]) == (400, "login_failed")
    assert not ClientToken.objects.exists()


def test_token_endpoint_bad_input(world, eu_profile):
    client_login(eu_profile)
    api = brand_api(world.eu_brand)
    for body in ({}, {"email": EMAIL}, {"email": EMAIL, "password": "x" * 257}, []):
        response = api.post(URL, body, format="json")
        assert response.status_code == 400
        assert response.json()["code"] == "invalid"
    # no brand key, or a staff login instead of one
    assert APIClient().post(URL, {"email": EMAIL, "password": CLIENT_PASSWORD}).status_code == 401
    staff = APIClient()
    staff.force_authenticate(world.eu_admin)
    assert staff.post(URL, {"email": EMAIL, "password": CLIENT_PASSWORD}).status_code in (401, 403)
    assert not ClientToken.objects.exists()


def test_repeated_failures_are_throttled_for_known_and_unknown_addresses(world, eu_profile):
    client_login(eu_profile)
    api = brand_api(world.eu_brand)
    for email in (EMAIL, "nobody@example.com"):
        for _ in range(LOGIN_PER_SOURCE[0]):
            assert (
                api.post(URL, {"email": email, "password": "wrong"}, format="json").status_code
                == 400
            )
        response = api.post(URL, {"email": email, "password": CLIENT_PASSWORD}, format="json")
        assert response.status_code == 429
        assert response.json()["code"] == "login_throttled"
        assert response.json()["retry_after"] == 2
    assert not ClientToken.objects.exists()


def test_login_delays_grow_and_never_lock_the_client_out(world, eu_profile, time_machine):
    # given someone failing in the client's name from one address
    client_login(eu_profile)
    brand = world.eu_brand
    time_machine.move_to("2030-03-01 10:00:00+00:00", tick=False)

    def attempt(password: str, source: str) -> str:
        try:
            client_token_obtain(brand=brand, email=EMAIL, password=password, source=source)
        except ApplicationError as exc:
            return exc.code
        return "ok"

    seen = []
    for _ in range(12):
        seen.append(attempt("wrong", "198.51.100.7"))
        time_machine.shift(1)
    # then the first five fail plainly, later ones wait ever longer after each failure
    assert seen[:5] == ["login_failed"] * 5
    assert "login_throttled" in seen[5:]
    assert attempt(CLIENT_PASSWORD, "198.51.100.7") == "login_throttled"
    # and the client signing in from their own address is not held up at all
    assert attempt(CLIENT_PASSWORD, "203.0.113.20") == "ok"
    # and once the wait has passed, the right password works from the first address too
    time_machine.shift(LOGIN_PER_SOURCE[1])
    assert attempt(CLIENT_PASSWORD, "198.51.100.7") == "ok"


def test_failures_from_many_addresses_delay_the_client_a_minute_at_most(world, eu_profile):
    client_login(eu_profile)
    for failures in range(LOGIN_PER_ADDRESS[0] + 40):
        assert (
            login_wait_seconds(failures, free=LOGIN_PER_ADDRESS[0], cap=LOGIN_PER_ADDRESS[1]) <= 60
        )
    assert login_wait_seconds(4, free=5, cap=900) == 0
    assert [login_wait_seconds(n, free=5, cap=900) for n in (5, 6, 7, 15)] == [2, 4, 8, 900]


def test_inactive_login_gets_no_token(world, eu_profile):
    user = client_login(eu_profile)
    User.objects.filter(pk=user.pk).update(is_active=False)
    response = brand_api(world.eu_brand).post(
        URL, {"email": EMAIL, "password": CLIENT_PASSWORD}, format="json"
    )
    assert (response.status_code, response.json()["code"]) == (400, "login_failed")


def test_client_token_sees_nothing_on_staff_endpoints(world, eu_profile):
    # given a client token of the EU entity, where the client's own profile exists
    client_login(eu_profile)
    token = (
        brand_api(world.eu_brand)
        .post(URL, {"email": EMAIL, "password": CLIENT_PASSWORD}, format="json")
        .json()["token"]
    )
    api = token_client(token)
    for path in (
        "/api/v1/client-profiles",
        "/api/v1/ib-partners",
        "/api/v1/commission-lines",
        "/api/v1/duplicate-cases",
    ):
        response = api.get(path)
        assert response.status_code == 200, path
        assert response.json()["results"] == [], path
    assert api.get(f"/api/v1/client-profiles/{eu_profile.pk}").status_code == 404
    assert (
        api.patch(
            f"/api/v1/client-profiles/{eu_profile.pk}", {"city": "Paris"}, format="json"
        ).status_code
        == 404
    )
    # the admin site is for staff only
    admin = APIClient()
    assert admin.login(username=f"eu+{EMAIL}", password=CLIENT_PASSWORD)
    assert admin.get("/admin/").status_code == 302


def test_login_works_when_the_failure_counter_is_unavailable(world, eu_profile, monkeypatch):
    class DownCache:
        def __getattr__(self, name):
            def fail(*args, **kwargs):
                raise ConnectionError("cache down")

            return fail

    from identity import logins as services

    monkeypatch.setattr(services, "cache", DownCache())
    client_login(eu_profile)
    api = brand_api(world.eu_brand)
    wrong = api.post(URL, {"email": EMAIL, "password": "wrong"}, format="json")
    assert (wrong.status_code, wrong.json()["code"]) == (400, "login_failed")
    right = api.post(URL, {"email": EMAIL, "password": CLIENT_PASSWORD}, format="json")
    assert right.status_code == 200


def test_a_client_token_expires_and_a_new_login_gets_a_new_one(world, eu_profile, settings):
    import datetime as dt

    settings.CLIENT_TOKEN_TTL = 3600
    user = client_login(eu_profile)
    api = brand_api(world.eu_brand)
    body = {"email": EMAIL, "password": CLIENT_PASSWORD}
    first = api.post(URL, body, format="json").json()["token"]
    # each sign-in (another device) gets its own token; both work within their lifetime
    other_device = api.post(URL, body, format="json").json()["token"]
    assert other_device != first
    assert token_client(first).get("/api/v1/me").status_code == 200
    assert token_client(other_device).get("/api/v1/me").status_code == 200
    row = ClientToken.objects.get(key_digest=key_digest(first))
    ClientToken.objects.filter(pk=row.pk).update(created=row.created - dt.timedelta(hours=2))
    expired = token_client(first).get("/api/v1/me")
    assert (expired.status_code, expired.json()["code"]) == (401, "token_expired")
    assert not ClientToken.objects.filter(pk=row.pk).exists()
    # the other device's token lives on its own clock
    assert token_client(other_device).get("/api/v1/me").json()["id"] == user.pk
    second = api.post(URL, body, format="json").json()["token"]
    assert second not in (first, other_device)
    assert token_client(second).get("/api/v1/me").json()["id"] == user.pk


def test_a_client_logs_out_and_its_token_stops_working(world, eu_profile):
    user = client_login(eu_profile)
    body = {"email": EMAIL, "password": CLIENT_PASSWORD}
    token = brand_api(world.eu_brand).post(URL, body, format="json").json()["token"]
    other_device = brand_api(world.eu_brand).post(URL, body, format="json").json()["token"]
    assert token_client(token).delete(f"{URL}/current").status_code == 204
    assert token_client(token).get("/api/v1/me").status_code == 401
    # logging out ends this sign-in only
    assert token_client(other_device).get("/api/v1/me").status_code == 200
    assert AuditEvent.objects.filter(action="access.client_token_revoked", actor=user).exists()
    # staff and brand keys have no client token to end
    staff = APIClient()
    staff.force_authenticate(world.eu_admin)
    assert staff.delete(f"{URL}/current").status_code == 403
    assert brand_api(world.eu_brand).delete(f"{URL}/current").status_code in (401, 403)
    # a client session (no token) has nothing to end either: refused, not a server error
    session = APIClient()
    session.force_login(user)
    assert session.delete(f"{URL}/current").status_code in (401, 403)
