"""Optional two-step sign-in for clients: set up from the portal with a QR code, then every
sign-in (portal and API) asks for a current code; a used or wrong code is refused."""

from __future__ import annotations

import re

import pytest
from django.core import signing
from django.test import Client
from django_otp.oath import TOTP
from django_otp.plugins.otp_totp.models import TOTPDevice

from brokercrm.accounts.models import ClientToken
from brokercrm.accounts.tests.factories import CLIENT_PASSWORD, client_login
from identity.tests.factories import brand_api, register
from identity.two_factor import CHALLENGE_SALT

pytestmark = pytest.mark.django_db

BASE = "/b/eu-brand"


def code_now(device: TOTPDevice) -> str:
    device.refresh_from_db()
    return (
        f"{TOTP(device.bin_key, device.step, device.t0, device.digits, device.drift).token():06d}"
    )


@pytest.fixture
def signed_in(portal_world, time_machine):
    time_machine.move_to("2030-06-01 09:00:00+00:00", tick=False)
    profile = register(portal_world.eu_brand).profile
    client_login(profile)
    browser = Client()
    browser.post(f"{BASE}/login/", {"email": profile.email, "password": CLIENT_PASSWORD})
    return profile, browser


def turn_on(browser: Client, profile) -> TOTPDevice:
    assert browser.post(f"{BASE}/client/security/two-step/start/").status_code == 302
    page = browser.get(f"{BASE}/client/security/two-step/").content.decode()
    assert '<svg width="' in page
    device = TOTPDevice.objects.get(user__profile=profile, confirmed=False)
    secret = re.search(r'<code class="ltr">([A-Z2-7 ]+)</code>', page)[1].replace(" ", "")
    assert len(secret) == 32
    response = browser.post(f"{BASE}/client/security/two-step/", {"code": code_now(device)})
    assert response.status_code == 302
    device.refresh_from_db()
    assert device.confirmed
    return device


def test_turn_on_then_sign_in_takes_a_code(signed_in, time_machine):
    profile, browser = signed_in
    device = turn_on(browser, profile)
    assert (
        "On: signing in asks for a code"
        in browser.get(f"{BASE}/client/security/two-step/").content.decode()
    )
    browser.post(f"{BASE}/logout/")
    fresh = Client()
    response = fresh.post(f"{BASE}/login/", {"email": profile.email, "password": CLIENT_PASSWORD})
    assert response["Location"] == f"{BASE}/login/code/"
    assert ClientToken.objects.filter(user__profile=profile).count() == 0
    # the code that turned it on is used: refused, as a wrong one is
    for wrong in (code_now(device), "000000", "12ab56"):
        page = fresh.post(f"{BASE}/login/code/", {"code": wrong})
        assert page.status_code == 200
        assert "That code is not right." in page.content.decode()
    time_machine.shift(30)
    device.throttling_failure_count = 0
    device.throttling_failure_timestamp = None
    device.save()
    response = fresh.post(f"{BASE}/login/code/", {"code": code_now(device)})
    assert response["Location"] == f"{BASE}/client/"
    assert fresh.get(f"{BASE}/client/").status_code == 200


def test_a_wrong_code_does_not_turn_it_on(signed_in):
    profile, browser = signed_in
    browser.post(f"{BASE}/client/security/two-step/start/")
    page = browser.post(f"{BASE}/client/security/two-step/", {"code": "123"})
    assert "Enter the 6 digits your app shows." in page.content.decode()
    assert not TOTPDevice.objects.filter(user__profile=profile, confirmed=True).exists()


def test_turning_it_off_takes_a_current_code(signed_in, time_machine):
    profile, browser = signed_in
    device = turn_on(browser, profile)
    time_machine.shift(30)
    response = browser.post(f"{BASE}/client/security/two-step/", {"code": code_now(device)})
    assert response.status_code == 302
    assert not TOTPDevice.objects.filter(user__profile=profile).exists()


def test_the_api_signs_in_in_two_steps(signed_in, time_machine, portal_world):
    profile, browser = signed_in
    device = turn_on(browser, profile)
    api = brand_api(portal_world.eu_brand)
    first = api.post(
        "/api/v1/client-tokens",
        {"email": profile.email, "password": CLIENT_PASSWORD},
        format="json",
    )
    assert (first.status_code, first.json()["code"]) == (401, "second_factor_required")
    challenge = first.json()["challenge"]
    # signed, not encrypted: it carries the login's id and a one-way mark, nothing of the hash
    assert set(signing.loads(challenge, salt=CHALLENGE_SALT)) == {"user", "mark"}
    bad = api.post(
        "/api/v1/client-tokens", {"challenge": challenge, "otp": "000000"}, format="json"
    )
    assert (bad.status_code, bad.json()["code"]) == (400, "otp_wrong")
    forged = api.post(
        "/api/v1/client-tokens", {"challenge": challenge + "x", "otp": "000000"}, format="json"
    )
    assert forged.json()["code"] == "challenge_invalid"
    time_machine.shift(30)
    device.throttling_failure_count = 0
    device.save()
    ok = api.post(
        "/api/v1/client-tokens", {"challenge": challenge, "otp": code_now(device)}, format="json"
    )
    assert ok.status_code == 200
    assert ok.json()["profile_id"] == profile.pk
    # the challenge expires after five minutes
    time_machine.shift(6 * 60)
    late = api.post(
        "/api/v1/client-tokens", {"challenge": challenge, "otp": code_now(device)}, format="json"
    )
    assert late.json()["code"] == "challenge_invalid"
