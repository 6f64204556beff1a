"""The identity API: brand-key registration and the staff endpoints, persona by persona."""

from __future__ import annotations

import pytest
from rest_framework.test import APIClient

from brokercrm.gate import SYSTEM
from identity.api.auth import brand_api_key_create
from identity.logins import client_login_create
from identity.models import ClientProfile, DuplicateCase, Person

from .factories import register

PAYLOAD = {
    "given_name": "Ivan",
    "family_name": "Petrov",
    "birth_date": "1985-07-14",
    "residence_country": "DE",
    "email": "ivan.petrov@example.com",
    "phone": "+49 151 23456789",
    "document": {"type": "passport", "number": "C01X00T47", "issuing_country": "DE"},
}


@pytest.fixture
def brand_client(world) -> APIClient:
    _, secret = brand_api_key_create(brand=world.eu_brand, name="web")
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Api-Key {secret}")
    return client


def staff(user) -> APIClient:
    client = APIClient()
    client.force_authenticate(user)
    return client


def test_registration_with_a_brand_key(world, brand_client):
    response = brand_client.post("/api/v1/registrations", PAYLOAD, format="json")
    assert response.status_code == 201, response.content
    body = response.json()
    assert (body["status"], body["entity"]) == ("accepted", "EU")
    assert ClientProfile.objects.unscoped().get(pk=body["profile_id"]).brand == world.eu_brand
    again = brand_client.post(
        "/api/v1/registrations", {**PAYLOAD, "email": "ivan+2@example.com"}, format="json"
    )
    assert again.status_code == 409
    assert again.json()["code"] == "already_registered"


def test_blocked_registration_learns_nothing(world, brand_client):
    from identity.services import person_aml_block

    uk = register(
        world.uk_brand, residence_country="GB", phone="+44 7911 123456", email="u@example.com"
    )
    person_aml_block(actor=SYSTEM, person=uk.person, reason="AML", entity=world.uk)
    response = brand_client.post(
        "/api/v1/registrations",
        {**PAYLOAD, "email": "fresh@example.com", "phone": ""},
        format="json",
    )
    assert response.status_code == 403
    assert response.json() == {
        "code": "registration_refused",
        "detail": "We cannot open an account online. Please contact our support team.",
    }


@pytest.mark.parametrize(
    ("change", "code"),
    [
        ({"email": "nope"}, "email_invalid"),
        ({"phone": "+49 1"}, "phone_invalid"),
        ({"birth_date": "1985-02-30"}, "invalid"),
        ({"birth_date": "2999-01-01"}, "birth_date_invalid"),
        ({"residence_country": "US"}, "country_restricted"),
        ({"residence_country": "ZZ"}, "country_invalid"),
        ({"residence_country": "JP"}, "country_not_served"),
        ({"given_name": "x" * 500}, "invalid"),
        ({"document": {"type": "library_card", "number": "1", "issuing_country": "DE"}}, "invalid"),
        ({"email": None}, "invalid"),
        ({"password": "password"}, "password_weak"),
        ({"password": "ivan.petrov@example.com"}, "password_weak"),
        ({"language": "fr"}, "language_unsupported"),
    ],
)
def test_bad_registrations_get_a_stable_code(world, brand_client, change, code):
    response = brand_client.post("/api/v1/registrations", {**PAYLOAD, **change}, format="json")
    assert response.status_code == 400, response.content
    assert response.json()["code"] == code
    assert Person.objects.count() == 0


def test_registration_with_a_password_opens_the_client_login(world, brand_client):
    response = brand_client.post(
        "/api/v1/registrations",
        {**PAYLOAD, "password": "Lantern-Orchid-42", "language": "es"},
        format="json",
    )
    assert response.status_code == 201, response.content
    assert response.json()["login"] is True
    assert "password" not in response.json()
    profile = ClientProfile.objects.unscoped().get(pk=response.json()["profile_id"])
    assert profile.language == "es"
    login = brand_client.post(
        "/api/v1/client-tokens",
        {"email": "Ivan.Petrov@example.com", "password": "Lantern-Orchid-42"},
        format="json",
    )
    assert login.status_code == 200, login.content
    assert login.json()["profile_id"] == profile.pk


def test_a_login_that_cannot_be_opened_leaves_no_registration(world, brand_client):
    """Another client of the entity already logs in with the address: nothing is written."""
    other = register(world.eu_brand, given_name="Olga", family_name="Smirnova")
    client_login_create(actor=SYSTEM, profile=other.profile, password="Lantern-Orchid-42")
    people = Person.objects.count()
    response = brand_client.post(
        "/api/v1/registrations",
        {
            **PAYLOAD,
            "email": other.profile.email,
            "document": None,
            "password": "Harbour-Maple-77",
        },
        format="json",
    )
    assert response.status_code == 409, response.content
    assert response.json()["code"] == "login_email_taken"
    assert Person.objects.count() == people
    assert ClientProfile.objects.unscoped().count() == 1


def test_oversized_registration_is_413(world, brand_client):
    response = brand_client.post(
        "/api/v1/registrations",
        {**PAYLOAD, "address_line1": "x" * (2 * 1024 * 1024)},
        format="json",
    )
    assert response.status_code == 413
    assert Person.objects.count() == 0


def test_registration_needs_a_valid_brand_key(world):
    client = APIClient()
    assert client.post("/api/v1/registrations", PAYLOAD, format="json").status_code == 401
    client.credentials(HTTP_AUTHORIZATION="Api-Key abc.def")
    response = client.post("/api/v1/registrations", PAYLOAD, format="json")
    assert response.status_code == 401
    assert response.json()["code"] == "api_key_invalid"
    # Staff credentials are not a brand key.
    assert (
        staff(world.superuser).post("/api/v1/registrations", PAYLOAD, format="json").status_code
        == 403
    )
    assert Person.objects.count() == 0


def test_brand_key_opens_no_staff_endpoint(world, brand_client):
    assert brand_client.get("/api/v1/client-profiles").status_code in (401, 403)


def test_client_profiles_are_scoped(world):
    eu = register(world.eu_brand)
    uk = register(
        world.uk_brand,
        residence_country="GB",
        email="gb@example.com",
        phone="+44 7911 123456",
        given_name="John",
        family_name="Smith",
        birth_date="1977-03-03",
        document=None,
    )
    eu_list = staff(world.eu_compliance).get("/api/v1/client-profiles").json()
    assert [row["id"] for row in eu_list["results"]] == [eu.profile.pk]
    assert (
        staff(world.eu_compliance).get(f"/api/v1/client-profiles/{uk.profile.pk}").status_code
        == 404
    )
    oversight = staff(world.group_compliance).get("/api/v1/client-profiles").json()
    assert oversight["count"] == 2


def test_field_policy_documents_only_for_kyc_roles(world):
    eu = register(world.eu_brand)
    compliance_view = (
        staff(world.eu_compliance).get(f"/api/v1/client-profiles/{eu.profile.pk}").json()
    )
    assert compliance_view["documents"][0]["number"] == "••••••T47"
    support_view = staff(world.eu_support).get(f"/api/v1/client-profiles/{eu.profile.pk}").json()
    assert support_view["documents"] is None


def test_profile_update_persona_matrix(world):
    eu = register(world.eu_brand)
    url = f"/api/v1/client-profiles/{eu.profile.pk}"
    change = {"status": "restricted", "status_reason": "compliance hold", "reason": "review"}
    assert staff(world.eu_support).patch(url, change, format="json").status_code == 403
    assert staff(world.uk_compliance).patch(url, change, format="json").status_code == 404
    assert staff(world.group_compliance).patch(url, change, format="json").status_code == 403
    assert ClientProfile.objects.unscoped().get(pk=eu.profile.pk).status == "applicant"
    ok = staff(world.eu_compliance).patch(url, change, format="json")
    assert ok.status_code == 200, ok.content
    assert ok.json()["status"] == "restricted"
    foreign_desk = staff(world.eu_compliance).patch(url, {"desk": 10**9}, format="json")
    assert foreign_desk.status_code == 400


def test_duplicate_case_queue_side_by_side_and_decide(world):
    register(world.uk_brand, residence_country="GB", birth_date="1985-07-04", document=None)
    register(world.eu_brand, birth_date="1985-04-07", document=None)
    case = DuplicateCase.objects.unscoped().get()
    queue = staff(world.eu_compliance).get("/api/v1/duplicate-cases").json()
    assert [row["id"] for row in queue["results"]] == [case.pk]
    assert staff(world.uk_compliance).get("/api/v1/duplicate-cases").json()["count"] == 0
    assert staff(world.uk_compliance).get(f"/api/v1/duplicate-cases/{case.pk}").status_code == 404
    detail = staff(world.eu_compliance).get(f"/api/v1/duplicate-cases/{case.pk}").json()
    assert detail["new"]["profile"]["entity"] == "EU"
    assert detail["candidate"]["profiles"][0]["entity"] == "UK"
    assert "email" not in detail["candidate"]["profiles"][0]  # the UK entity's data stays there
    assert (
        detail["explanation"]["candidates"][0]["fields"]["birth_date"]["detail"]
        == "day and month swapped"
    )
    refused = staff(world.eu_support).post(
        f"/api/v1/duplicate-cases/{case.pk}/decide",
        {"decision": "link", "reason": "x"},
        format="json",
    )
    assert refused.status_code == 404  # support cannot even see the queue
    bad = staff(world.eu_compliance).post(
        f"/api/v1/duplicate-cases/{case.pk}/decide",
        {"decision": "maybe", "reason": "x"},
        format="json",
    )
    assert bad.status_code == 400
    ok = staff(world.eu_compliance).post(
        f"/api/v1/duplicate-cases/{case.pk}/decide",
        {"decision": "link", "reason": "same person"},
        format="json",
    )
    assert ok.status_code == 200, ok.content
    assert ok.json()["status"] == "linked"
    undo = staff(world.eu_compliance).post(
        f"/api/v1/duplicate-cases/{case.pk}/unmerge", {"reason": "mistake"}, format="json"
    )
    assert undo.status_code == 200, undo.content
    assert Person.objects.filter(status="merged").count() == 0
