"""Referral reviews as a work queue on "My work": who sees them, their order, deadlines and
what fetching them costs."""

from __future__ import annotations

import itertools
from datetime import timedelta

import pytest
from django.test import Client
from django.utils import timezone

from brokercrm.accounts.tests.factories import UserFactory, grant
from brokercrm.backoffice import registry
from brokercrm.backoffice.work import queues_for
from brokercrm.gate import SYSTEM
from brokercrm.scoping import scope_for
from entities.services import ruleset_publish
from ib.backoffice.queues import REFERRAL_REVIEW
from ib.models import ReferralReview
from ib.services import referral_attribute, referral_review_resolve
from identity.tests.factories import register

_people = itertools.count(1)


def _client(brand):
    n = next(_people)
    uk = brand.entity.code == "UK"
    return register(
        brand,
        given_name="Nadia",
        family_name="Referred" + "abcdefghijklmnopqrstuvwxyz"[n % 26] * (1 + n // 26),
        residence_country="GB" if uk else "DE",
        nationality="GB" if uk else "DE",
        email=f"referred{n}@example.test",
        phone=f"+44 7911 {200000 + n}" if uk else f"+49 151 {30000000 + n}",
        document=None,
        ip=f"198.51.100.{n % 250 + 1}",
        device_fingerprint=f"dev-referred-{n}",
    ).profile


def _review(brand, code: str) -> ReferralReview:
    """A registration whose referral code attributed nobody (an unknown code)."""
    profile = _client(brand)
    assert referral_attribute(profile=profile, code=code) is None
    return ReferralReview.objects.unscoped().get(profile=profile)


def _fetch(user, limit: int = 50) -> registry.QueueFetch:
    queue = registry.queue(REFERRAL_REVIEW)
    return queue.fetch(scope_for(user, queue.perm), limit)


def _item(user, object_id) -> registry.WorkItem | None:
    queue = registry.queue(REFERRAL_REVIEW)
    return queue.item(scope_for(user, queue.perm), str(object_id))


@pytest.fixture
def reviews(world):
    world.eu_ib_manager = UserFactory(username="eu.ib")
    grant(world.eu_ib_manager, "ib_manager", entity=world.eu)
    world.uk_ib_manager = UserFactory(username="uk.ib")
    grant(world.uk_ib_manager, "ib_manager", entity=world.uk)
    world.old = _review(world.eu_brand, "partner-x")
    ReferralReview.objects.unscoped().filter(pk=world.old.pk).update(
        created_at=timezone.now() - timedelta(days=10)
    )
    world.old.refresh_from_db()
    world.new = _review(world.eu_brand, "summer-promo")
    world.uk_review = _review(world.uk_brand, "uk-typo")
    return world


def test_the_ib_manager_sees_its_entitys_reviews_oldest_first(reviews):
    world = reviews
    fetched = _fetch(world.eu_ib_manager)
    assert fetched.count == 2
    assert [(item.object_id, item.priority) for item in fetched.items] == [
        (str(world.old.pk), registry.PRIORITY_HIGH),  # waiting more than a week
        (str(world.new.pk), registry.PRIORITY_NORMAL),
    ]
    item = fetched.items[1]
    profile = world.new.profile
    assert item.title == (
        f"{profile.given_name} {profile.family_name}: "
        "referral code “summer-promo” attributed nobody"
    )
    assert item.detail == "unknown referral code"
    assert (item.entity_id, item.person_id) == (world.eu.pk, profile.person_id)
    assert item.opened_at == world.new.created_at
    assert item.due_at == world.new.created_at + timedelta(hours=72)  # the product default
    assert item.url == f"/admin/ib/referralreview/{world.new.pk}/change/"


def test_other_entities_support_and_oversight_see_none_of_them(reviews):
    world = reviews
    uk = _fetch(world.uk_ib_manager)
    assert [item.object_id for item in uk.items] == [str(world.uk_review.pk)]
    assert _item(world.uk_ib_manager, world.new.pk) is None
    assert _item(world.eu_ib_manager, world.uk_review.pk) is None
    for user in (world.eu_support, world.eu_compliance, world.group_compliance):
        assert REFERRAL_REVIEW not in {queue.key for queue in queues_for(user)}
    assert _fetch(world.superuser).count == 3


def test_a_decided_review_leaves_the_queue(reviews):
    world = reviews
    referral_review_resolve(
        actor=world.eu_ib_manager,
        review=world.new,
        decision="dismiss",
        reason="code from an expired promotion",
    )
    assert _item(world.eu_ib_manager, world.new.pk) is None
    assert _fetch(world.eu_ib_manager).count == 1


def test_due_times_follow_the_entitys_sla_rule_set(reviews):
    world = reviews
    ruleset_publish(
        actor=SYSTEM,
        entity=world.uk,
        kind="sla",
        document={"default_hours": 48, "hours": {REFERRAL_REVIEW: 24}},
        effective_from=timezone.now() - timedelta(minutes=1),
    )
    uk = _item(world.uk_ib_manager, world.uk_review.pk)
    assert uk.due_at == world.uk_review.created_at + timedelta(hours=24)
    eu = _item(world.eu_ib_manager, world.old.pk)
    assert eu.due_at == world.old.created_at + timedelta(hours=72)


@pytest.mark.parametrize("rows", [5, 30])
def test_fetching_takes_the_same_few_queries_whatever_the_number_of_reviews(
    world, rows, django_assert_max_num_queries
):
    manager = UserFactory(username="eu.ib")
    grant(manager, "ib_manager", entity=world.eu)
    profile = _client(world.eu_brand)
    ReferralReview.objects.bulk_create(
        ReferralReview(
            entity=world.eu, profile=profile, code_text=f"code-{n}", reason="referral_unknown"
        )
        for n in range(rows)
    )
    scope = scope_for(manager, "ib.change_referralreview")
    queue = registry.queue(REFERRAL_REVIEW)
    with django_assert_max_num_queries(3):
        fetched = queue.fetch(scope, 50)
    assert (fetched.count, len(fetched.items)) == (rows, rows)
    with django_assert_max_num_queries(1):
        assert queue.fetch(scope, 0) == registry.QueueFetch(rows, [])


def test_my_work_lists_the_reviews_for_the_ib_manager(reviews):
    world = reviews
    client = Client()
    client.force_login(world.eu_ib_manager)
    response = client.get("/admin/work/")
    assert response.status_code == 200
    page = response.content.decode()
    assert "referral code “summer-promo” attributed nobody" in page
    assert "uk-typo" not in page
