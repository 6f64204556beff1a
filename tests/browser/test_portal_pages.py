"""The client portal in a real browser: each page readable, keyboard-usable, free of serious
axe-core violations and of anything the Content-Security-Policy refuses, in English and in
Arabic (right to left)."""

from __future__ import annotations

import pytest

from brokercrm.accounts.tests.factories import CLIENT_PASSWORD, client_login
from identity.tests.factories import register
from kyc.tests.conftest import kyc_world  # noqa: F401 - fixture
from payments.tests.conftest import approved_client, payments_world, psp_secret  # noqa: F401
from payments.tests.test_self_service import verified
from tests.browser.portal import check_page, choose_language, client_sign_in, watch_csp
from wallets.services import wallet_open
from wallets.tests.factories import fund

pytestmark = [pytest.mark.django_db(transaction=True)]


@pytest.fixture
def eu_client(kyc_world):  # noqa: F811
    profile = register(kyc_world.eu_brand).profile
    client_login(profile)
    return profile


@pytest.mark.parametrize("language", ["en", "ar"])
def test_sign_in_and_overview(page, live_server, eu_client, language):
    csp = watch_csp(page)
    base = f"{live_server.url}/b/{eu_client.brand.code}"
    page.goto(f"{base}/login/")
    if language == "ar":
        choose_language(page, "ar")
        assert page.locator("html").get_attribute("dir") == "rtl"
        assert page.locator("html").get_attribute("lang") == "ar"
    check_page(page, f"login-{language}", csp)
    page.goto(f"{base}/password-reset/")
    check_page(page, f"password-reset-{language}", csp)
    page.goto(f"{base}/login/")
    if language == "en":
        client_sign_in(page, base, eu_client.email, CLIENT_PASSWORD)
    else:
        page.locator("#id_email").fill(eu_client.email)
        page.locator("#id_password").fill(CLIENT_PASSWORD)
        page.locator("form:not(.language) button[type=submit]").click()
        page.wait_for_url(f"{base}/client/")
    assert page.locator("h1").inner_text().endswith(eu_client.given_name)
    check_page(page, f"overview-{language}", csp)


def test_the_sign_in_form_works_from_the_keyboard(page, live_server, eu_client):
    base = f"{live_server.url}/b/{eu_client.brand.code}"
    page.goto(f"{base}/login/")
    page.keyboard.type(eu_client.email)  # the address field has the focus
    page.keyboard.press("Tab")
    page.keyboard.type(CLIENT_PASSWORD)
    page.keyboard.press("Enter")
    page.wait_for_url(f"{base}/client/")


@pytest.mark.parametrize("language", ["en", "es", "ar"])
def test_the_money_pages_of_a_funded_client(
    page,
    live_server,
    kyc_world,  # noqa: F811
    payments_world,  # noqa: F811
    language,
):
    profile = verified(approved_client(payments_world))
    client_login(profile)
    fund(wallet_open(profile=profile, currency="EUR"), "1250.00")
    csp = watch_csp(page)
    base = f"{live_server.url}/b/{profile.brand.code}"
    client_sign_in(page, base, profile.email, CLIENT_PASSWORD)
    if language != "en":
        choose_language(page, language)
        assert page.locator("html").get_attribute("lang") == language
    check_page(page, f"overview-funded-{language}", csp)
    for path, name in (
        ("/client/deposit/?currency=EUR", "deposit"),
        ("/client/withdraw/", "withdraw"),
        ("/client/transfer/", "transfer"),
        ("/client/accounts/", "accounts"),
        ("/client/history/", "history"),
    ):
        response = page.goto(f"{base}{path}")
        assert response.status == 200, path
        check_page(page, f"{name}-{language}", csp)


@pytest.mark.parametrize("language", ["en", "ar"])
def test_the_account_pages_of_a_partner(page, live_server, kyc_world, language):  # noqa: F811
    from brokercrm.gate import SYSTEM
    from entities.tests.factories import publish_documents
    from ib.services import ib_partner_create
    from ib.tests.factories import plan_of
    from ib.tests.test_self_service import referred_client

    publish_documents(kyc_world.eu)
    profile = register(kyc_world.eu_brand).profile
    client_login(profile)
    partner = ib_partner_create(
        actor=SYSTEM, profile=profile, name="Ivan's desk", plan=plan_of(kyc_world.eu, split=[100])
    )
    referred_client(partner, kyc_world.eu_brand)
    csp = watch_csp(page)
    base = f"{live_server.url}/b/{profile.brand.code}"
    client_sign_in(page, base, profile.email, CLIENT_PASSWORD)
    if language != "en":
        choose_language(page, language)
    for path, name in (
        ("/client/profile/", "profile"),
        ("/client/security/two-step/", "two-step"),
        ("/client/documents/", "documents"),
        ("/client/notifications/", "notifications"),
        ("/client/ib/", "partner-area"),
        ("/client/verification/", "verification"),
    ):
        response = page.goto(f"{base}{path}")
        assert response.status == 200, path
        check_page(page, f"{name}-{language}", csp)
    # Setting up the authenticator app shows its QR code.
    page.goto(f"{base}/client/security/two-step/")
    with page.expect_navigation():
        page.locator("main form[action$='/start/'] button[type=submit]").click()
    assert page.locator("main svg.qr").count() == 1
    check_page(page, f"two-step-setup-{language}", csp)
