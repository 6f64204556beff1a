"""The client 360: a person as each staff member may know them, the timeline and the search."""

from __future__ import annotations

from typing import Any

import pytest
from django.urls import reverse

from audit.services import audit_record
from brokercrm.backoffice import client360, registry
from brokercrm.gate import SYSTEM
from identity.tests.factories import register


@pytest.fixture
def linked(world: Any) -> Any:
    """One person, a client of the EU entity and, linked at registration, of the UK one."""
    eu = register(world.eu_brand).profile
    uk_result = register(world.uk_brand, residence_country="GB")
    assert uk_result.outcome == "auto_link"
    assert uk_result.profile.person_id == eu.person_id
    return eu, uk_result.profile


def test_an_officer_sees_their_profile_in_full_and_the_other_as_existence(world, linked):
    eu, _uk = linked
    subject = registry.subject_load(world.eu_compliance, eu.person_id)
    by_entity = {ref.entity_code: ref for ref in subject.profiles}
    assert by_entity["EU"].visible
    assert by_entity["EU"].email == eu.email
    assert not by_entity["UK"].visible
    assert (by_entity["UK"].email, by_entity["UK"].brand, by_entity["UK"].desk) == ("", "", "")
    assert by_entity["UK"].status  # existence and status, nothing more
    assert subject.visible_entity_ids == [world.eu.pk]


def test_the_page_shows_what_the_user_may_see(world, linked, client):
    eu, uk = linked
    url = reverse("admin:client", args=[eu.person_id])
    client.force_login(world.eu_compliance)
    page = client.get(url).content.decode()
    assert eu.email in page
    assert uk.email not in page or uk.email == eu.email
    assert "Held by another entity" in page
    client.force_login(world.group_compliance)
    oversight = client.get(url).content.decode()
    assert "Held by another entity" not in oversight  # oversight may view both entities
    client.force_login(world.uk_compliance)
    assert client.get(url).status_code == 200


def test_a_person_known_only_to_another_entity_is_not_found(world, client):
    uk = register(world.uk_brand, residence_country="GB").profile
    client.force_login(world.eu_compliance)
    assert client.get(reverse("admin:client", args=[uk.person_id])).status_code == 404
    assert client.get(reverse("admin:client", args=[999999])).status_code == 404
    found = client.get(reverse("admin:clients"), {"q": "Petrov", "go": "list"})
    assert "Ivan Petrov" not in found.content.decode()


def test_search_by_name_email_phone_and_document(world, linked, client):
    eu, _ = linked
    client.force_login(world.eu_compliance)
    target = reverse("admin:client", args=[eu.person_id])
    for text in ("petrov ivan", "IVAN.PETROV@example.com", "+49 151 23456789", "c01x00t47"):
        answer = client.get(reverse("admin:clients"), {"q": text})
        assert (answer.status_code, answer.get("Location")) == (302, target), text
    listed = client.get(reverse("admin:clients"), {"q": "Petrov", "go": "list"})
    assert "Ivan Petrov" in listed.content.decode()
    nothing = client.get(reverse("admin:clients"), {"q": "x"})
    assert "at least two characters" in nothing.content.decode()


def test_the_timeline_merges_sources_newest_first_and_pages(world, linked, client):
    eu, uk = linked
    for n in range(60):
        audit_record(
            actor=SYSTEM,
            action="identity.note_added",
            obj=eu,
            entity=eu.entity_id,
            reason=f"note {n}",
        )
    audit_record(
        actor=SYSTEM, action="identity.note_added", obj=uk, entity=uk.entity_id, reason="uk only"
    )
    subject = registry.subject_load(world.eu_compliance, eu.person_id)
    first = client360.timeline_entries(world.eu_compliance, subject)
    assert len(first) == client360.TIMELINE_PAGE + 1
    assert [e.at for e in first] == sorted((e.at for e in first), reverse=True)
    assert {e.entity_code for e in first} == {"EU"}
    assert "uk only" not in {e.detail for e in first}
    older = client360.timeline_entries(
        world.eu_compliance, subject, before=first[client360.TIMELINE_PAGE - 1].at
    )
    assert older
    assert all(e.at < first[client360.TIMELINE_PAGE - 1].at for e in older)
    only_events = client360.timeline_entries(world.eu_compliance, subject, kinds=["event"])
    assert only_events
    assert {e.kind for e in only_events} == {"event"}

    client.force_login(world.eu_compliance)
    page = client.get(reverse("admin:client", args=[eu.person_id]), {"tab": "timeline"})
    assert "Older entries" in page.content.decode()
    more = client.get(
        reverse("admin:client-timeline", args=[eu.person_id]),
        {"before": first[0].at.isoformat()},
        HTTP_HX_REQUEST="true",
    )
    assert more.status_code == 200
    assert "<li" in more.content.decode()


def test_a_timeline_page_costs_the_same_however_long_the_history(
    world, linked, client, django_assert_max_num_queries
):
    eu, _ = linked
    client.force_login(world.eu_compliance)
    url = reverse("admin:client", args=[eu.person_id])
    client.get(url, {"tab": "timeline"})  # warm the per-user caches
    for _ in range(10):
        audit_record(actor=SYSTEM, action="identity.note_added", obj=eu, entity=eu.entity_id)
    with django_assert_max_num_queries(40) as short:
        client.get(url, {"tab": "timeline"})
    for _ in range(120):
        audit_record(actor=SYSTEM, action="identity.note_added", obj=eu, entity=eu.entity_id)
    with django_assert_max_num_queries(len(short.captured_queries)):
        client.get(url, {"tab": "timeline"})
