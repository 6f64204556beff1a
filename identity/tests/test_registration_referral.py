"""Registration with a referral code: it attributes only within the code's own entity."""

from __future__ import annotations

import pytest
from rest_framework.test import APIClient

from audit.models import AuditEvent
from brokercrm.errors import ValidationFailed
from brokercrm.gate import SYSTEM
from ib.models import IbAssignment, ReferralReview
from ib.services import referral_code_create
from ib.tests.factories import ib_of, plan_of
from identity.api.auth import brand_api_key_create
from identity.models import ClientProfile, MatchDecision

from .factories import register
from .test_api import PAYLOAD

URL = "/api/v1/registrations"
EU_PAYLOAD = PAYLOAD
UK_PAYLOAD = {
    **EU_PAYLOAD,
    "residence_country": "GB",
    "phone": "+44 7911 123456",
    "document": {"type": "passport", "number": "533401372", "issuing_country": "GB"},
}


@pytest.fixture
def eu_ib(world):
    ib = ib_of(world.eu_brand, plan_of(world.eu))
    referral_code_create(actor=SYSTEM, ib=ib, brand=world.eu_brand, code="eu-partner")
    return ib


def written() -> tuple[int, ...]:
    return (
        ClientProfile.objects.unscoped().count(),
        MatchDecision.objects.unscoped().count(),
        ReferralReview.objects.unscoped().count(),
        IbAssignment.objects.unscoped().count(),
        AuditEvent.objects.count(),
    )


def brand_api(brand) -> APIClient:
    _, secret = brand_api_key_create(brand=brand, name="web")
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Api-Key {secret}")
    return client


def test_eu_code_on_the_eu_brand_attributes(world, eu_ib):
    response = brand_api(world.eu_brand).post(
        URL, {**EU_PAYLOAD, "referral_code": "eu-partner"}, format="json"
    )
    assert response.status_code == 201
    body = response.json()
    assert (body["entity"], body["referral_attributed"]) == ("EU", True)
    assignment = IbAssignment.objects.unscoped().get(profile_id=body["profile_id"])
    assert (assignment.ib_id, assignment.source, assignment.valid_to) == (
        eu_ib.pk,
        "referral",
        None,
    )
    assert not ReferralReview.objects.unscoped().filter(profile_id=body["profile_id"]).exists()
    registration = AuditEvent.objects.get(
        action="identity.registration_new", object_id=str(body["profile_id"])
    )
    assert (registration.after["referral_code"], registration.after["referral_attributed"]) == (
        "eu-partner",
        True,
    )
    assert AuditEvent.objects.filter(action="ib.referral_attribute").count() == 1


def test_eu_code_on_another_entitys_brand_attributes_nothing_and_is_kept_for_review(world, eu_ib):
    response = brand_api(world.uk_brand).post(
        URL, {**UK_PAYLOAD, "referral_code": "eu-partner"}, format="json"
    )
    # the registration itself goes ahead
    assert response.status_code == 201
    body = response.json()
    assert (body["entity"], body["status"], body["referral_attributed"]) == (
        "UK",
        "accepted",
        False,
    )
    assert not IbAssignment.objects.unscoped().exists()
    review = ReferralReview.objects.unscoped().get()
    assert (review.entity_id, review.profile_id, review.code_text, review.reason) == (
        world.uk.pk,
        body["profile_id"],
        "eu-partner",
        "referral_other_entity",
    )
    assert AuditEvent.objects.filter(action="ib.referral_rejected").count() == 1


def test_unknown_code_is_kept_for_review(world, eu_ib):
    response = brand_api(world.eu_brand).post(
        URL, {**EU_PAYLOAD, "referral_code": "no-such-code"}, format="json"
    )
    assert response.status_code == 201
    assert response.json()["referral_attributed"] is False
    review = ReferralReview.objects.unscoped().get()
    assert (review.entity_id, review.code_text, review.reason) == (
        world.eu.pk,
        "no-such-code",
        "referral_unknown",
    )
    assert not IbAssignment.objects.unscoped().exists()


def test_without_a_code_nothing_is_attributed_or_reviewed(world, eu_ib):
    response = brand_api(world.eu_brand).post(URL, EU_PAYLOAD, format="json")
    assert response.status_code == 201
    assert response.json()["referral_attributed"] is None
    assert not IbAssignment.objects.unscoped().exists()
    assert not ReferralReview.objects.unscoped().exists()


@pytest.mark.parametrize(
    "code",
    ["has space", "semi;colon", "x" * 41, "партнёр", ["eu-partner"], {"code": "eu-partner"}],
)
def test_malformed_code_is_a_field_error_and_nothing_is_written(world, eu_ib, code):
    before = written()
    response = brand_api(world.eu_brand).post(
        URL, {**EU_PAYLOAD, "referral_code": code}, format="json"
    )
    assert response.status_code == 400
    body = response.json()
    assert body["code"] == "invalid"
    assert list(body["errors"]) == ["referral_code"]
    assert written() == before


def test_service_refuses_a_malformed_code_before_writing(world, eu_ib):
    before = written()
    with pytest.raises(ValidationFailed) as raised:
        register(world.eu_brand, referral_code="bad code!")
    assert raised.value.code == "referral_code_invalid"
    assert written() == before


def test_duplicate_registration_leaves_no_review(world, eu_ib):
    register(world.eu_brand)
    response = brand_api(world.eu_brand).post(
        URL, {**EU_PAYLOAD, "referral_code": "no-such-code"}, format="json"
    )
    assert (response.status_code, response.json()["code"]) == (409, "already_registered")
    assert not ReferralReview.objects.unscoped().exists()
