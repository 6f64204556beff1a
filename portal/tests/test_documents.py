"""The entity's legal documents in the portal: those in force with whether I accepted each,
their text, and accepting them."""

from __future__ import annotations

import pytest

from entities.tests.factories import publish_document, publish_documents
from identity.selectors import profile_documents, profile_get
from portal.tests.test_profile import audit_rows, ivan, signed_in_browser

pytestmark = pytest.mark.django_db


@pytest.fixture
def eu_client(portal_world):
    return ivan(portal_world)


DOCUMENTS = "/b/eu-brand/client/documents/"


@pytest.fixture
def documents(portal_world):
    publish_documents(portal_world.uk)  # another entity's are never shown
    return publish_documents(portal_world.eu)


def accepted(profile) -> dict[str, bool]:
    return {row.document.kind: row.accepted_at is not None for row in profile_documents(profile)}


def test_the_documents_in_force_wait_to_be_accepted(portal_world, documents, eu_client):
    response = signed_in_browser().get(DOCUMENTS)
    assert response.status_code == 200
    text = response.content.decode()
    assert "3 documents are waiting for you to read and accept them." in text
    assert text.count("Not accepted") == 3
    for document in documents.values():
        assert f'href="/b/eu-brand/client/documents/{document.pk}/"' in text
        assert f'action="/b/eu-brand/client/documents/{document.pk}/accept/"' in text
    assert "of UK" not in text


def test_reading_a_document_shows_its_text(portal_world, documents, eu_client):
    agreement = documents["client_agreement"]
    response = signed_in_browser().get(f"{DOCUMENTS}{agreement.pk}/")
    assert response.status_code == 200
    text = response.content.decode()
    assert "<p>The client agreement of EU.</p>" in text
    assert "I have read and accept the Client agreement" in text


def test_accepting_a_document_records_it_once(portal_world, documents, eu_client):
    browser = signed_in_browser()
    agreement = documents["client_agreement"]
    response = browser.post(
        f"{DOCUMENTS}{agreement.pk}/accept/", HTTP_USER_AGENT="Mozilla/5.0 (portal test)"
    )
    assert (response.status_code, response["Location"]) == (302, DOCUMENTS)
    assert accepted(eu_client) == {
        "client_agreement": True,
        "risk_disclosure": False,
        "privacy_notice": False,
    }
    assert profile_get(eu_client).agreement_version == agreement.reference
    event = audit_rows().get(action="identity.consent_accepted")
    assert event.after["user_agent"] == "Mozilla/5.0 (portal test)"
    page = browser.get(DOCUMENTS).content.decode()
    assert "You accepted “Client agreement”." in page
    assert "2 documents are waiting" in page
    assert page.count("Accepted on") == 1
    # accepting again changes nothing
    browser.post(f"{DOCUMENTS}{agreement.pk}/accept/")
    assert "You had already accepted “Client agreement”." in browser.get(DOCUMENTS).content.decode()
    assert audit_rows().filter(action="identity.consent_accepted").count() == 1


def test_when_all_are_accepted_nothing_waits(portal_world, documents, eu_client):
    browser = signed_in_browser()
    for document in documents.values():
        browser.post(f"{DOCUMENTS}{document.pk}/accept/")
    text = browser.get(DOCUMENTS).content.decode()
    assert "waiting for you" not in text
    assert text.count("Accepted on") == 3
    assert "accept/" not in text


def test_another_entitys_or_a_superseded_document_is_not_found(portal_world, documents, eu_client):
    browser = signed_in_browser()
    foreign = publish_document(portal_world.uk, "client_agreement", "v2")
    old = documents["client_agreement"]
    newer = publish_document(portal_world.eu, "client_agreement", "v2")
    for document_id in (foreign.pk, old.pk, 987654321):
        assert browser.get(f"{DOCUMENTS}{document_id}/").status_code == 404
        assert browser.post(f"{DOCUMENTS}{document_id}/accept/").status_code == 404
    assert not any(accepted(eu_client).values())
    assert browser.get(f"{DOCUMENTS}{newer.pk}/").status_code == 200


def test_accepting_takes_a_post(portal_world, documents, eu_client):
    agreement = documents["client_agreement"]
    assert signed_in_browser().get(f"{DOCUMENTS}{agreement.pk}/accept/").status_code == 405
    assert not any(accepted(eu_client).values())
