"""The work queue's kernel: claiming, assigning and releasing items of any registered queue,
the merged list with its filters, and the refusals."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest
from django.urls import reverse

from audit.models import AuditEvent
from brokercrm.accounts.tests.factories import UserFactory, grant
from brokercrm.backoffice import audit_actions, registry, services
from brokercrm.backoffice.models import Assignment
from brokercrm.backoffice.work import work_rows
from brokercrm.errors import NotFound, PermissionDenied, ValidationFailed
from identity.models import ClientProfile
from identity.tests.factories import register

QUEUE = "test.applicants"


def _item(profile: ClientProfile) -> registry.WorkItem:
    return registry.WorkItem(
        queue=QUEUE,
        object_id=str(profile.pk),
        title=f"{profile.given_name} {profile.family_name}",
        entity_id=profile.entity_id,
        opened_at=profile.created_at,
        due_at=profile.created_at + timedelta(hours=1),
        url=reverse("admin:client", args=[profile.person_id]),
        person_id=profile.person_id,
    )


def _fetch(scope: Any, limit: int) -> registry.QueueFetch:
    rows = ClientProfile.objects.within(scope).order_by("created_at")
    return registry.QueueFetch(rows.count(), [_item(p) for p in rows[:limit]] if limit else [])


def _one(scope: Any, object_id: str) -> registry.WorkItem | None:
    profile = ClientProfile.objects.within(scope).filter(pk=object_id).first()
    return _item(profile) if profile else None


@pytest.fixture
def queue(world: Any) -> Any:
    registry.queue_register(
        registry.Queue(QUEUE, "Applicants", "identity.change_clientprofile", _fetch, _one)
    )
    yield registry.queue(QUEUE)
    registry._queues.pop(QUEUE, None)


@pytest.fixture
def applicants(world: Any) -> tuple[Any, Any]:
    eu = register(world.eu_brand).profile
    uk = register(
        world.uk_brand,
        given_name="Amelia",
        family_name="Hughes",
        email="amelia@example.co.uk",
        residence_country="GB",
        nationality="GB",
        phone="+44 7911 123456",
        document=None,
        device_fingerprint="dev-amelia",
        ip="198.51.100.7",
    ).profile
    return eu, uk


def test_claim_assign_release_are_audited_with_the_holder(world, queue, applicants):
    eu_item, _ = applicants
    services.work_item_assign(actor=world.eu_compliance, queue_key=QUEUE, object_id=eu_item.pk)
    held = Assignment.objects.unscoped().get(queue=QUEUE, object_id=str(eu_item.pk))
    assert held.assignee == world.eu_compliance

    colleague = UserFactory(username="eu.compliance.two")
    grant(colleague, "compliance", entity=world.eu)
    services.work_item_assign(
        actor=world.eu_compliance, queue_key=QUEUE, object_id=eu_item.pk, assignee=colleague
    )
    services.work_item_release(actor=colleague, queue_key=QUEUE, object_id=eu_item.pk)
    assert not Assignment.objects.unscoped().exists()

    rows = AuditEvent.objects.filter(object_type=f"work:{QUEUE}").order_by("seq")
    assert [(r.action, r.before["assignee"], r.after["assignee"]) for r in rows] == [
        (audit_actions.WORK_CLAIMED, None, world.eu_compliance.username),
        (audit_actions.WORK_ASSIGNED, world.eu_compliance.username, colleague.username),
        (audit_actions.WORK_RELEASED, colleague.username, None),
    ]
    assert {r.person_id for r in rows} == {eu_item.person_id}
    assert {r.entity_id for r in rows} == {world.eu.pk}


def test_another_entitys_item_is_not_found_and_nothing_is_written(world, queue, applicants):
    _, uk_item = applicants
    with pytest.raises(NotFound):
        services.work_item_assign(actor=world.eu_compliance, queue_key=QUEUE, object_id=uk_item.pk)
    with pytest.raises(NotFound):
        services.work_item_assign(actor=world.eu_compliance, queue_key="no.such", object_id="1")
    assert not Assignment.objects.unscoped().exists()
    assert not AuditEvent.objects.filter(object_type=f"work:{QUEUE}").exists()


def test_an_item_goes_only_to_someone_who_may_work_it_there(world, queue, applicants):
    eu_item, _ = applicants
    for outsider in (world.uk_compliance, world.eu_support):
        with pytest.raises(ValidationFailed) as refused:
            services.work_item_assign(
                actor=world.eu_compliance,
                queue_key=QUEUE,
                object_id=eu_item.pk,
                assignee=outsider,
            )
        assert refused.value.code == "assignee_not_allowed"
    # Group oversight sees the item but may not work it.
    with pytest.raises((PermissionDenied, NotFound)):
        services.work_item_assign(
            actor=world.group_compliance, queue_key=QUEUE, object_id=eu_item.pk
        )
    assert not Assignment.objects.unscoped().exists()


def test_the_merged_list_filters_by_holder(world, queue, applicants):
    eu_item, uk_item = applicants
    rows, counts = work_rows(world.eu_compliance)
    assert [row.item.object_id for row in rows] == [str(eu_item.pk)]
    assert counts[QUEUE] == 1
    services.work_item_assign(actor=world.eu_compliance, queue_key=QUEUE, object_id=eu_item.pk)
    assert [r.assignee for r in work_rows(world.eu_compliance, holder="mine")[0]] == [
        world.eu_compliance
    ]
    assert work_rows(world.eu_compliance, holder="unassigned")[0] == []
    everyone, _ = work_rows(world.superuser)
    assert {row.item.object_id for row in everyone} == {str(eu_item.pk), str(uk_item.pk)}


def test_the_page_claims_and_refuses_in_words(world, queue, applicants, client):
    eu_item, uk_item = applicants
    client.force_login(world.eu_compliance)
    page = client.get(reverse("admin:work"), {"queue": QUEUE})
    assert page.status_code == 200
    assert "Ivan Petrov" in page.content.decode()
    assert "Amelia" not in page.content.decode()

    url = reverse("admin:work-item", args=[QUEUE, eu_item.pk])
    done = client.post(url, {"action": "claim", "next": "/admin/work/"}, follow=True)
    assert done.status_code == 200
    assert Assignment.objects.unscoped().get().assignee == world.eu_compliance

    foreign = reverse("admin:work-item", args=[QUEUE, uk_item.pk])
    refused = client.post(foreign, {"action": "claim"}, follow=True)
    assert "No such work item. (not_found)" in refused.content.decode()
    odd = client.post(url, {"action": "shred"}, follow=True)
    assert "(action_unknown)" in odd.content.decode()
    # An address outside the back office is never where the form sends anyone.
    away = client.post(url, {"action": "release", "next": "//evil.example/"})
    assert away["Location"] == reverse("admin:work")
    assert client.get(reverse("admin:work"), {"queue": "no.such"}).status_code == 404


def test_bulk_actions_apply_item_by_item(world, queue, applicants, client):
    eu_item, uk_item = applicants
    client.force_login(world.eu_compliance)
    page = client.post(
        reverse("admin:work-bulk"),
        {"action": "claim", "item": [f"{QUEUE}:{eu_item.pk}", f"{QUEUE}:{uk_item.pk}"]},
        follow=True,
    )
    body = page.content.decode()
    assert "1 item(s) updated." in body
    assert "No such work item." in body
    assert list(Assignment.objects.unscoped().values_list("object_id", flat=True)) == [
        str(eu_item.pk)
    ]


def test_the_entity_filter_offers_the_users_entities_and_narrows_the_list(
    world, queue, applicants, client
):
    assert len(applicants) == 2
    client.force_login(world.superuser)
    page = client.get(reverse("admin:work"), {"queue": QUEUE}).content.decode()
    assert "Ivan Petrov" in page
    assert "Amelia Hughes" in page
    assert 'name="entity"' in page
    only_uk = client.get(reverse("admin:work"), {"queue": QUEUE, "entity": world.uk.pk})
    assert "Amelia Hughes" in only_uk.content.decode()
    assert "Ivan Petrov" not in only_uk.content.decode()
    odd = client.get(reverse("admin:work"), {"entity": "x"})
    assert odd.status_code == 200
    client.force_login(world.eu_compliance)
    assert 'name="entity"' not in client.get(reverse("admin:work")).content.decode()


def test_the_assignee_list_holds_only_staff_of_the_items_entities(world, queue, applicants, client):
    client.force_login(world.eu_compliance)
    page = client.get(reverse("admin:work"), {"queue": QUEUE}).content.decode()
    assert world.eu_support.username in page
    assert world.uk_compliance.username not in page
