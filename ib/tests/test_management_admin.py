"""Admin actions of the IB manager: they call the services (scoped, audited), and a row the
staff member cannot see is not acted on."""

from __future__ import annotations

import pytest
from django.test import Client

from audit.models import AuditEvent
from brokercrm.accounts.tests.factories import UserFactory, grant
from ib.models import IbPartner, ReferralReview
from ib.services import referral_attribute
from ib.tests.factories import ib_of, plan_of
from platforms.tests.factories import client_of


@pytest.fixture
def managers(world):
    eu = UserFactory(username="ib.eu")
    grant(eu, "ib_manager", entity=world.eu)
    uk = UserFactory(username="ib.uk")
    grant(uk, "ib_manager", entity=world.uk)
    return eu, uk


def logged_in(user) -> Client:
    client = Client()
    client.force_login(user)
    return client


def act(user, model: str, action: str, pks: list[int]):
    return logged_in(user).post(
        f"/admin/ib/{model}/", {"action": action, "_selected_action": pks}, follow=True
    )


def test_suspend_and_reactivate_from_the_ib_list(world, managers):
    eu_manager, uk_manager = managers
    ib = ib_of(world.eu_brand, plan_of(world.eu))
    events = AuditEvent.objects.count()

    # the other entity's manager: the row is not in their list, nothing happens
    assert act(uk_manager, "ibpartner", "suspend", [ib.pk]).status_code == 200
    assert IbPartner.objects.unscoped().get(pk=ib.pk).status == "active"
    # compliance may not even open the list
    assert act(world.eu_compliance, "ibpartner", "suspend", [ib.pk]).status_code == 403
    assert AuditEvent.objects.count() == events

    response = act(eu_manager, "ibpartner", "suspend", [ib.pk])
    assert response.status_code == 200
    assert b"1 suspended." in response.content
    assert IbPartner.objects.unscoped().get(pk=ib.pk).status == "suspended"
    event = AuditEvent.objects.get(action="ib.partner_update")
    assert (event.actor, event.after["status"]) == (eu_manager, "suspended")

    # suspending again is refused with its code, shown as a message
    response = act(eu_manager, "ibpartner", "suspend", [ib.pk])
    assert b"no_change" in response.content
    act(eu_manager, "ibpartner", "reactivate", [ib.pk])
    assert IbPartner.objects.unscoped().get(pk=ib.pk).status == "active"


def test_dismiss_referral_reviews_from_the_list(world, managers):
    eu_manager, uk_manager = managers
    profile = client_of(world.eu_brand, approved=False)
    referral_attribute(profile=profile, code="unknown-code")
    review = ReferralReview.objects.unscoped().get(profile=profile)

    act(uk_manager, "referralreview", "dismiss", [review.pk])
    assert ReferralReview.objects.unscoped().get(pk=review.pk).status == "open"

    response = act(eu_manager, "referralreview", "dismiss", [review.pk])
    assert b"1 dismissed." in response.content
    review.refresh_from_db()
    assert (review.status, review.decided_by, review.decision_reason) == (
        "dismissed",
        eu_manager,
        "dismissed in the back office",
    )
    assert b"review_decided" in act(eu_manager, "referralreview", "dismiss", [review.pk]).content


def test_queue_a_commission_run_from_the_run_list(world, django_capture_on_commit_callbacks):
    from ib.models import CommissionRun

    run = CommissionRun.objects.create()
    with django_capture_on_commit_callbacks() as queued:
        response = act(world.superuser, "commissionrun", "queue_run", [run.pk])
    assert b"A commission run is queued." in response.content
    assert len(queued) == 1
    assert AuditEvent.objects.get(action="ib.commission_run_request").actor == world.superuser
