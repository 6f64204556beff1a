"""Two cases of the portal in a real browser: the same person opening an account through
another brand's portal ends in review with the neutral message, and a document the reviewer
sends back is shown with its reason and uploaded again."""

from __future__ import annotations

import pytest

from brokercrm.accounts.tests.factories import CLIENT_PASSWORD, client_login
from identity.tests.factories import register
from kyc.selectors import client_kyc_file
from kyc.services import document_revision_request, kyc_run_checks
from kyc.specimens import render_photo_without_mrz
from kyc.tests.conftest import MINIMAL_PDF, kyc_world  # noqa: F401 (fixture)
from kyc.tests.test_workflow import QUESTIONNAIRE, passport_for
from tests.browser.portal import check_page, choose_language, client_sign_in, watch_csp
from tests.browser.test_portal_journey import fill, submit, upload, upload_bill

pytestmark = [pytest.mark.django_db(transaction=True)]


@pytest.mark.parametrize("language", ["en", "ar"])
def test_the_same_person_through_another_brand_is_held_for_review(
    page,
    live_server,
    kyc_world,  # noqa: F811
    language,
):
    # Ivan is a client of the UK entity already; he opens an account through the EU brand
    # with another e-mail address and a transposed birth date.
    register(kyc_world.uk_brand, residence_country="GB", birth_date="1985-07-04", document=None)
    csp = watch_csp(page)
    base = f"{live_server.url}/b/{kyc_world.eu_brand.code}"
    page.goto(f"{base}/register/")
    if language != "en":
        choose_language(page, language)
    fill(page, {"email": "ivan.p@example.org", "password": "Lantern-Orchid-42"})
    submit(page)
    fill(
        page,
        {
            "given_name": "Ivan",
            "family_name": "Petrov",
            "birth_date": "1985-04-07",
            "nationality": "DE",
            "phone": "+49 151 23456789",
        },
    )
    submit(page)
    fill(
        page,
        {
            "residence_country": "DE",
            "address_line1": "Hauptstrasse 1",
            "city": "Berlin",
            "postcode": "10115",
        },
    )
    submit(page)
    assert page.url == f"{base}/register/done/"
    text = page.locator("main").inner_text()
    if language == "en":
        assert "We are checking your details" in text
    for revealing in ("UK", "1985-07-04", "match", "duplicate", "Atlas", "uk-brand"):
        assert revealing not in text
    check_page(page, f"register-review-{language}", csp)


def test_a_document_sent_back_is_uploaded_again(page, live_server, kyc_world):  # noqa: F811
    profile = register(kyc_world.eu_brand).profile
    client_login(profile)
    csp = watch_csp(page)
    base = f"{live_server.url}/b/{profile.brand.code}"
    client_sign_in(page, base, profile.email, CLIENT_PASSWORD)
    page.goto(f"{base}/client/verification/questionnaire/")
    fill(page, QUESTIONNAIRE)
    submit(page)
    # A photo on which no machine-readable zone can be read: the checks hold it for review.
    upload(page, base, "identity", "photo.png", "image/png", render_photo_without_mrz(), "passport")
    upload_bill(page, base)
    submit(page, "main form[action$='/submit/']")
    kyc_file = client_kyc_file(entity_id=profile.entity_id, profile_id=profile.pk)
    kyc_run_checks(kyc_file_id=kyc_file.pk)
    first = kyc_file.documents.in_entity(profile.entity_id).get(kind="identity")
    document_revision_request(
        actor=kyc_world.eu_compliance,
        document=first,
        reason_code="unreadable",
        reason="The photo is too dark to read.",
    )
    page.goto(f"{base}/client/verification/")
    alert = page.locator("main .verify-step [role=alert]").first
    assert "The document cannot be read" in alert.inner_text()
    assert "The photo is too dark to read." in alert.inner_text()
    check_page(page, "verification-sent-back", csp)
    upload(page, base, "identity", "passport.png", "image/png", passport_for(profile), "passport")
    versions = sorted(
        d.version for d in kyc_file.documents.in_entity(profile.entity_id).filter(kind="identity")
    )
    assert versions == [1, 2]
    assert page.locator("main .verify-step [role=alert]").count() == 0
    check_page(page, "verification-sent-again", csp)
