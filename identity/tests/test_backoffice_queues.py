"""The identity app's work queues on the back office's My work page: duplicate cases, and the
notice that a client of the entity now also has a profile at another entity."""

from __future__ import annotations

import datetime
from datetime import timedelta

import pytest
import time_machine
from django.urls import reverse

from audit.models import AuditEvent
from brokercrm.backoffice import registry
from brokercrm.backoffice.work import queues_for
from brokercrm.errors import Conflict, PermissionDenied
from brokercrm.gate import SYSTEM
from brokercrm.scoping import scope_for
from entities.services import ruleset_publish
from identity.models import DuplicateCase, ProfileNotice
from identity.services import duplicate_case_decide, person_unmerge, profile_notice_acknowledge

from .factories import register

DUPLICATES = "identity.duplicate_case"
NOTICES = "identity.other_entity_profile"
MOMENT = datetime.datetime(2027, 3, 31, 9, 30, tzinfo=datetime.UTC)


@pytest.fixture(autouse=True)
def _fixed_clock():
    with time_machine.travel(MOMENT, tick=True):
        yield


def _fetch(user, key, limit=50):
    queue = registry.queue(key)
    return queue.fetch(scope_for(user, queue.perm), limit)


def _item(user, key, object_id):
    queue = registry.queue(key)
    return queue.item(scope_for(user, queue.perm), object_id)


def _letters(n):
    return f"{chr(97 + n % 26)}{chr(97 + n // 26 % 26)}"


def _client(brand, n, **overrides):
    """A client nobody else resembles: own name, e-mail, phone, device and no document."""
    values = {
        "given_name": "Nadia",
        "family_name": f"Queuewright{_letters(n)}",
        "birth_date": "1980-01-15",
        "email": f"client{n}@example.org",
        "phone": "",
        "document": None,
        "ip": f"198.51.100.{n % 250 + 1}",
        "device_fingerprint": f"dev-queue-{n:04d}",
    }
    if brand.code == "uk-brand":
        values["residence_country"] = "GB"
    values.update(overrides)
    return register(brand, **values)


@pytest.fixture
def linked(world):
    """An EU client who then registers at the UK entity and is linked to the same person."""
    eu = register(world.eu_brand)
    uk = register(world.uk_brand, residence_country="GB", email="ivan.uk@example.co.uk")
    assert uk.outcome == "auto_link"
    return eu, uk


# --- the cross-entity notice -------------------------------------------------------------


def test_an_auto_link_tells_the_entity_that_already_knew_the_person(world, linked):
    eu, uk = linked
    notice = ProfileNotice.objects.unscoped().get()
    assert (notice.entity_id, notice.profile_id, notice.other_profile_id) == (
        world.eu.pk,
        eu.profile.pk,
        uk.profile.pk,
    )
    fetched = _fetch(world.eu_compliance, NOTICES)
    assert fetched.count == 1
    item = fetched.items[0]
    assert item.title == "Ivan Petrov now also has a profile at UK (applicant)"
    assert item.informational is True
    assert item.entity_id == world.eu.pk
    assert item.person_id == eu.person.pk
    assert item.detail == "no group flags"
    # Only what oversight allows of the UK: no e-mail, no link to its rows.
    assert item.url == reverse("admin:client", args=[eu.person.pk])
    shown = f"{item.title} {item.detail} {item.url}"
    assert "ivan.uk@example.co.uk" not in shown
    assert f"/{uk.profile.pk}/" not in item.url
    # The UK, where the new profile is, is told nothing; a first registration tells no one.
    assert _fetch(world.uk_compliance, NOTICES).count == 0
    assert _item(world.uk_compliance, NOTICES, item.object_id) is None


def test_group_flags_raise_the_notice_and_show_in_it(world, linked):
    from identity.services import person_flags_set

    eu, _uk = linked
    person_flags_set(person=eu.person, reason="screening", entity=world.uk, sanctions_hit=True)
    item = _fetch(world.eu_compliance, NOTICES).items[0]
    assert item.detail == "group flags: sanctions"
    assert item.priority == registry.PRIORITY_HIGH


def test_acknowledged_notices_leave_the_queue_and_are_audited(world, linked):
    notice = ProfileNotice.objects.unscoped().get()
    for outsider in (world.uk_compliance, world.eu_support, world.group_compliance):
        with pytest.raises(PermissionDenied):
            profile_notice_acknowledge(actor=outsider, notice_id=notice.pk)
    profile_notice_acknowledge(actor=world.eu_compliance, notice_id=notice.pk)
    assert _fetch(world.eu_compliance, NOTICES).count == 0
    assert _item(world.eu_compliance, NOTICES, str(notice.pk)) is None
    event = AuditEvent.objects.get(action="identity.profile_notice_acknowledged")
    assert (event.entity_id, event.object_id) == (world.eu.pk, str(notice.pk))
    with pytest.raises(Conflict):
        profile_notice_acknowledge(actor=world.eu_compliance, notice_id=notice.pk)


def test_the_admin_action_acknowledges(client, world, linked):
    notice = ProfileNotice.objects.unscoped().get()
    client.force_login(world.eu_compliance)
    changelist = reverse("admin:identity_profilenotice_changelist")
    page = client.get(changelist)
    assert page.status_code == 200
    assert b"ivan.uk@example.co.uk" not in page.content
    client.post(
        changelist,
        {"action": "acknowledge_notices", "_selected_action": [notice.pk]},
    )
    notice.refresh_from_db()
    assert notice.acknowledged_by == world.eu_compliance


def test_a_merge_tells_each_side_and_an_unmerge_takes_the_notices_away(world):
    original = register(
        world.uk_brand, residence_country="GB", birth_date="1985-07-04", document=None
    )
    swapped = register(world.eu_brand, birth_date="1985-04-07", document=None)
    case = DuplicateCase.objects.unscoped().get()
    assert _fetch(world.eu_compliance, NOTICES).count == 0
    duplicate_case_decide(actor=world.eu_compliance, case=case, decision="link", reason="same")
    eu_items = _fetch(world.eu_compliance, NOTICES).items
    uk_items = _fetch(world.uk_compliance, NOTICES).items
    assert [item.title for item in eu_items] == [
        "Ivan Petrov now also has a profile at UK (applicant)"
    ]
    assert [item.title for item in uk_items] == [
        "Ivan Petrov now also has a profile at EU (applicant)"
    ]
    assert {item.person_id for item in eu_items + uk_items} == {original.person.pk}
    from identity.models import PersonMerge

    person_unmerge(actor=world.eu_compliance, merge=PersonMerge.objects.get(), reason="wrong")
    assert _fetch(world.eu_compliance, NOTICES).count == 0
    assert _fetch(world.uk_compliance, NOTICES).count == 0
    assert swapped.profile.pk in ProfileNotice.objects.unscoped().values_list(
        "other_profile_id", flat=True
    )


# --- duplicate cases ---------------------------------------------------------------------


def _held(known_brand, held_brand, n, given, family):
    """A client of one entity, then the same person at the other with the birth day and month
    swapped: held for review there."""
    same = {
        "given_name": given,
        "family_name": family,
        "email": f"{family.lower()}@example.org",
        "phone": f"+49 151 2345{n:04d}",
        "device_fingerprint": f"dev-held-{n:04d}",
        "ip": f"203.0.113.{n}",
    }
    _client(known_brand, n, birth_date="1985-07-04", **same)
    held = _client(held_brand, n, birth_date="1985-04-07", **same)
    assert held.outcome == "review"
    return DuplicateCase.objects.unscoped().get(profile=held.profile)


@pytest.fixture
def cases(world):
    """A registration held for review in each entity."""
    return (
        _held(world.uk_brand, world.eu_brand, 1, "Mira", "Holt"),
        _held(world.eu_brand, world.uk_brand, 2, "Jonas", "Brandt"),
    )


def test_duplicate_cases_per_persona(world, cases):
    eu_case, uk_case = cases
    eu = _fetch(world.eu_compliance, DUPLICATES)
    assert (eu.count, [item.object_id for item in eu.items]) == (1, [str(eu_case.pk)])
    item = eu.items[0]
    assert item.title == "Mira Holt: possible duplicate"
    assert item.url == reverse("admin:identity_duplicatecase_change", args=[eu_case.pk])
    assert eu_case.decision.ruleset in item.detail
    assert item.detail.startswith("match ")
    uk = _fetch(world.uk_compliance, DUPLICATES)
    assert [item.object_id for item in uk.items] == [str(uk_case.pk)]
    assert _fetch(world.group_compliance, DUPLICATES).count == 2
    for user in (world.eu_support, world.eu_desk_sales):
        assert DUPLICATES not in [queue.key for queue in queues_for(user)]
    assert _item(world.eu_compliance, DUPLICATES, str(uk_case.pk)) is None
    assert _item(world.eu_compliance, DUPLICATES, "not-a-number") is None
    duplicate_case_decide(actor=world.eu_compliance, case=eu_case, decision="distinct", reason="x")
    assert _item(world.eu_compliance, DUPLICATES, str(eu_case.pk)) is None
    assert _fetch(world.eu_compliance, DUPLICATES).count == 0


def test_due_time_follows_the_published_sla_rules(world, cases):
    eu_case, uk_case = cases
    ruleset_publish(
        actor=SYSTEM,
        entity=world.eu,
        kind="sla",
        document={"default_hours": 48, "hours": {"identity.duplicate_case": 6}},
    )
    items = {item.entity_id: item for item in _fetch(world.group_compliance, DUPLICATES).items}
    assert items[world.eu.pk].due_at == eu_case.created_at + timedelta(hours=6)
    # The UK published none: the product's default for the queue.
    assert items[world.uk.pk].due_at == uk_case.created_at + timedelta(hours=24)


def _notices(world, first, count):
    for n in range(first, first + count):
        _client(world.eu_brand, n, family_name=f"Noticed{_letters(n)}", email=f"n{n}@example.org")
        linked = _client(
            world.uk_brand, n, family_name=f"Noticed{_letters(n)}", email=f"n{n}@example.org"
        )
        assert linked.outcome == "auto_link"


def test_fetching_notices_takes_the_same_queries_for_5_or_30(world, django_assert_max_num_queries):
    _notices(world, 0, 5)
    scope = scope_for(world.eu_compliance, "identity.view_profilenotice")
    queue = registry.queue(NOTICES)
    with django_assert_max_num_queries(3):
        assert len(queue.fetch(scope, 50).items) == 5
    _notices(world, 5, 25)
    with django_assert_max_num_queries(3):
        fetched = queue.fetch(scope, 50)
    assert (fetched.count, len(fetched.items)) == (30, 30)
    with django_assert_max_num_queries(1):
        assert queue.fetch(scope, 0).count == 30


def test_my_work_shows_the_notice_and_the_case(client, world, linked, cases):
    client.force_login(world.eu_compliance)
    page = client.get("/admin/work/")
    assert page.status_code == 200
    text = page.content.decode()
    assert "Ivan Petrov now also has a profile at UK (applicant)" in text
    assert "Mira Holt: possible duplicate" in text
    assert "for information" in text
    assert "Jonas Brandt" not in text  # the UK's case
