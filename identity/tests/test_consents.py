"""The client reads the entity's documents in force and accepts them, one version at a time."""

from __future__ import annotations

import pytest
from django.db import IntegrityError, transaction
from rest_framework.test import APIClient

from audit.models import AuditEvent
from brokercrm.accounts.tests.factories import client_login
from entities.tests.factories import publish_document, publish_documents
from identity.models import ClientProfile, Consent
from identity.selectors import profile_consents_missing
from identity.tests.factories import brand_api, register, signed_in

DOCUMENTS = "/api/v1/me/documents"
CONSENTS = "/api/v1/me/consents"
KINDS = ["client_agreement", "risk_disclosure", "privacy_notice"]


@pytest.fixture
def documents(world):
    return publish_documents(world.eu)


@pytest.fixture
def ivan(world):
    profile = register(world.eu_brand).profile
    client_login(profile)
    return ClientProfile.objects.unscoped().select_related("brand").get(pk=profile.pk)


def test_the_client_reads_the_documents_in_force(world, documents, ivan):
    publish_documents(world.uk)  # another entity's are not shown
    response = signed_in(ivan).get(DOCUMENTS)
    assert response.status_code == 200
    rows = response.json()
    assert [(row["kind"], row["version"], row["accepted"]) for row in rows] == [
        (kind, 1, False) for kind in KINDS
    ]
    assert rows[0] == {
        "id": documents["client_agreement"].pk,
        "kind": "client_agreement",
        "version": 1,
        "title": "Client agreement",
        "body": "The client agreement of EU.",
        "url": "",
        "published_at": rows[0]["published_at"],
        "accepted": False,
        "accepted_at": None,
    }
    assert profile_consents_missing(ivan) == KINDS


def test_accepting_is_recorded_once_with_ip_and_browser(world, documents, ivan):
    api = signed_in(ivan)
    agreement = documents["client_agreement"]
    response = api.post(
        CONSENTS,
        {"document_id": agreement.pk},
        format="json",
        HTTP_USER_AGENT="Mozilla/5.0 (test)",
        REMOTE_ADDR="198.51.100.7",
    )
    assert response.status_code == 201, response.content
    body = response.json()
    assert (body["document_id"], body["kind"], body["version"]) == (
        agreement.pk,
        "client_agreement",
        1,
    )
    consent = Consent.objects.unscoped().get()
    assert (consent.ip, consent.user_agent, consent.entity_id) == (
        "198.51.100.7",
        "Mozilla/5.0 (test)",
        world.eu.pk,
    )
    assert ClientProfile.objects.unscoped().get(pk=ivan.pk).agreement_version == (
        "EU/client_agreement/v1"
    )
    # accepting again changes nothing
    again = api.post(CONSENTS, {"document_id": agreement.pk}, format="json")
    assert (again.status_code, again.json()["id"]) == (200, body["id"])
    assert Consent.objects.unscoped().count() == 1
    assert AuditEvent.objects.filter(action="identity.consent_accepted").count() == 1
    assert profile_consents_missing(ivan) == ["risk_disclosure", "privacy_notice"]
    rows = api.get(DOCUMENTS).json()
    assert [row["accepted"] for row in rows] == [True, False, False]
    assert rows[0]["accepted_at"] is not None


def test_a_new_version_needs_a_new_acceptance(world, documents, ivan):
    api = signed_in(ivan)
    for document in documents.values():
        assert api.post(CONSENTS, {"document_id": document.pk}, format="json").status_code == 201
    assert profile_consents_missing(ivan) == []
    second = publish_document(world.eu, "client_agreement", "Second edition.")
    assert second.version == 2
    assert profile_consents_missing(ivan) == ["client_agreement"]
    rows = api.get(DOCUMENTS).json()
    assert (rows[0]["id"], rows[0]["version"], rows[0]["accepted"]) == (second.pk, 2, False)
    # the old version can no longer be accepted
    old = api.post(CONSENTS, {"document_id": documents["client_agreement"].pk}, format="json")
    assert old.status_code == 400
    assert old.json()["code"] == "document_superseded"
    assert old.json()["current_document_id"] == second.pk
    assert api.post(CONSENTS, {"document_id": second.pk}, format="json").status_code == 201
    assert ClientProfile.objects.unscoped().get(pk=ivan.pk).agreement_version == (
        "EU/client_agreement/v2"
    )
    assert Consent.objects.unscoped().filter(profile=ivan).count() == 4


def test_other_entities_unknown_and_future_documents_read_as_unknown(world, documents, ivan):
    import datetime as dt

    from django.utils import timezone

    uk = publish_documents(world.uk)
    announced = publish_document(
        world.eu,
        "privacy_notice",
        "Next year.",
        published_at=timezone.now() + dt.timedelta(days=30),
    )
    api = signed_in(ivan)
    for document_id in (uk["client_agreement"].pk, announced.pk, 999999999):
        response = api.post(CONSENTS, {"document_id": document_id}, format="json")
        assert (response.status_code, response.json()["code"]) == (404, "document_not_found")
    for body in ({}, {"document_id": "one"}, {"document_id": -1}, {"document_id": 2**64}, []):
        response = api.post(CONSENTS, body, format="json")
        assert (response.status_code, response.json()["code"]) == (400, "invalid"), body
    assert not Consent.objects.unscoped().exists()
    assert ClientProfile.objects.unscoped().get(pk=ivan.pk).agreement_version == ""
    # the announced version is not in force yet
    assert api.get(DOCUMENTS).json()[2]["id"] == documents["privacy_notice"].pk


def test_personas(world, documents, ivan):
    staff = APIClient()
    staff.force_authenticate(world.eu_compliance)
    body = {"document_id": documents["client_agreement"].pk}
    for api, expected in ((APIClient(), 401), (staff, 403), (brand_api(world.eu_brand), 401)):
        assert api.get(DOCUMENTS).status_code == expected
        assert api.post(CONSENTS, body, format="json").status_code == expected
    assert not Consent.objects.unscoped().exists()


def test_an_entity_with_no_documents_asks_for_nothing(world, ivan):
    assert signed_in(ivan).get(DOCUMENTS).json() == []
    assert profile_consents_missing(ivan) == []


def test_acceptances_are_append_only(world, documents, ivan):
    signed_in(ivan).post(CONSENTS, {"document_id": documents["risk_disclosure"].pk}, format="json")
    rows = Consent.objects.unscoped()
    with pytest.raises(Exception, match="append-only"), transaction.atomic():
        rows.update(user_agent="edited")
    with pytest.raises(Exception, match="append-only"), transaction.atomic():
        rows.all().delete()
    assert rows.get().user_agent == ""
    with pytest.raises(IntegrityError), transaction.atomic():
        Consent.objects.unscoped().create(
            entity=world.eu,
            profile=ivan,
            document=documents["risk_disclosure"],
            kind="risk_disclosure",
            version=1,
            accepted_at=rows.get().accepted_at,
        )
