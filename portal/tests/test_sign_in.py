"""Signing in to a brand's portal: the brand from the path or the host, the client's own
entity only, the token behind the session, idle and absolute limits, the page language."""

from __future__ import annotations

import pytest
from django.test import Client

from brokercrm.accounts.models import ClientToken
from brokercrm.accounts.tests.factories import CLIENT_PASSWORD, client_login
from identity.tests.factories import register

pytestmark = pytest.mark.django_db

EMAIL = "ivan.petrov@example.com"


@pytest.fixture
def eu_client(portal_world):
    profile = register(portal_world.eu_brand, email=EMAIL).profile
    client_login(profile)
    return profile


def sign_in(browser: Client, brand_code: str, email: str = EMAIL, password: str = CLIENT_PASSWORD):
    return browser.post(f"/b/{brand_code}/login/", {"email": email, "password": password})


def test_sign_in_through_the_brand_prefix_opens_the_overview(portal_world, eu_client):
    browser = Client()
    page = browser.get("/b/eu-brand/login/")
    assert page.status_code == 200
    assert portal_world.eu_brand.entity.legal_name in page.content.decode()
    response = sign_in(browser, "eu-brand")
    assert (response.status_code, response["Location"]) == (302, "/b/eu-brand/client/")
    overview = browser.get("/b/eu-brand/client/")
    assert overview.status_code == 200
    text = overview.content.decode()
    assert "Welcome, Ivan" in text
    assert "Confirm your e-mail address" in text
    # every link the page builds stays under the brand
    assert 'href="/b/eu-brand/client/' in text
    assert "Content-Security-Policy" in overview.headers
    assert "script-src 'self'" in overview.headers["Content-Security-Policy"]
    assert ClientToken.objects.filter(user__profile=eu_client).count() == 1


def test_the_brand_comes_from_the_host_too(portal_world, eu_client, settings):
    settings.ALLOWED_HOSTS = ["eu.example.com"]
    browser = Client(HTTP_HOST="eu.example.com")
    assert browser.get("/").url == "/login/"  # no prefix on the brand's own host
    response = browser.post("/login/", {"email": EMAIL, "password": CLIENT_PASSWORD})
    assert response["Location"] == "/client/"
    assert browser.get("/client/").status_code == 200


def test_wrong_password_and_unknown_address_answer_alike(portal_world, eu_client):
    browser = Client()
    wrong = sign_in(browser, "eu-brand", password="not-the-password")
    unknown = sign_in(browser, "eu-brand", email="nobody@example.com")
    for response in (wrong, unknown):
        assert response.status_code == 200
        assert "The e-mail address or the password is wrong." in response.content.decode()
    assert not ClientToken.objects.exists()


def test_another_brands_portal_does_not_know_the_client(portal_world, eu_client):
    browser = Client()
    sign_in(browser, "eu-brand")
    # the session is the EU brand's: the UK brand's portal asks to sign in
    assert browser.get("/b/uk-brand/client/").status_code == 302
    # and the EU client's address and password open nothing there
    response = sign_in(browser, "uk-brand")
    assert "The e-mail address or the password is wrong." in response.content.decode()


def test_the_same_address_holds_separate_logins_in_two_entities(portal_world, eu_client):
    uk_profile = register(
        portal_world.uk_brand,
        email=EMAIL,
        given_name="Olga",
        family_name="Smirnova",
        birth_date="1990-02-02",
        residence_country="GB",
        nationality="GB",
        phone="+44 7911 123456",
        document=None,
        device_fingerprint="dev-olga",
    ).profile
    client_login(uk_profile, password="another-long-password-7")
    uk = Client()
    sign_in(uk, "uk-brand", password="another-long-password-7")
    text = uk.get("/b/uk-brand/client/").content.decode()
    assert "Welcome, Olga" in text
    assert "Ivan" not in text
    eu = Client()
    sign_in(eu, "eu-brand")
    assert "Welcome, Ivan" in eu.get("/b/eu-brand/client/").content.decode()


def test_pages_ask_to_sign_in_and_come_back(world):
    browser = Client()
    response = browser.get("/b/eu-brand/client/")
    assert response.status_code == 302
    assert response["Location"] == "/b/eu-brand/login/?next=%2Fb%2Feu-brand%2Fclient%2F"


def test_an_offsite_next_is_ignored(portal_world, eu_client):
    browser = Client()
    response = browser.post(
        "/b/eu-brand/login/",
        {"email": EMAIL, "password": CLIENT_PASSWORD, "next": "https://evil.example/"},
    )
    assert response["Location"] == "/b/eu-brand/client/"


def test_signing_out_ends_the_token(portal_world, eu_client):
    browser = Client()
    sign_in(browser, "eu-brand")
    assert browser.post("/b/eu-brand/logout/").status_code == 302
    assert not ClientToken.objects.exists()
    assert browser.get("/b/eu-brand/client/").status_code == 302


def test_a_session_ended_elsewhere_ends_here(portal_world, eu_client):
    browser = Client()
    sign_in(browser, "eu-brand")
    ClientToken.objects.all().delete()  # log out everywhere, or staff ended the sessions
    response = browser.get("/b/eu-brand/client/")
    assert response.status_code == 302
    assert "Your session has ended" in browser.get(response["Location"]).content.decode()


def test_idle_and_absolute_limits(portal_world, eu_client, time_machine, settings):
    time_machine.move_to("2031-05-01 08:00:00+00:00", tick=False)
    browser = Client()
    sign_in(browser, "eu-brand")
    time_machine.shift(settings.PORTAL_IDLE_SECONDS - 5)
    assert browser.get("/b/eu-brand/client/").status_code == 200
    time_machine.shift(settings.PORTAL_IDLE_SECONDS + 5)
    response = browser.get("/b/eu-brand/client/")
    assert response.status_code == 302
    assert "without activity" in browser.get(response["Location"]).content.decode()
    # active all along, but past the token's life: signed out too
    sign_in(browser, "eu-brand")
    for _ in range(settings.CLIENT_TOKEN_TTL // (settings.PORTAL_IDLE_SECONDS - 60) + 1):
        time_machine.shift(settings.PORTAL_IDLE_SECONDS - 60)
        last = browser.get("/b/eu-brand/client/")
    assert last.status_code == 302


def test_language_from_the_browser_then_the_choice_kept_on_the_profile(portal_world, eu_client):
    browser = Client(HTTP_ACCEPT_LANGUAGE="es")
    page = browser.get("/b/eu-brand/login/")
    assert page.headers["Content-Language"] == "es"
    assert 'lang="es"' in page.content.decode()
    sign_in(browser, "eu-brand")
    browser.post("/b/eu-brand/language/", {"language": "ar", "next": "/b/eu-brand/client/"})
    eu_client.refresh_from_db()
    assert eu_client.language == "ar"
    page = browser.get("/b/eu-brand/client/")
    assert 'dir="rtl"' in page.content.decode()


def test_unknown_brand_and_staff_paths_are_not_the_portal(world):
    assert Client().get("/b/no-such-brand/login/").status_code == 404
    assert Client().get("/").url == "/admin/"
    assert "Content-Security-Policy" not in Client().get("/admin/login/").headers
