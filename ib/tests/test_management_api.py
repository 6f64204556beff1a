"""The IB manager's write surface through the API: every write goes through a service, is
audited, stays inside the manager's entity (another entity's rows answer 404), and bad input
is a 4xx with a code and writes nothing."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator
from decimal import Decimal
from typing import Any

import pytest
from rest_framework.test import APIClient

from audit.models import AuditEvent
from brokercrm.accounts.tests.factories import UserFactory, grant
from brokercrm.celery import app as celery_app
from brokercrm.gate import SYSTEM
from ib.models import (
    CommissionRun,
    IbAssignment,
    IbClosure,
    IbLink,
    IbPartner,
    IbProgramme,
    RebatePlan,
    RebatePlanVersion,
    RebateRate,
    ReferralCode,
    ReferralReview,
)
from ib.services import referral_attribute, referral_code_create
from ib.tests.factories import account_of, at, deal, ib_of, plan_of, round_trip, server_of
from ib.tests.test_commissions import START, attributed_client
from platforms.tests.factories import client_of

PERIOD = {"date_from": "2026-03-01T00:00:00Z", "date_to": "2026-04-01T00:00:00Z"}
JAN = "2026-01-01T00:00:00Z"


def api(user: Any = None) -> APIClient:
    client = APIClient()
    if user is not None:
        client.force_authenticate(user)
    return client


def snapshot() -> dict[str, int]:
    """Row counts of everything an IB manager's request could write."""
    return {
        "partners": IbPartner.objects.unscoped().count(),
        "closure": IbClosure.objects.unscoped().count(),
        "codes": ReferralCode.objects.unscoped().count(),
        "links": IbLink.objects.unscoped().count(),
        "assignments": IbAssignment.objects.unscoped().count(),
        "plans": RebatePlan.objects.unscoped().count(),
        "versions": RebatePlanVersion.objects.unscoped().count(),
        "rates": RebateRate.objects.unscoped().count(),
        "open_reviews": ReferralReview.objects.unscoped().filter(status="open").count(),
        "suspended": IbPartner.objects.unscoped().filter(status="suspended").count(),
        "runs": CommissionRun.objects.count(),
        "programmes": IbProgramme.objects.unscoped().count(),
        "audit": AuditEvent.objects.count(),
    }


def refused(response: Any, status: int, code: str) -> dict[str, Any]:
    assert response.status_code == status, response.content[:500]
    body = response.json()
    assert body["code"] == code, body
    assert body["detail"]
    return body


def audited(action: str, actor: Any) -> AuditEvent:
    event = AuditEvent.objects.filter(action=action).order_by("-seq").first()
    assert event is not None, action
    assert event.actor_id == actor.pk
    return event


@pytest.fixture
def eager_tasks() -> Iterator[None]:
    celery_app.conf.task_always_eager = True
    yield
    celery_app.conf.task_always_eager = False


@pytest.fixture
def managers(world):
    """IB managers of the EU and of the UK entity."""
    eu = UserFactory(username="ib.eu")
    grant(eu, "ib_manager", entity=world.eu)
    uk = UserFactory(username="ib.uk")
    grant(uk, "ib_manager", entity=world.uk)
    return eu, uk


@pytest.fixture
def finance(world):
    user = UserFactory(username="finance.eu")
    grant(user, "finance", entity=world.eu)
    return user


# --- IB partners --------------------------------------------------------------------------
def test_manager_makes_a_client_an_ib_of_their_entity_only(world, managers):
    eu_manager, uk_manager = managers
    plan = plan_of(world.eu)
    uk_plan = plan_of(world.uk)
    profile = client_of(world.eu_brand, approved=False)
    body = {"profile": profile.pk, "name": "Alpha Partners", "plan": plan.pk}

    # another entity's manager, staff without the role, oversight, anonymous: nothing written
    before = snapshot()
    refused(api(uk_manager).post("/api/v1/ib-partners", body, format="json"), 400, "invalid")
    refused(
        api(world.eu_support).post("/api/v1/ib-partners", body, format="json"),
        403,
        "permission_denied",
    )
    refused(
        api(world.group_compliance).post("/api/v1/ib-partners", body, format="json"),
        403,
        "permission_denied",
    )
    assert api().post("/api/v1/ib-partners", body, format="json").status_code == 401
    # bad input from the right manager
    for bad in (
        {**body, "profile": "abc"},
        {**body, "profile": 10**30},
        {**body, "profile": None},
        {**body, "profile": True},
        {**body, "plan": uk_plan.pk},  # another entity's plan is not there for them
        {**body, "name": "x" * 151},
        {"name": "no profile"},
    ):
        refused(api(eu_manager).post("/api/v1/ib-partners", bad, format="json"), 400, "invalid")
    assert snapshot() == before

    response = api(eu_manager).post("/api/v1/ib-partners", body, format="json")
    assert response.status_code == 201, response.content
    created = response.json()
    assert (created["entity"], created["profile"], created["name"], created["plan"]) == (
        world.eu.pk,
        profile.pk,
        "Alpha Partners",
        plan.pk,
    )
    assert created["status"] == "active"
    event = audited("ib.partner_create", eu_manager)
    assert (event.entity_id, event.object_id) == (world.eu.pk, str(created["id"]))

    # the same client twice; a superuser mixing entities
    before = snapshot()
    refused(api(eu_manager).post("/api/v1/ib-partners", body, format="json"), 400, "ib_exists")
    other = client_of(world.eu_brand, approved=False)
    before = snapshot()
    refused(
        api(world.superuser).post(
            "/api/v1/ib-partners", {"profile": other.pk, "plan": uk_plan.pk}, format="json"
        ),
        400,
        "plan_other_entity",
    )
    assert snapshot() == before
    assert api(uk_manager).get(f"/api/v1/ib-partners/{created['id']}").status_code == 404


def test_manager_changes_plan_and_suspends_with_audit(world, managers):
    eu_manager, uk_manager = managers
    old_plan, new_plan = plan_of(world.eu, name="Old"), plan_of(world.eu, name="New")
    ib = ib_of(world.eu_brand, old_plan)
    uk_plan = plan_of(world.uk)
    url = f"/api/v1/ib-partners/{ib.pk}"

    before = snapshot()
    refused(
        api(uk_manager).patch(url, {"status": "suspended", "reason": "x"}, format="json"),
        404,
        "not_found",
    )
    refused(
        api(world.group_compliance).patch(
            url, {"status": "suspended", "reason": "x"}, format="json"
        ),
        403,
        "permission_denied",
    )
    for bad in (
        {"status": "banned", "reason": "x"},
        {"status": "suspended"},
        {"status": "suspended", "reason": ""},
        {"plan": uk_plan.pk, "reason": "x"},
        {"plan": "1.5", "reason": "x"},
    ):
        refused(api(eu_manager).patch(url, bad, format="json"), 400, "invalid")
    refused(api(eu_manager).patch(url, {"reason": "nothing"}, format="json"), 400, "no_change")
    assert api(eu_manager).put(url, {"reason": "x"}, format="json").status_code == 405
    assert snapshot() == before

    response = api(eu_manager).patch(
        url, {"plan": new_plan.pk, "status": "suspended", "reason": "fraud check"}, format="json"
    )
    assert response.status_code == 200, response.content
    assert (response.json()["plan"], response.json()["status"]) == (new_plan.pk, "suspended")
    event = audited("ib.partner_update", eu_manager)
    assert event.before == {"plan": old_plan.pk, "status": "active"}
    assert event.after == {
        "plan": new_plan.pk,
        "status": "suspended",
        "plan_from": event.after["plan_from"],
    }
    assert event.reason == "fraud check"
    # the new plan is in force from the change on; the old one keeps the deals before it
    periods = list(ib.plan_periods.unscoped().order_by("valid_from"))
    assert [(p.plan_id, p.valid_to is None) for p in periods] == [
        (old_plan.pk, False),
        (new_plan.pk, True),
    ]
    assert periods[0].valid_to == periods[1].valid_from

    # a suspended IB gains no clients and no codes
    profile = client_of(world.eu_brand, approved=False)
    before = snapshot()
    refused(
        api(eu_manager).post(
            "/api/v1/ib-assignments",
            {"profile": profile.pk, "ib": ib.pk, "valid_from": JAN, "reason": "asked"},
            format="json",
        ),
        400,
        "ib_suspended",
    )
    refused(
        api(eu_manager).post(
            f"{url}/referral-codes", {"brand": world.eu_brand.pk, "code": "late"}, format="json"
        ),
        400,
        "ib_suspended",
    )
    assert snapshot() == before

    response = api(eu_manager).patch(
        url, {"plan": None, "status": "active", "reason": "cleared"}, format="json"
    )
    assert response.status_code == 200, response.content
    assert (response.json()["plan"], response.json()["status"]) == (None, "active")


def test_a_suspended_ibs_code_goes_to_review(world):
    from ib.services import ib_partner_update

    ib = ib_of(world.eu_brand, plan_of(world.eu))
    code = referral_code_create(actor=SYSTEM, ib=ib, brand=world.eu_brand, code="paused-ib")
    ib_partner_update(actor=SYSTEM, ib=ib, status="suspended", reason="paused")
    profile = client_of(world.eu_brand, approved=False)
    assert referral_attribute(profile=profile, code=code.code) is None
    review = ReferralReview.objects.unscoped().get(profile=profile)
    assert (review.reason, review.status) == ("referral_ib_suspended", "open")
    assert not IbAssignment.objects.unscoped().filter(profile=profile).exists()


# --- referral codes and hierarchy ---------------------------------------------------------
def test_referral_codes_of_an_ib(world, managers):
    eu_manager, uk_manager = managers
    ib = ib_of(world.eu_brand, plan_of(world.eu))
    url = f"/api/v1/ib-partners/{ib.pk}/referral-codes"
    body = {"brand": world.eu_brand.pk, "code": "alpha-2026"}

    before = snapshot()
    refused(api(uk_manager).post(url, body, format="json"), 404, "not_found")
    refused(api(uk_manager).get(url), 404, "not_found")
    refused(api(world.eu_support).post(url, body, format="json"), 404, "not_found")
    for bad in (
        {**body, "brand": world.uk_brand.pk},
        {**body, "brand": "eu-brand"},
        {**body, "code": "not a slug!"},
        {**body, "code": "x" * 41},
        {"brand": world.eu_brand.pk},
    ):
        refused(api(eu_manager).post(url, bad, format="json"), 400, "invalid")
    refused(
        api(world.superuser).post(url, {**body, "brand": world.uk_brand.pk}, format="json"),
        400,
        "brand_other_entity",
    )
    assert snapshot() == before

    response = api(eu_manager).post(url, body, format="json")
    assert response.status_code == 201, response.content
    assert (response.json()["code"], response.json()["ib"]) == ("alpha-2026", ib.pk)
    assert response.json()["link"] == f"https://{world.eu_brand.domain}/register?ref=alpha-2026"
    audited("ib.code_create", eu_manager)
    before = snapshot()
    refused(api(eu_manager).post(url, body, format="json"), 400, "referral_code_taken")
    assert snapshot() == before
    listed = api(eu_manager).get(url)
    assert [row["code"] for row in listed.json()] == ["alpha-2026"]
    refused(api(eu_manager).get("/api/v1/ib-partners/abc/referral-codes"), 404, "not_found")


def test_parent_set_through_the_api(world, managers):
    eu_manager, uk_manager = managers
    plan = plan_of(world.eu)
    child, parent = ib_of(world.eu_brand, plan), ib_of(world.eu_brand, plan)
    uk_ib = ib_of(world.uk_brand, plan_of(world.uk))
    url = f"/api/v1/ib-partners/{child.pk}/parent"

    before = snapshot()
    refused(
        api(uk_manager).post(url, {"parent": parent.pk, "valid_from": JAN}, format="json"),
        404,
        "not_found",
    )
    refused(
        api(world.group_compliance).post(
            url, {"parent": parent.pk, "valid_from": JAN}, format="json"
        ),
        403,
        "permission_denied",
    )
    for bad in (
        {"parent": uk_ib.pk, "valid_from": JAN},
        {"parent": parent.pk, "valid_from": "soon"},
        {"parent": parent.pk},
        {"valid_from": JAN},
    ):
        refused(api(eu_manager).post(url, bad, format="json"), 400, "invalid")
    refused(
        api(eu_manager).post(url, {"parent": child.pk, "valid_from": JAN}, format="json"),
        400,
        "hierarchy_cycle",
    )
    assert snapshot() == before

    response = api(eu_manager).post(url, {"parent": parent.pk, "valid_from": JAN}, format="json")
    assert response.status_code == 201, response.content
    assert (response.json()["ib"], response.json()["parent"]) == (child.pk, parent.pk)
    assert audited("ib.parent_set", eu_manager).entity_id == world.eu.pk
    before = snapshot()
    # the parent under its own child: a cycle; a change dated before the current link
    refused(
        api(eu_manager).post(
            f"/api/v1/ib-partners/{parent.pk}/parent",
            {"parent": child.pk, "valid_from": "2026-02-01T00:00:00Z"},
            format="json",
        ),
        400,
        "hierarchy_cycle",
    )
    refused(
        api(eu_manager).post(
            url, {"parent": None, "valid_from": "2025-12-01T00:00:00Z"}, format="json"
        ),
        400,
        "date_invalid",
    )
    assert snapshot() == before
    response = api(eu_manager).post(
        url, {"parent": None, "valid_from": "2026-02-01T00:00:00Z"}, format="json"
    )
    assert response.status_code == 201
    assert response.json()["parent"] is None


# --- attribution --------------------------------------------------------------------------
def test_reattribution_by_the_entitys_manager_is_audited(world, managers):
    eu_manager, uk_manager = managers
    plan = plan_of(world.eu)
    old, new = ib_of(world.eu_brand, plan), ib_of(world.eu_brand, plan)
    uk_ib = ib_of(world.uk_brand, plan_of(world.uk))
    profile = attributed_client(old, world.eu_brand)
    body = {
        "profile": profile.pk,
        "ib": new.pk,
        "valid_from": "2026-03-15T00:00:00Z",
        "reason": "client asked",
    }

    before = snapshot()
    refused(api(uk_manager).post("/api/v1/ib-assignments", body, format="json"), 400, "invalid")
    refused(
        api(world.eu_support).post("/api/v1/ib-assignments", body, format="json"),
        403,
        "permission_denied",
    )
    for bad in (
        {**body, "reason": ""},
        {**body, "ib": uk_ib.pk},
        {**body, "valid_from": "2026-13-01"},
        {**body, "profile": -1},
    ):
        refused(api(eu_manager).post("/api/v1/ib-assignments", bad, format="json"), 400, "invalid")
    refused(
        api(eu_manager).post(
            "/api/v1/ib-assignments", {**body, "valid_from": "2025-06-01T00:00:00Z"}, format="json"
        ),
        400,
        "date_invalid",
    )
    # a superuser who sees both entities still cannot attribute across them
    refused(
        api(world.superuser).post(
            "/api/v1/ib-assignments", {**body, "ib": uk_ib.pk}, format="json"
        ),
        404,
        "not_found",
    )
    assert snapshot() == before

    response = api(eu_manager).post("/api/v1/ib-assignments", body, format="json")
    assert response.status_code == 201, response.content
    assert (response.json()["ib"], response.json()["source"]) == (new.pk, "manager")
    event = audited("ib.reattribute", eu_manager)
    assert (event.entity_id, event.reason, event.before["ib"]) == (
        world.eu.pk,
        "client asked",
        old.pk,
    )

    rows = api(eu_manager).get("/api/v1/ib-assignments", {"profile": profile.pk}).json()["results"]
    assert [(row["ib"], row["valid_to"]) for row in rows] == [
        (old.pk, "2026-03-15T00:00:00Z"),
        (new.pk, None),
    ]
    assert api(eu_manager).get("/api/v1/ib-assignments", {"profile": "x"}).json()["results"] == []
    assert api(uk_manager).get("/api/v1/ib-assignments").json()["results"] == []
    refused(api(uk_manager).get(f"/api/v1/ib-assignments/{rows[0]['id']}"), 404, "not_found")


# --- rebate plans -------------------------------------------------------------------------
VERSION = {
    "valid_from": "2020-01-01T00:00:00Z",
    "rates": [
        {"basis": "per_lot", "symbols": ["EURUSD"], "amount_per_lot": "10"},
        {"basis": "commission_share", "symbols": ["XAUUSD"], "share_percent": "50"},
    ],
    "tier_split": ["80", "20"],
    "per_trade_ceiling": None,
    "min_holding_seconds": 60,
}


def test_plans_and_versions(world, managers):
    eu_manager, uk_manager = managers
    before = snapshot()
    refused(
        api(world.eu_support).post(
            "/api/v1/rebate-plans", {"name": "Gold", "currency": "USD"}, format="json"
        ),
        403,
        "permission_denied",
    )
    refused(
        api(eu_manager).post(
            "/api/v1/rebate-plans", {"name": "Gold", "currency": "JPY"}, format="json"
        ),
        400,
        "currency_not_offered",
    )
    refused(
        api(eu_manager).post(
            "/api/v1/rebate-plans", {"name": "Gold", "currency": "XXX"}, format="json"
        ),
        400,
        "invalid",
    )
    refused(
        api(eu_manager).post(
            "/api/v1/rebate-plans", {"name": "", "currency": "USD"}, format="json"
        ),
        400,
        "invalid",
    )
    refused(
        api(eu_manager).post(
            "/api/v1/rebate-plans",
            {"entity": world.uk.pk, "name": "Gold", "currency": "USD"},
            format="json",
        ),
        400,
        "invalid",
    )
    refused(
        api(world.superuser).post(
            "/api/v1/rebate-plans", {"name": "Gold", "currency": "USD"}, format="json"
        ),
        400,
        "entity_required",
    )
    assert snapshot() == before

    response = api(eu_manager).post(
        "/api/v1/rebate-plans", {"name": "Gold", "currency": "USD"}, format="json"
    )
    assert response.status_code == 201, response.content
    plan = response.json()
    assert plan["entity"] == world.eu.pk
    audited("ib.plan_create", eu_manager)
    refused(
        api(eu_manager).post(
            "/api/v1/rebate-plans", {"name": "Gold", "currency": "USD"}, format="json"
        ),
        400,
        "plan_name_taken",
    )
    assert [
        row["name"] for row in api(uk_manager).get("/api/v1/rebate-plans").json()["results"]
    ] == []

    url = f"/api/v1/rebate-plans/{plan['id']}/versions"
    uk_server = server_of(world.uk)
    before = snapshot()
    refused(api(uk_manager).post(url, VERSION, format="json"), 404, "not_found")
    refused(api(uk_manager).get(url), 404, "not_found")
    per_lot, share = VERSION["rates"]
    for bad, code in (
        ({"tier_split": [80, 20.5]}, "invalid"),  # a float
        ({"tier_split": ["80", "30"]}, "tier_split_invalid"),  # over 100
        ({"tier_split": []}, "invalid"),
        ({"tier_split": ["-1"]}, "invalid"),
        ({"tier_split": ["NaN"]}, "invalid"),
        ({"rates": []}, "invalid"),
        ({"rates": [{**per_lot, "amount_per_lot": 10.1}]}, "invalid"),
        ({"rates": [{**share, "share_percent": "101"}]}, "invalid"),
        ({"rates": [{"basis": "per_lot"}]}, "rate_invalid"),
        ({"rates": [{**per_lot, "basis": "bonus"}]}, "invalid"),
        ({"rates": [{**per_lot, "server": uk_server.pk}]}, "invalid"),
        ({"rates": [{**per_lot, "symbols": "EURUSD"}]}, "invalid"),
        ({"per_trade_ceiling": 5.5}, "invalid"),
        ({"per_trade_ceiling": "-1"}, "invalid"),
        ({"min_holding_seconds": -1}, "invalid"),
        ({"valid_from": None}, "invalid"),
    ):
        refused(api(eu_manager).post(url, {**VERSION, **bad}, format="json"), 400, code)
    assert snapshot() == before

    response = api(eu_manager).post(url, VERSION, format="json")
    assert response.status_code == 201, response.content
    version = response.json()
    assert (version["number"], version["tier_split"]) == (1, ["80.0000", "20.0000"])
    assert [
        (rate["basis"], rate["amount_per_lot"], rate["share_percent"]) for rate in version["rates"]
    ] == [
        ("per_lot", "10.00000000", None),
        ("commission_share", None, "50.0000"),
    ]
    audited("ib.plan_publish", eu_manager)
    refused(api(eu_manager).post(url, VERSION, format="json"), 400, "date_invalid")
    listed = api(eu_manager).get(url).json()
    assert [row["id"] for row in listed] == [version["id"]]
    assert len(listed[0]["rates"]) == 2
    by_plan = api(eu_manager).get("/api/v1/rebate-plan-versions", {"plan": plan["id"]}).json()
    assert [row["id"] for row in by_plan["results"]] == [version["id"]]
    assert api(uk_manager).get("/api/v1/rebate-plan-versions").json()["results"] == []


def test_correcting_a_version(world, managers):
    eu_manager, uk_manager = managers
    plan = plan_of(world.eu)
    version = RebatePlanVersion.objects.unscoped().get(plan=plan)
    url = f"/api/v1/rebate-plan-versions/{version.pk}/correct"
    body = {
        "rates": [{"basis": "per_lot", "amount_per_lot": "12"}],
        "tier_split": ["100"],
        "reason": "rate typo",
    }
    before = snapshot()
    refused(api(uk_manager).post(url, body, format="json"), 404, "not_found")
    refused(api(world.group_compliance).post(url, body, format="json"), 403, "permission_denied")
    refused(api(eu_manager).post(url, {**body, "reason": ""}, format="json"), 400, "invalid")
    refused(
        api(eu_manager).post(url, {**body, "tier_split": ["60", "50"]}, format="json"),
        400,
        "tier_split_invalid",
    )
    assert snapshot() == before

    response = api(eu_manager).post(url, body, format="json")
    assert response.status_code == 201, response.content
    assert (response.json()["corrects"], response.json()["number"]) == (version.pk, 2)
    event = audited("ib.plan_correct", eu_manager)
    assert event.reason == "rate typo"
    assert (
        api(eu_manager).get(f"/api/v1/rebate-plan-versions/{version.pk}").json()["corrected_by"]
        == response.json()["id"]
    )
    before = snapshot()
    refused(api(eu_manager).post(url, body, format="json"), 400, "version_corrected")
    assert snapshot() == before


# --- referral reviews ---------------------------------------------------------------------
def test_referral_reviews_are_decided_once(world, managers):
    eu_manager, uk_manager = managers
    eu_ib = ib_of(world.eu_brand, plan_of(world.eu))
    uk_ib = ib_of(world.uk_brand, plan_of(world.uk))
    referral_code_create(actor=SYSTEM, ib=uk_ib, brand=world.uk_brand, code="uk-partner")
    lost, wrong_entity = (
        client_of(world.eu_brand, approved=False),
        client_of(world.eu_brand, approved=False),
    )
    referral_attribute(profile=lost, code="no-such-code")
    referral_attribute(profile=wrong_entity, code="uk-partner")
    uk_review_profile = client_of(world.uk_brand, approved=False)
    referral_attribute(profile=uk_review_profile, code="nothing-here")
    lost_review = ReferralReview.objects.unscoped().get(profile=lost)
    wrong_review = ReferralReview.objects.unscoped().get(profile=wrong_entity)
    uk_review = ReferralReview.objects.unscoped().get(profile=uk_review_profile)

    listed = api(eu_manager).get("/api/v1/referral-reviews", {"status": "open"}).json()["results"]
    assert sorted(row["id"] for row in listed) == sorted([lost_review.pk, wrong_review.pk])
    assert [
        row["id"] for row in api(uk_manager).get("/api/v1/referral-reviews").json()["results"]
    ] == [uk_review.pk]

    url = f"/api/v1/referral-reviews/{wrong_review.pk}/resolve"
    attribute = {
        "decision": "attribute",
        "ib": eu_ib.pk,
        "valid_from": JAN,
        "reason": "client named the EU IB",
    }
    before = snapshot()
    refused(api(uk_manager).post(url, attribute, format="json"), 404, "not_found")
    refused(
        api(world.group_compliance).post(url, attribute, format="json"), 403, "permission_denied"
    )
    for bad in (
        {**attribute, "decision": "approve"},
        {**attribute, "ib": uk_ib.pk},
        {**attribute, "reason": ""},
        {**attribute, "ib": "abc"},
    ):
        refused(api(eu_manager).post(url, bad, format="json"), 400, "invalid")
    refused(api(eu_manager).post(url, {**attribute, "ib": None}, format="json"), 400, "ib_required")
    refused(
        api(eu_manager).post(url, {**attribute, "valid_from": None}, format="json"),
        400,
        "ib_required",
    )
    refused(
        api(world.superuser).post(url, {**attribute, "ib": uk_ib.pk}, format="json"),
        400,
        "ib_other_entity",
    )
    assert snapshot() == before

    response = api(eu_manager).post(url, attribute, format="json")
    assert response.status_code == 200, response.content
    decided = response.json()
    assert (decided["status"], decided["decided_by"], decided["decision_reason"]) == (
        "attributed",
        eu_manager.pk,
        "client named the EU IB",
    )
    assignment = IbAssignment.objects.unscoped().get(profile=wrong_entity)
    assert (assignment.ib_id, assignment.source, decided["assignment"]) == (
        eu_ib.pk,
        "manager",
        assignment.pk,
    )
    assert audited("ib.reattribute", eu_manager).reason == "client named the EU IB"
    assert audited("ib.referral_review_resolve", eu_manager).entity_id == world.eu.pk

    before = snapshot()
    refused(api(eu_manager).post(url, attribute, format="json"), 409, "review_decided")
    refused(
        api(eu_manager).post(url, {"decision": "dismiss", "reason": "again"}, format="json"),
        409,
        "review_decided",
    )
    assert snapshot() == before

    dismissed = api(eu_manager).post(
        f"/api/v1/referral-reviews/{lost_review.pk}/resolve",
        {"decision": "dismiss", "reason": "typo of nobody's code"},
        format="json",
    )
    assert dismissed.status_code == 200, dismissed.content
    assert (dismissed.json()["status"], dismissed.json()["assignment"]) == ("dismissed", None)
    assert not IbAssignment.objects.unscoped().filter(profile=lost).exists()
    assert (
        api(eu_manager).get("/api/v1/referral-reviews", {"status": "open"}).json()["results"] == []
    )


# --- commission runs ----------------------------------------------------------------------
def test_commission_runs_are_queued_by_whoever_may_run_them(
    world, managers, finance, django_capture_on_commit_callbacks
):
    eu_manager, uk_manager = managers
    before = snapshot()
    with django_capture_on_commit_callbacks() as queued:
        refused(api(world.eu_support).post("/api/v1/commission-runs"), 403, "permission_denied")
        refused(
            api(world.group_compliance).post("/api/v1/commission-runs"), 403, "permission_denied"
        )
        assert api().post("/api/v1/commission-runs").status_code == 401
    assert queued == []
    assert snapshot() == before
    refused(api(world.eu_support).get("/api/v1/commission-runs"), 403, "permission_denied")

    for user in (finance, uk_manager):
        with django_capture_on_commit_callbacks() as queued:
            response = api(user).post("/api/v1/commission-runs")
        assert response.status_code == 202, response.content
        assert response.json() == {"status": "queued"}
        assert len(queued) == 1
        event = audited("ib.commission_run_request", user)
        assert event.entity_id is None
    assert CommissionRun.objects.count() == 0  # queued, not run: the callbacks did not run

    run = CommissionRun.objects.create()
    for user in (eu_manager, uk_manager, finance, world.group_compliance):
        rows = api(user).get("/api/v1/commission-runs").json()["results"]
        assert [row["id"] for row in rows] == [run.pk], user
    assert api(eu_manager).get(f"/api/v1/commission-runs/{run.pk}").json()["id"] == run.pk
    assert api(eu_manager).get("/api/v1/commission-runs/abc").status_code == 404


# --- end to end ---------------------------------------------------------------------------
def test_end_to_end_plan_ibs_hierarchy_attribution_run_and_statement(
    world, managers, eager_tasks, django_capture_on_commit_callbacks
):
    eu_manager, uk_manager = managers
    manager = api(eu_manager)

    def ok(response: Any, status: int = 201) -> dict[str, Any]:
        assert response.status_code == status, response.content
        return response.json()

    plan = ok(
        manager.post("/api/v1/rebate-plans", {"name": "Gold", "currency": "USD"}, format="json")
    )
    ok(manager.post(f"/api/v1/rebate-plans/{plan['id']}/versions", VERSION, format="json"))
    child_profile = client_of(world.eu_brand, approved=False)
    parent_profile = client_of(world.eu_brand, approved=False)
    parent = ok(
        manager.post(
            "/api/v1/ib-partners",
            {"profile": parent_profile.pk, "name": "Parent", "plan": plan["id"]},
            format="json",
        )
    )
    child = ok(
        manager.post(
            "/api/v1/ib-partners",
            {"profile": child_profile.pk, "name": "Child", "plan": plan["id"]},
            format="json",
        )
    )
    ok(
        manager.post(
            f"/api/v1/ib-partners/{child['id']}/parent",
            {"parent": parent["id"], "valid_from": JAN},
            format="json",
        )
    )
    ok(
        manager.post(
            f"/api/v1/ib-partners/{child['id']}/referral-codes",
            {"brand": world.eu_brand.pk, "code": "child-2026"},
            format="json",
        )
    )
    # one client registers with the code, the manager attributes another by hand
    referred = client_of(world.eu_brand, approved=False)
    assert referral_attribute(profile=referred, code="child-2026", at=START) is not None
    walked_in = client_of(world.eu_brand, approved=False)
    ok(
        manager.post(
            "/api/v1/ib-assignments",
            {"profile": walked_in.pk, "ib": child["id"], "valid_from": JAN, "reason": "walked in"},
            format="json",
        )
    )
    # a 2-lot EURUSD trade (10/lot) and an XAUUSD trade with 6 of client commission (50%)
    round_trip(account_of(referred), opened=at(5), volume="2")
    gold = account_of(walked_in)
    deal(gold, entry="in", time=at(6), position=777001, symbol="XAUUSD", commission="-3")
    deal(gold, entry="out", time=at(7), position=777001, symbol="XAUUSD", commission="-3")

    with django_capture_on_commit_callbacks(execute=True):
        ok(manager.post("/api/v1/commission-runs"), 202)

    runs = ok(manager.get("/api/v1/commission-runs"), 200)["results"]
    assert [(run["lines_created"], run["payouts"], run["payout_total"]) for run in runs] == [
        (4, 2, "23.00000000")
    ]
    child_statement = ok(manager.get(f"/api/v1/ib-partners/{child['id']}/statement", PERIOD), 200)
    assert sorted(
        (row["symbol"], row["tier"], row["amount"]) for row in child_statement["lines"]
    ) == [
        ("EURUSD", 0, "16.00000000"),
        ("XAUUSD", 0, "2.40000000"),
    ]
    assert child_statement["totals"]["paid"] == "18.40000000"
    assert Decimal(child_statement["totals"]["ledger"]) == Decimal("18.40")
    parent_statement = ok(manager.get(f"/api/v1/ib-partners/{parent['id']}/statement", PERIOD), 200)
    assert sorted(
        (row["symbol"], row["tier"], row["amount"]) for row in parent_statement["lines"]
    ) == [
        ("EURUSD", 1, "4.00000000"),
        ("XAUUSD", 1, "0.60000000"),
    ]
    assert parent_statement["totals"]["paid"] == "4.60000000"
    # the other entity's manager sees none of it
    assert (
        api(uk_manager).get(f"/api/v1/ib-partners/{child['id']}/statement", PERIOD).status_code
        == 404
    )
    assert api(uk_manager).get("/api/v1/commission-lines").json()["results"] == []
    # a second request finds nothing new
    with django_capture_on_commit_callbacks(execute=True):
        ok(manager.post("/api/v1/commission-runs"), 202)
    assert CommissionRun.objects.order_by("-pk").first().lines_created == 0
    assert (
        dt.timedelta(0)
        <= CommissionRun.objects.order_by("-pk").first().finished_at
        - CommissionRun.objects.order_by("-pk").first().started_at
    )


# --- malformed requests -------------------------------------------------------------------
WRITE_PATHS = [
    "/api/v1/ib-partners",
    "/api/v1/ib-partners/{ib}/referral-codes",
    "/api/v1/ib-partners/{ib}/parent",
    "/api/v1/ib-assignments",
    "/api/v1/rebate-plans",
    "/api/v1/rebate-plans/{plan}/versions",
    "/api/v1/rebate-plan-versions/{version}/correct",
    "/api/v1/referral-reviews/{review}/resolve",
]


@pytest.mark.parametrize("path", WRITE_PATHS)
@pytest.mark.parametrize(
    "body",
    [b"[1, 2]", b'"text"', b"{}", b'{"rates": {"a": 1}, "tier_split": "100"}', b"{"],
)
def test_malformed_bodies_are_4xx_with_a_code_and_write_nothing(world, managers, path, body):
    eu_manager, _ = managers
    plan = plan_of(world.eu)
    ib = ib_of(world.eu_brand, plan)
    profile = client_of(world.eu_brand, approved=False)
    referral_attribute(profile=profile, code="nobody")
    ids = {
        "ib": ib.pk,
        "plan": plan.pk,
        "version": RebatePlanVersion.objects.unscoped().get(plan=plan).pk,
        "review": ReferralReview.objects.unscoped().get(profile=profile).pk,
    }
    before = snapshot()
    response = api(eu_manager).generic(
        "POST", path.format(**ids), body, content_type="application/json"
    )
    assert 400 <= response.status_code < 500, response.content[:300]
    assert response.json()["code"] in ("invalid", "parse_error", "rates_required")
    assert snapshot() == before


@pytest.mark.parametrize(
    "path",
    [
        "/api/v1/ib-partners/abc",
        "/api/v1/ib-partners/99999999999999999999/parent",
        "/api/v1/ib-partners/-1/referral-codes",
        "/api/v1/rebate-plans/1.5/versions",
        "/api/v1/rebate-plan-versions/999999999999999999/correct",
        "/api/v1/referral-reviews/0x10/resolve",
        "/api/v1/ib-assignments/999999999999999999",
    ],
)
def test_odd_ids_are_404(world, managers, path):
    eu_manager, _ = managers
    response = api(eu_manager).post(path, {}, format="json")
    assert response.status_code in (404, 405), response.content[:300]
    response = api(eu_manager).get(path)
    assert response.status_code in (404, 405)
    assert response.json()["code"] in ("not_found", "method_not_allowed")


def test_dates_out_of_range_are_refused(world, managers):
    eu_manager, _ = managers
    ib = ib_of(world.eu_brand, plan_of(world.eu))
    before = snapshot()
    for valid_from in ("0001-01-01T00:00:00+05:00", "10000-01-01T00:00:00Z", 20260101):
        response = api(eu_manager).post(
            f"/api/v1/ib-partners/{ib.pk}/parent",
            {"parent": None, "valid_from": valid_from},
            format="json",
        )
        refused(response, 400, "invalid")
    assert snapshot() == before


@pytest.mark.parametrize(
    ("terms", "code"),
    [
        ({"tier_split": ["1e30"]}, "tier_split_invalid"),
        ({"tier_split": ["abc"]}, "tier_split_invalid"),
        ({"tier_split": [70.5]}, "tier_split_invalid"),
        ({"tier_split": ["33.33333"]}, "tier_split_invalid"),
        ({"tier_split": "100"}, "tier_split_invalid"),
        ({"rates": [{"amount_per_lot": "1", "symbols": "EURUSD"}]}, "rate_invalid"),
        ({"rates": [{"amount_per_lot": "1", "server_id": "1"}]}, "rate_invalid"),
        ({"rates": [{"amount_per_lot": "1", "server_id": 10**12}]}, "rate_invalid"),
        ({"rates": ["per_lot"]}, "rate_invalid"),
        ({"per_trade_ceiling": 1.5}, "rate_invalid"),
        ({"min_holding_seconds": "60"}, "invalid"),
    ],
)
def test_publish_service_refuses_bad_terms_with_a_code(world, terms, code):
    from brokercrm.errors import ValidationFailed
    from ib.services import rebate_plan_publish

    plan = plan_of(world.eu)
    before = snapshot()
    arguments = {
        "valid_from": dt.datetime(2026, 6, 1, tzinfo=dt.UTC),
        "rates": [{"amount_per_lot": "1"}],
        "tier_split": [100],
        **terms,
    }
    with pytest.raises(ValidationFailed) as refused_with:
        rebate_plan_publish(actor=SYSTEM, plan=plan, **arguments)
    assert refused_with.value.code == code
    assert snapshot() == before


def test_programme_depth_changes_from_now_on_in_the_managers_entity_only(world, managers):
    eu_manager, uk_manager = managers
    url = "/api/v1/ib-programmes"
    before = snapshot()
    refused(
        api(world.eu_support).post(url, {"max_depth": 2, "reason": "x"}, format="json"),
        403,
        "permission_denied",
    )
    for bad in (
        {"max_depth": 0, "reason": "x"},
        {"max_depth": 11, "reason": "x"},
        {"max_depth": "two", "reason": "x"},
        {"max_depth": 2},
        {"max_depth": 2, "reason": "x", "entity": world.uk.pk},
    ):
        refused(api(eu_manager).post(url, bad, format="json"), 400, "invalid")
    refused(
        api(eu_manager).post(
            url, {"max_depth": 2, "reason": "x", "valid_from": JAN}, format="json"
        ),
        400,
        "date_invalid",
    )
    refused(
        api(world.superuser).post(url, {"max_depth": 2, "reason": "x"}, format="json"),
        400,
        "entity_required",
    )
    assert snapshot() == before

    response = api(eu_manager).post(url, {"max_depth": 2, "reason": "Two tiers"}, format="json")
    assert response.status_code == 201, response.content
    assert (response.json()["entity"], response.json()["max_depth"]) == (world.eu.pk, 2)
    assert audited("ib.programme_set", eu_manager).after["max_depth"] == 2
    second = api(eu_manager).post(url, {"max_depth": 4, "reason": "Four"}, format="json")
    assert second.status_code == 201, second.content
    listed = api(eu_manager).get(url).json()["results"]
    assert [(row["max_depth"], row["valid_to"] is None) for row in listed] == [
        (2, False),
        (4, True),
    ]
    assert api(uk_manager).get(url).json()["results"] == []
