"""An IB's referral links and referred clients through its client login: its own, masked,
never another entity's facts; a client that is no IB gets 404 `not_an_ib`."""

from __future__ import annotations

import datetime as dt

import pytest
from django.db import transaction
from rest_framework.test import APIClient

from audit.models import AuditEvent
from brokercrm.events.bus import announce
from brokercrm.gate import SYSTEM
from entities.tests.factories import BrandFactory
from ib.models import IbPartner, ReferralCode
from ib.services import (
    ib_partner_update,
    ib_reattribute,
    referral_attribute,
    referral_code_create,
)
from ib.services.partners import CLIENT_CODE_LIMIT
from ib.tests.factories import ib_of
from ib.tests.test_self_service import logged_in
from payments.events import DEPOSIT_CREDITED
from platforms.tests.factories import client_of

LINKS = "/api/v1/me/ib/referral-links"
CLIENTS = "/api/v1/me/ib/clients"
T0 = dt.datetime(2026, 3, 2, 9, 0, tzinfo=dt.UTC)


def deposit_credited(profile, *, entity=None):
    with transaction.atomic():
        announce(
            DEPOSIT_CREDITED,
            entity=entity or profile.entity_id,
            profile=profile.pk,
            payload={"amount": "100", "currency": "EUR"},
        )


@pytest.fixture
def business(world):
    """An EU IB with one code: two clients through it (one funded), one moved to another IB."""
    second_brand = BrandFactory(entity=world.eu, code="eu-second", domain="second.example.eu")
    mine, other = ib_of(world.eu_brand, name="Mine"), ib_of(world.eu_brand, name="Other")
    code = referral_code_create(actor=SYSTEM, ib=mine, brand=world.eu_brand, code="mine-1")
    funded, quiet, moved = (client_of(world.eu_brand) for _ in range(3))
    for profile in (funded, quiet, moved):
        referral_attribute(profile=profile, code=code.code, at=T0)
    ib_reattribute(
        actor=SYSTEM, profile=moved, ib=other, valid_from=T0 + dt.timedelta(days=1), reason="asked"
    )
    deposit_credited(funded)
    # the same profile id announced by another entity is not this entity's fact
    deposit_credited(quiet, entity=world.uk.pk)
    return mine, code, funded, quiet, second_brand


def test_referral_links_on_every_brand_of_the_entity_with_counts(world, business):
    mine, code, _, _, _ = business
    response = logged_in(mine.profile).get(LINKS)
    assert response.status_code == 200
    assert response.json() == [
        {
            "id": code.pk,
            "code": "mine-1",
            "active": True,
            "brand": "eu-brand",
            "link": "https://eu.example.com/register?ref=mine-1",
            "links": [
                {
                    "brand": "eu-brand",
                    "brand_name": world.eu_brand.name,
                    "url": "https://eu.example.com/register?ref=mine-1",
                },
                {
                    "brand": "eu-second",
                    "brand_name": "Eu Second",
                    "url": "https://second.example.eu/register?ref=mine-1",
                },
            ],
            "clients": 3,  # registered with the code, the one moved away since included
            "funded_clients": 1,
            "created_at": code.created_at.isoformat().replace("+00:00", "Z"),
        }
    ]


def test_referred_clients_are_masked_and_current(world, business):
    mine, _, funded, quiet, _ = business
    response = logged_in(mine.profile).get(CLIENTS)
    assert response.status_code == 200
    data = response.json()
    assert (data["count"], data["next"]) == (2, None)

    def row(profile, is_funded):
        local, _, domain = profile.email.partition("@")
        return {
            "initials": "T. T.",
            "email": f"{local[0]}•••@{domain}",
            "country": "DE",
            "status": "active",
            "registered_on": profile.created_at.date().isoformat(),
            "funded": is_funded,
            "attributed_since": "2026-03-02T09:00:00Z",
            "source": "referral",
            "code": "mine-1",
        }

    assert [{k: v for k, v in r.items() if k != "id"} for r in data["results"]] == [
        row(quiet, False),
        row(funded, True),
    ]
    text = response.content.decode()
    for profile in (funded, quiet):
        assert profile.email not in text
        assert profile.family_name not in text


def test_the_ib_makes_a_code(world, business):
    mine, _, _, _, _ = business
    api = logged_in(mine.profile)
    response = api.post(LINKS, {"code": "Summer-Promo", "brand": "eu-second"}, format="json")
    assert response.status_code == 201
    made = ReferralCode.objects.unscoped().get(code="summer-promo")
    assert (made.ib_id, made.brand.code, made.entity_id) == (mine.pk, "eu-second", world.eu.pk)
    assert response.json()["link"] == "https://second.example.eu/register?ref=summer-promo"
    assert (response.json()["clients"], len(response.json()["links"])) == (0, 2)
    audit = AuditEvent.objects.filter(action="ib.code_create").order_by("-pk").first()
    assert audit.object_id == str(made.pk)
    # no code and no brand: a generated code on the IB's own brand
    generated = api.post(LINKS, {}, format="json")
    assert generated.status_code == 201
    assert generated.json()["code"].startswith("ref-")
    assert len(generated.json()["code"]) == 12
    assert generated.json()["brand"] == "eu-brand"
    assert len(api.get(LINKS).json()) == 3


@pytest.mark.parametrize(
    ("body", "code"),
    [
        ({"code": "mine-1"}, "referral_code_taken"),
        ({"code": "MINE-1"}, "referral_code_taken"),
        ({"code": "has space"}, "invalid"),
        ({"code": "ab"}, "invalid"),
        ({"code": "x" * 41}, "invalid"),
        ({"code": None}, "invalid"),
        (["mine-2"], "invalid"),
        ({"code": "fine-code", "brand": "uk-brand"}, "brand_other_entity"),
        ({"code": "fine-code", "brand": "no-such-brand"}, "brand_unknown"),
        ({"code": "fine-code", "brand": ["eu-brand"]}, "invalid"),
    ],
)
def test_bad_codes_are_refused_and_make_nothing(world, business, body, code):
    mine, _, _, _, _ = business
    before = ReferralCode.objects.unscoped().count()
    response = logged_in(mine.profile).post(LINKS, body, format="json")
    assert response.status_code == 400
    assert response.json()["code"] == code
    assert ReferralCode.objects.unscoped().count() == before


def test_a_suspended_ib_and_one_at_its_limit_make_no_code(world, business):
    mine, _, _, _, _ = business
    api = logged_in(mine.profile)
    for n in range(CLIENT_CODE_LIMIT - 1):
        referral_code_create(actor=SYSTEM, ib=mine, brand=world.eu_brand, code=f"bulk-{n}")
    limit = api.post(LINKS, {"code": "one-more"}, format="json")
    assert (limit.status_code, limit.json()["code"]) == (400, "referral_code_limit")
    ib_partner_update(actor=SYSTEM, ib=mine, status=IbPartner.Status.SUSPENDED, reason="review")
    suspended = api.post(LINKS, {"code": "one-more"}, format="json")
    assert (suspended.status_code, suspended.json()["code"]) == (400, "ib_suspended")
    assert not ReferralCode.objects.unscoped().filter(code="one-more").exists()
    assert api.get(LINKS).status_code == 200  # reading stays possible


def test_a_referred_client_sees_nothing_of_its_ib(world, business):
    _, _, funded, _, _ = business
    api = logged_in(funded)
    for method, path in [("get", LINKS), ("post", LINKS), ("get", CLIENTS)]:
        response = getattr(api, method)(path, format="json")
        assert response.status_code == 404, path
        assert response.json()["code"] == "not_an_ib"
    assert api.get("/api/v1/me/ib/statement").json()["code"] == "not_an_ib"


def test_another_ibs_clients_never_show(world, business):
    _mine, _, _, _, _ = business
    uk_ib = ib_of(world.uk_brand, name="UK")
    referral_code_create(actor=SYSTEM, ib=uk_ib, brand=world.uk_brand, code="uk-1")
    referral_attribute(profile=client_of(world.uk_brand), code="uk-1")
    api = logged_in(uk_ib.profile)
    assert api.get(CLIENTS).json()["count"] == 1
    assert [link["code"] for link in api.get(LINKS).json()] == ["uk-1"]
    assert [link["brand"] for link in api.get(LINKS).json()[0]["links"]] == ["uk-brand"]


def test_staff_and_anonymous_callers(world, business):
    staff = APIClient()
    staff.force_authenticate(world.eu_admin)
    for method, path in [("get", LINKS), ("post", LINKS), ("get", CLIENTS)]:
        assert getattr(staff, method)(path, {}, format="json").status_code == 403, path
        assert getattr(APIClient(), method)(path, {}, format="json").status_code == 401, path
