"""Legal documents per entity: published by staff as numbered versions, never edited."""

from __future__ import annotations

import datetime as dt

import pytest
from django.db import transaction
from django.utils import timezone

from audit.models import AuditEvent
from brokercrm.errors import PermissionDenied, ValidationFailed
from entities.models import LegalDocument
from entities.selectors import legal_document_of_entity, legal_documents_current
from entities.services import legal_document_publish


def test_versions_count_up_per_entity_and_kind(world):
    first = legal_document_publish(
        actor=world.eu_compliance,
        entity=world.eu,
        kind="client_agreement",
        title="Client agreement",
        body="Terms.",
    )
    second = legal_document_publish(
        actor=world.eu_admin,
        entity=world.eu,
        kind="client_agreement",
        title="Client agreement",
        url="https://eu.example.com/legal/agreement-2.pdf",
    )
    other_kind = legal_document_publish(
        actor=world.eu_compliance, entity=world.eu, kind="privacy_notice", title="Privacy", body="…"
    )
    uk = legal_document_publish(
        actor=world.uk_compliance, entity=world.uk, kind="client_agreement", title="UK", body="…"
    )
    assert [first.version, second.version, other_kind.version, uk.version] == [1, 2, 1, 1]
    assert second.reference == "EU/client_agreement/v2"
    assert second.created_by == world.eu_admin
    assert [doc.pk for doc in legal_documents_current(world.eu)] == [second.pk, other_kind.pk]
    assert legal_document_of_entity(world.eu.pk, uk.pk) is None
    event = AuditEvent.objects.filter(action="entities.legal_document_published").first()
    assert event.entity_id == world.uk.pk


def test_a_version_announced_ahead_takes_over_when_its_time_comes(world):
    now = timezone.now()
    current = legal_document_publish(
        actor=world.eu_compliance, entity=world.eu, kind="risk_disclosure", title="R", body="1"
    )
    ahead = legal_document_publish(
        actor=world.eu_compliance,
        entity=world.eu,
        kind="risk_disclosure",
        title="R",
        body="2",
        published_at=now + dt.timedelta(days=7),
    )
    assert legal_documents_current(world.eu) == [current]
    assert legal_documents_current(world.eu, at=now + dt.timedelta(days=8)) == [ahead]


@pytest.mark.parametrize(
    ("fields", "code"),
    [
        ({"kind": "cookie_policy", "title": "C", "body": "x"}, "document_kind_unknown"),
        ({"kind": "privacy_notice", "title": "P"}, "document_text_missing"),
        ({"kind": "privacy_notice", "title": "P", "body": "  "}, "document_text_missing"),
        ({"kind": "privacy_notice", "title": "", "body": "x"}, "invalid"),
        ({"kind": "privacy_notice", "title": "P", "url": "not a url"}, "invalid"),
        (
            {
                "kind": "privacy_notice",
                "title": "P",
                "body": "x",
                "published_at": timezone.now() - dt.timedelta(days=1),
            },
            "document_backdated",
        ),
    ],
)
def test_bad_documents_are_refused(world, fields, code):
    with pytest.raises(ValidationFailed) as raised:
        legal_document_publish(actor=world.eu_compliance, entity=world.eu, **fields)
    assert raised.value.code == code
    assert not LegalDocument.objects.unscoped().exists()


def test_only_staff_with_the_right_in_the_entity_publish(world):
    for actor in (world.eu_support, world.uk_compliance, world.group_compliance):
        with pytest.raises(PermissionDenied):
            legal_document_publish(
                actor=actor, entity=world.eu, kind="client_agreement", title="A", body="x"
            )
    assert not LegalDocument.objects.unscoped().exists()


def test_a_published_version_is_never_edited(world):
    document = legal_document_publish(
        actor=world.eu_compliance, entity=world.eu, kind="client_agreement", title="A", body="x"
    )
    rows = LegalDocument.objects.unscoped().filter(pk=document.pk)
    with pytest.raises(Exception, match="immutable"), transaction.atomic():
        rows.update(body="changed")
    with pytest.raises(Exception, match="immutable"), transaction.atomic():
        rows.delete()
    assert rows.get().body == "x"


def test_staff_publish_in_the_admin(world, client):
    client.force_login(world.eu_compliance)
    # One moment for both halves of the field: a date and a time taken apart would cross
    # midnight together only by luck.
    at = timezone.localtime(timezone.now() + dt.timedelta(minutes=1))
    response = client.post(
        "/admin/entities/legaldocument/add/",
        {
            "entity": world.eu.pk,
            "kind": "privacy_notice",
            "title": "Privacy notice",
            "body": "We keep your data safe.",
            "url": "",
            "published_at_0": at.strftime("%Y-%m-%d"),
            "published_at_1": at.strftime("%H:%M:%S"),
        },
    )
    assert response.status_code == 302, response.content.decode()[:2000]
    document = LegalDocument.objects.unscoped().get()
    assert (document.version, document.created_by) == (1, world.eu_compliance)
    change = client.get(f"/admin/entities/legaldocument/{document.pk}/change/")
    assert change.status_code == 200  # shown read-only
    assert b'name="body"' not in change.content
