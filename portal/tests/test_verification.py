"""The verification page in the portal, driven by what the server holds: from the wizard to a
submitted KYC file, a document sent back and sent again, uploads refused with a clear message
and nothing written, the appropriateness test, and another client's documents unseen."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.core import mail
from django.core.files.uploadedfile import SimpleUploadedFile
from django.test import Client
from django.utils import timezone

from brokercrm.accounts.models import User
from brokercrm.accounts.tests.factories import CLIENT_PASSWORD, client_login
from entities.tests.factories import publish_documents
from identity.selectors import profile_documents, profile_email_verified
from identity.tests.factories import mailed_token, register
from kyc.selectors import client_kyc_file
from kyc.services import document_revision_request, kyc_run_checks
from kyc.specimens import render_photo_without_mrz
from kyc.tests.conftest import KYC_RULES_FULL, MINIMAL_PDF, PASSING_ANSWERS
from kyc.tests.test_workflow import QUESTIONNAIRE, passport_for

from .test_registration import through_the_wizard

pytestmark = pytest.mark.django_db

PAGE = "/b/eu-brand/client/verification/"


def signed_in(brand_code: str, profile) -> Client:  # type: ignore[no-untyped-def]
    client_login(profile)
    browser = Client()
    response = browser.post(
        f"/b/{brand_code}/login/", {"email": profile.email, "password": CLIENT_PASSWORD}
    )
    assert response.status_code == 302, response.content
    return browser


def upload(browser: Client, kind: str, data: bytes, name: str, **fields):  # type: ignore[no-untyped-def]
    return browser.post(f"{PAGE}upload/{kind}/", {**fields, "file": SimpleUploadedFile(name, data)})


def bill(browser: Client, data: bytes = MINIMAL_PDF, days: int = 10):  # type: ignore[no-untyped-def]
    issued = (timezone.localdate() - timedelta(days=days)).isoformat()
    return upload(
        browser, "proof_of_address", data, "bill.pdf", doc_type="utility_bill", issued_on=issued
    )


def kyc_file_of(profile):  # type: ignore[no-untyped-def]
    return client_kyc_file(entity_id=profile.entity_id, profile_id=profile.pk)


def documents_of(profile, **filters):  # type: ignore[no-untyped-def]
    """The client's KYC documents, oldest version first."""
    kyc_file = kyc_file_of(profile)
    return kyc_file.documents.in_entity(kyc_file.entity_id).filter(**filters).order_by("version")


def accepted(profile) -> list[bool]:  # type: ignore[no-untyped-def]
    return [row.accepted_at is not None for row in profile_documents(profile)]


def test_from_the_wizard_to_a_submitted_kyc_file(portal_world, django_capture_on_commit_callbacks):
    documents = publish_documents(portal_world.eu)
    browser = Client()
    with django_capture_on_commit_callbacks(execute=True):
        assert through_the_wizard(browser)["Location"] == PAGE
    profile = User.objects.get(kind="client").profile
    page = browser.get(PAGE).content.decode()
    assert "0 of 3 steps done." in page
    assert "We sent a link to ivan.petrov@example.com." in page
    assert "disabled>Submit</button>" in page

    # The e-mail link, sent again on request, confirms the address.
    assert browser.get(f"{PAGE}email/")["Location"] == PAGE  # the overview's link
    assert len(mail.outbox) == 1
    with django_capture_on_commit_callbacks(execute=True):
        resent = browser.post(f"{PAGE}email/")
    assert resent["Location"] == PAGE
    assert len(mail.outbox) == 2
    token = mailed_token(mail.outbox[-1])
    confirmed = browser.post("/b/eu-brand/verify-email", {"token": token})
    assert confirmed.status_code == 302
    assert profile_email_verified(profile) is True

    # The entity's documents, each accepted with its box ticked.
    unticked = browser.post(f"{PAGE}consent/", {"document_id": documents["client_agreement"].pk})
    assert unticked["Location"] == PAGE
    assert accepted(profile) == [False, False, False]
    for document in documents.values():
        browser.post(f"{PAGE}consent/", {"document_id": document.pk, "accept": "yes"})
    assert accepted(profile) == [True, True, True]
    assert "Accepted on" in browser.get(PAGE).content.decode()

    # The questionnaire, the passport (its MRZ the applicant's) and a recent bill.
    assert browser.get(f"{PAGE}questionnaire/").status_code == 200
    saved = browser.post(f"{PAGE}questionnaire/", QUESTIONNAIRE)
    assert saved["Location"] == PAGE
    assert kyc_file_of(profile).questionnaire == QUESTIONNAIRE
    form = browser.get(f"{PAGE}upload/identity/").content.decode()
    assert 'accept="image/*,application/pdf"' in form
    assert 'capture="environment"' in form
    assert 'data-preview="upload-preview"' in form
    sent = upload(browser, "identity", passport_for(profile), "passport.png", doc_type="passport")
    assert sent["Location"] == PAGE
    assert bill(browser)["Location"] == PAGE
    page = browser.get(PAGE).content.decode()
    assert "3 of 3 steps done." in page
    assert "Everything is ready." in page

    # The client's own passport opens in the browser.
    passport = documents_of(profile, kind="identity").get()
    shown = browser.get(f"{PAGE}documents/{passport.pk}/")
    assert (shown.status_code, shown["Content-Type"]) == (200, "image/png")
    assert shown.content == passport_for(profile)
    assert shown["Cache-Control"] == "private, no-store"

    submitted = browser.post(f"{PAGE}submit/")
    assert submitted["Location"] == PAGE
    kyc_file = kyc_file_of(profile)
    assert kyc_file.status == "submitted"
    page = browser.get(PAGE).content.decode()
    assert "Submitted — checks are starting" in page
    assert "Submit for checking" not in page
    kyc_run_checks(kyc_file_id=kyc_file.pk)  # what the worker does after the commit
    assert kyc_file_of(profile).status == "approved"
    assert "Verified" in browser.get(PAGE).content.decode()
    # Once submitted, nothing more is uploaded here.
    late = bill(browser, MINIMAL_PDF + b"%late")
    assert "documents can no longer be sent here" in late.content.decode()
    assert documents_of(profile, kind="proof_of_address").count() == 1


def test_a_document_sent_back_is_shown_with_its_reason_and_sent_again(portal_world):
    profile = register(portal_world.eu_brand).profile
    browser = signed_in("eu-brand", profile)
    browser.post(f"{PAGE}questionnaire/", QUESTIONNAIRE)
    # A photo on which no machine-readable zone can be read: the checks hold it for a reviewer.
    unreadable = render_photo_without_mrz()
    upload(browser, "identity", unreadable, "passport.png", doc_type="passport")
    bill(browser)
    assert browser.post(f"{PAGE}submit/")["Location"] == PAGE
    kyc_run_checks(kyc_file_id=kyc_file_of(profile).pk)
    assert kyc_file_of(profile).status == "in_review"
    assert "We are checking your details" in browser.get(PAGE).content.decode()
    first = documents_of(profile, kind="identity").get()
    document_revision_request(
        actor=portal_world.eu_compliance,
        document=first,
        reason_code="unreadable",
        reason="The photo is too dark to read.",
    )
    assert kyc_file_of(profile).status == "draft"
    page = browser.get(PAGE).content.decode()
    assert "Please send it again" in page
    assert (
        "We need this document again: The document cannot be read: blurred, dark or cut off."
        in page
    )
    assert "Reviewer's note: The photo is too dark to read." in page
    assert f'href="{PAGE}upload/identity/">Send it again' in page
    form = browser.get(f"{PAGE}upload/identity/").content.decode()
    assert "The photo is too dark to read." in form
    assert '<option value="passport" selected>' in form
    # The document sent back is still the client's to look at.
    assert browser.get(f"{PAGE}documents/{first.pk}/").content == unreadable
    again = upload(browser, "identity", passport_for(profile), "passport.png", doc_type="passport")
    assert again["Location"] == PAGE
    versions = list(documents_of(profile, kind="identity"))
    assert [d.version for d in versions] == [1, 2]
    assert [d.review_status == "revision_requested" for d in versions] == [True, False]
    page = browser.get(PAGE).content.decode()
    assert "We need this document again" not in page
    assert "3 of 3 steps done." in page
    assert browser.post(f"{PAGE}submit/")["Location"] == PAGE
    assert kyc_file_of(profile).status == "submitted"


def test_an_id_card_is_sent_front_then_back(portal_world):
    profile = register(portal_world.eu_brand).profile
    browser = signed_in("eu-brand", profile)
    picture = render_photo_without_mrz()
    no_side = upload(browser, "identity", picture, "id.png", doc_type="national_id")
    assert no_side.status_code == 200
    assert 'id="id_side_error"' in no_side.content.decode()
    assert not documents_of(profile).exists()
    front = upload(browser, "identity", picture, "id.png", doc_type="national_id", side="front")
    assert front["Location"] == f"{PAGE}upload/identity/"  # now the back
    page = browser.get(front["Location"]).content.decode()
    assert "Still missing: Back" in page
    assert '<option value="back" selected>' in page
    back = upload(
        browser, "identity", picture + b"\0", "id-back.png", doc_type="national_id", side="back"
    )
    assert back["Location"] == PAGE
    sides = documents_of(profile, kind="identity").values_list("side", flat=True)
    assert sorted(sides) == ["back", "front"]


def test_bad_uploads_and_answers_are_refused_with_a_message_and_nothing_written(
    portal_world, settings
):
    profile = register(portal_world.eu_brand).profile
    browser = signed_in("eu-brand", profile)
    text = upload(browser, "identity", b"hello, not a picture", "a.txt", doc_type="passport")
    assert text.status_code == 200
    assert 'id="id_file_error"' in text.content.decode()
    missing = browser.post(f"{PAGE}upload/identity/", {"doc_type": "passport"})
    assert 'id="id_file_error"' in missing.content.decode()
    wrong_type = upload(browser, "identity", MINIMAL_PDF, "a.pdf", doc_type="tax_letter")
    assert 'id="id_doc_type_error"' in wrong_type.content.decode()
    settings.KYC_UPLOAD_MAX_BYTES = 1024 * 1024
    too_big = bill(browser, MINIMAL_PDF + b"%" * (1024 * 1024))
    assert "Documents are limited to 1 MiB." in too_big.content.decode()
    assert not documents_of(profile).exists()
    bad_amount = browser.post(f"{PAGE}questionnaire/", {**QUESTIONNAIRE, "annual_income": "a lot"})
    assert bad_amount.status_code == 200
    assert 'id="id_annual_income_error"' in bad_amount.content.decode()
    assert kyc_file_of(profile).questionnaire in ({}, None)
    assert browser.get(f"{PAGE}upload/passport/").status_code == 404
    # Nothing to submit yet: the missing steps are said, the file stays a draft.
    refused = browser.post(f"{PAGE}submit/", follow=True)
    assert "Some steps are still to do" in refused.content.decode()
    assert kyc_file_of(profile).status == "draft"


def test_the_appropriateness_test_asks_the_entitys_questions(portal_world):
    from brokercrm.gate import SYSTEM
    from entities.services import ruleset_publish

    ruleset_publish(actor=SYSTEM, entity=portal_world.eu, kind="kyc", document=KYC_RULES_FULL)
    profile = register(portal_world.eu_brand).profile
    browser = signed_in("eu-brand", profile)
    page = browser.get(f"{PAGE}appropriateness/").content.decode()
    assert "Does a CFD on a share make you an owner of that share?" in page
    assert 'type="radio"' in page
    partial = browser.post(f"{PAGE}appropriateness/", {"cfd_ownership": "no"})
    assert partial.status_code == 200
    assert 'id="id_leverage_effect_error"' in partial.content.decode()
    assert "appropriateness" not in (kyc_file_of(profile).questionnaire or {})
    saved = browser.post(f"{PAGE}appropriateness/", PASSING_ANSWERS)
    assert saved["Location"] == PAGE
    assert kyc_file_of(profile).questionnaire["appropriateness"] == PASSING_ANSWERS
    # The questionnaire's required answers are asked for by name.
    empty = browser.post(f"{PAGE}questionnaire/", {"occupation": "baker"})
    assert 'id="id_employment_status_error"' in empty.content.decode()


def test_another_clients_document_is_not_found(portal_world):
    mine = register(portal_world.eu_brand).profile
    theirs = register(
        portal_world.eu_brand,
        given_name="Anna",
        family_name="Schmidt",
        birth_date="1970-02-02",
        email="anna@example.com",
        phone="+49 160 1112223",
        document=None,
        ip="192.0.2.77",
        device_fingerprint="anna-laptop",
    ).profile
    theirs_browser = signed_in("eu-brand", theirs)
    bill(theirs_browser)
    their_bill = documents_of(theirs).get()
    assert theirs_browser.get(f"{PAGE}documents/{their_bill.pk}/").status_code == 200
    browser = signed_in("eu-brand", mine)
    assert browser.get(f"{PAGE}documents/{their_bill.pk}/").status_code == 404
    assert browser.get(f"{PAGE}documents/999999/").status_code == 404
    # Signed out, the page asks to sign in.
    assert (
        Client().get(PAGE)["Location"]
        == "/b/eu-brand/login/?next=%2Fb%2Feu-brand%2Fclient%2Fverification%2F"
    )
