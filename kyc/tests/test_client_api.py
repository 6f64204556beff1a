"""The client's own KYC through the API: the file opened at registration, answers saved step by
step, documents uploaded, submission, automatic approval, and a document sent back."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.utils import timezone
from rest_framework.test import APIClient

from brokercrm.accounts.tests.factories import CLIENT_PASSWORD, client_login
from brokercrm.events.models import Event
from identity.logins import client_token_obtain
from identity.tests.factories import register
from kyc.models import KycDocument, KycFile
from kyc.services import kyc_run_checks

from .conftest import MINIMAL_PDF, PASSING_ANSWERS
from .test_workflow import QUESTIONNAIRE, passport_for


def logged_in(profile) -> APIClient:
    client_login(profile)
    token = client_token_obtain(brand=profile.brand, email=profile.email, password=CLIENT_PASSWORD)
    api = APIClient()
    api.credentials(HTTP_AUTHORIZATION=f"Token {token.key}")
    return api


def staff(user) -> APIClient:
    api = APIClient()
    api.force_authenticate(user)
    return api


def upload(api, kind: str, data: bytes, name: str, **fields):
    return api.post(
        "/api/v1/me/kyc/documents",
        {"kind": kind, "file": SimpleUploadedFile(name, data), **fields},
        format="multipart",
    )


def steps(api) -> dict[str, dict]:
    body = api.get("/api/v1/me/kyc").json()
    return {step["code"]: step for step in body["steps"]}


def complete(api, profile) -> None:
    assert api.put("/api/v1/me/kyc/questionnaire", QUESTIONNAIRE, format="json").status_code == 200
    passport = upload(api, "identity", passport_for(profile), "passport.png", doc_type="passport")
    assert passport.status_code == 201, passport.json()
    bill = upload(
        api,
        "proof_of_address",
        MINIMAL_PDF,
        "bill.pdf",
        doc_type="utility_bill",
        issued_on=(timezone.localdate() - timedelta(days=10)).isoformat(),
    )
    assert bill.status_code == 201, bill.json()


def test_the_file_opens_at_registration_and_lists_what_is_needed(kyc_world):
    profile = register(kyc_world.eu_brand).profile
    api = logged_in(profile)
    body = api.get("/api/v1/me/kyc").json()
    assert body["status"] == "draft"
    assert body["can_submit"] is False
    assert [(step["code"], step["status"]) for step in body["steps"]] == [
        ("questionnaire", "todo"),
        ("appropriateness", "not_required"),
        ("document_identity", "todo"),
        ("document_proof_of_address", "todo"),
    ]
    refused = api.post("/api/v1/me/kyc/submit")
    assert (refused.status_code, refused.json()["code"]) == (400, "kyc_steps_missing")
    assert refused.json()["steps"] == [
        "questionnaire",
        "document_identity",
        "document_proof_of_address",
    ]
    assert KycFile.objects.unscoped().get(profile=profile).status == "draft"


def test_a_low_risk_client_is_approved_after_submitting(kyc_world):
    profile = register(kyc_world.eu_brand).profile
    api = logged_in(profile)
    complete(api, profile)
    assert all(
        step["status"] == "done" for step in steps(api).values() if step["status"] != "not_required"
    )
    submitted = api.post("/api/v1/me/kyc/submit")
    assert submitted.status_code == 200, submitted.json()
    assert submitted.json()["status"] == "submitted"
    kyc_run_checks(kyc_file_id=submitted.json()["id"])  # what the worker does after commit
    body = api.get("/api/v1/me/kyc").json()
    assert body["status"] == "approved"
    assert body["earliest_withdrawal_at"] is not None
    # Once submitted, answers and documents are locked.
    locked = api.put("/api/v1/me/kyc/questionnaire", QUESTIONNAIRE, format="json")
    assert (locked.status_code, locked.json()["code"]) == (409, "kyc_file_locked")
    late = upload(api, "identity", passport_for(profile), "passport.png", doc_type="passport")
    assert (late.status_code, late.json()["code"]) == (409, "kyc_file_locked")


def test_a_document_sent_back_returns_the_client_to_that_step(kyc_world):
    profile = register(kyc_world.eu_brand).profile
    api = logged_in(profile)
    complete(api, profile)
    KycFile.objects.unscoped().filter(profile=profile).update(status="in_review")
    bill = KycDocument.objects.unscoped().get(kyc_file__profile=profile, kind="proof_of_address")
    reviewer = staff(kyc_world.eu_compliance)
    refused = reviewer.post(
        f"/api/v1/kyc-documents/{bill.pk}/revision-request", {"reason_code": "nope"}, format="json"
    )
    assert refused.status_code == 400
    sent = reviewer.post(
        f"/api/v1/kyc-documents/{bill.pk}/revision-request",
        {"reason_code": "too_old", "reason": "The bill is from last year."},
        format="json",
    )
    assert sent.status_code == 200, sent.json()
    event = Event.objects.get(type="kyc.document_requested")
    assert (event.profile_id, event.payload["reason_code"], event.payload["kind"]) == (
        profile.pk,
        "too_old",
        "proof_of_address",
    )
    body = api.get("/api/v1/me/kyc").json()
    assert body["status"] == "draft"
    by_code = {step["code"]: step for step in body["steps"]}
    assert by_code["document_proof_of_address"]["status"] == "revision_requested"
    assert by_code["document_proof_of_address"]["reason_code"] == "too_old"
    assert by_code["document_proof_of_address"]["reason"] == "The bill is from last year."
    # Everything else stays done: the client is not sent back to the start.
    assert by_code["questionnaire"]["status"] == "done"
    assert by_code["document_identity"]["status"] == "done"
    listed = {d["id"]: d for d in api.get("/api/v1/me/kyc/documents").json()}
    assert listed[bill.pk]["status"] == "revision_requested"
    again = upload(
        api,
        "proof_of_address",
        MINIMAL_PDF + b"%fresh",
        "bill2.pdf",
        doc_type="bank_statement",
        issued_on=(timezone.localdate() - timedelta(days=3)).isoformat(),
    )
    assert again.status_code == 201, again.json()
    assert again.json()["version"] == 2
    assert steps(api)["document_proof_of_address"]["status"] == "done"
    assert api.post("/api/v1/me/kyc/submit").json()["status"] == "submitted"
    # A superseded version is not sent back twice.
    reviewer_again = reviewer.post(
        f"/api/v1/kyc-documents/{bill.pk}/revision-request",
        {"reason_code": "unreadable"},
        format="json",
    )
    assert reviewer_again.status_code == 409


@pytest.mark.parametrize(
    ("answers", "field", "code"),
    [
        (
            {**QUESTIONNAIRE, "employment_status": "astronaut"},
            "employment_status",
            "invalid_choice",
        ),
        ({k: v for k, v in QUESTIONNAIRE.items() if k != "occupation"}, "occupation", "required"),
        ({**QUESTIONNAIRE, "favourite_colour": "blue"}, "favourite_colour", "unknown"),
    ],
)
def test_bad_answers_are_refused_by_field_and_nothing_is_saved(
    full_rules_world, answers, field, code
):
    profile = register(full_rules_world.eu_brand).profile
    api = logged_in(profile)
    response = api.put("/api/v1/me/kyc/questionnaire", answers, format="json")
    assert response.status_code == 400, response.json()
    assert response.json()["code"] == "questionnaire_invalid"
    assert response.json()["error_codes"][field] == [code] or code in str(
        response.json()["error_codes"][field]
    )
    assert KycFile.objects.unscoped().get(profile=profile).questionnaire in ({}, None)


def test_the_appropriateness_test_is_its_own_step(full_rules_world):
    profile = register(full_rules_world.eu_brand).profile
    api = logged_in(profile)
    assert steps(api)["appropriateness"]["status"] == "todo"
    wrong = api.put("/api/v1/me/kyc/appropriateness", {"leverage_effect": "maybe"}, format="json")
    assert (wrong.status_code, wrong.json()["code"]) == (400, "questionnaire_invalid")
    assert "appropriateness.leverage_effect" in wrong.json()["error_codes"]
    saved = api.put("/api/v1/me/kyc/appropriateness", PASSING_ANSWERS, format="json")
    assert saved.status_code == 200, saved.json()
    assert steps(api)["appropriateness"]["status"] == "done"
    # Saving the questionnaire afterwards keeps the test's answers.
    api.put("/api/v1/me/kyc/questionnaire", QUESTIONNAIRE, format="json")
    kept = api.get("/api/v1/me/kyc").json()
    assert kept["answers"]["appropriateness"] == PASSING_ANSWERS
    assert {s["code"]: s["status"] for s in kept["steps"]}["questionnaire"] == "done"


def test_bad_uploads_get_a_stable_code_and_write_nothing(kyc_world):
    profile = register(kyc_world.eu_brand).profile
    api = logged_in(profile)
    fake = upload(api, "identity", b"MZ\x90\x00 not an image", "passport.png", doc_type="passport")
    assert fake.status_code == 400
    assert fake.json()["code"] not in ("", None, "server_error")
    unknown = upload(api, "tax_return", MINIMAL_PDF, "x.pdf")
    assert unknown.status_code == 400
    missing = api.post("/api/v1/me/kyc/documents", {"kind": "identity"}, format="multipart")
    assert missing.status_code == 400
    assert not KycDocument.objects.unscoped().filter(kyc_file__profile=profile).exists()


def test_each_client_sees_only_their_own_file(kyc_world):
    mine = register(kyc_world.eu_brand).profile
    theirs = register(
        kyc_world.eu_brand, given_name="Olga", family_name="Smirnova", email="olga@example.com"
    ).profile
    api = logged_in(mine)
    other = logged_in(theirs)
    complete(other, theirs)
    assert api.get("/api/v1/me/kyc/documents").json() == []
    assert api.get("/api/v1/me/kyc").json()["id"] == KycFile.objects.unscoped().get(profile=mine).pk
    document = KycDocument.objects.unscoped().filter(kyc_file__profile=theirs).first()
    # The client cannot reach staff endpoints for another client's document.
    assert api.get(f"/api/v1/kyc-documents/{document.pk}").status_code in (403, 404)


def test_staff_open_a_file_for_a_profile_that_has_none(kyc_world):
    profile = register(kyc_world.eu_brand).profile
    KycFile.objects.unscoped().filter(profile=profile).delete()
    api = logged_in(profile)
    missing = api.get("/api/v1/me/kyc")
    assert (missing.status_code, missing.json()["code"]) == (404, "kyc_file_not_found")
    other_entity = staff(kyc_world.uk_compliance).post(
        "/api/v1/kyc-files", {"profile": profile.pk}, format="json"
    )
    assert other_entity.status_code == 400
    opened = staff(kyc_world.eu_compliance).post(
        "/api/v1/kyc-files", {"profile": profile.pk}, format="json"
    )
    assert opened.status_code == 201, opened.json()
    again = staff(kyc_world.eu_compliance).post(
        "/api/v1/kyc-files", {"profile": profile.pk}, format="json"
    )
    assert (again.status_code, again.json()["code"]) == (409, "kyc_file_exists")
    assert api.get("/api/v1/me/kyc").json()["status"] == "draft"


def test_staff_and_anonymous_callers_are_turned_away(kyc_world):
    assert APIClient().get("/api/v1/me/kyc").status_code == 401
    response = staff(kyc_world.eu_compliance).get("/api/v1/me/kyc")
    assert response.status_code == 403
