"""The client's own KYC through the API: the file opened at registration, answers saved step by
step, documents uploaded, submission, automatic approval, and a document sent back."""

from __future__ import annotations

import importlib
from datetime import date, timedelta

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.db import connection
from django.db.migrations.loader import MigrationLoader
from django.utils import timezone
from rest_framework.test import APIClient

from audit.models import AuditEvent
from brokercrm.accounts.models import User
from brokercrm.accounts.tests.factories import CLIENT_PASSWORD, client_login
from brokercrm.events.models import Event
from brokercrm.gate import SYSTEM
from identity.logins import client_token_obtain
from identity.services import DocumentInput
from identity.tests.factories import register
from kyc.models import KycCheck, KycDocument, KycFile
from kyc.services import document_upload, kyc_file_for, kyc_run_checks, storage_dir
from kyc.specimens import readable_passport, render_photo_without_mrz, td1_lines

from .conftest import MINIMAL_PDF, PASSING_ANSWERS
from .test_workflow import QUESTIONNAIRE, passport_for


def logged_in(profile) -> APIClient:
    client_login(profile)
    token = client_token_obtain(brand=profile.brand, email=profile.email, password=CLIENT_PASSWORD)
    api = APIClient()
    api.credentials(HTTP_AUTHORIZATION=f"Token {token.key}")
    return api


def profile_login(profile) -> User:
    return User.objects.get(kind="client", profile=profile)


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


# --- document sides --------------------------------------------------------------------------


def id_card_back_for(profile) -> bytes:
    """The back of the profile's German ID card: the three-line MRZ, valid for five years."""
    lines = lambda day: td1_lines(  # noqa: E731
        surname=profile.family_name_latin.upper(),
        given_names=profile.given_name_latin.upper(),
        document_number="L01X00T47",
        birth_date=profile.birth_date,
        expiry_date=day,
        sex="M",
        nationality="D",
        issuing_country="D",
    )
    return readable_passport(lines, timezone.localdate() + timedelta(days=5 * 365))[0]


def test_an_id_card_is_complete_with_its_front_and_back(kyc_world):
    # Given a client registered with a German ID card
    profile = register(
        kyc_world.eu_brand, document=DocumentInput("national_id", "L01X00T47", "DE")
    ).profile
    api = logged_in(profile)
    assert api.put("/api/v1/me/kyc/questionnaire", QUESTIONNAIRE, format="json").status_code == 200
    upload(
        api,
        "proof_of_address",
        MINIMAL_PDF,
        "bill.pdf",
        doc_type="utility_bill",
        issued_on=(timezone.localdate() - timedelta(days=10)).isoformat(),
    )
    assert steps(api)["document_identity"]["extra"]["two_sided_types"] == ["national_id"]

    # When only the back (the MRZ side) is uploaded
    back = upload(
        api, "identity", id_card_back_for(profile), "b.png", doc_type="national_id", side="back"
    )
    assert back.status_code == 201, back.json()
    assert back.json()["side"] == "back"

    # Then the step is still to do, saying which side is missing, and submitting is refused
    step = steps(api)["document_identity"]
    assert (step["status"], step["reason_code"]) == ("todo", "incomplete")
    assert step["reason"] == "Pages or sides are missing."
    assert step["extra"]["sides_required"] == ["front", "back"]
    assert step["extra"]["sides"] == {"front": None, "back": back.json()["id"]}
    assert step["extra"]["sides_missing"] == ["front"]
    refused = api.post("/api/v1/me/kyc/submit")
    assert (refused.status_code, refused.json()["steps"]) == (400, ["document_identity"])

    # When the front follows
    front = upload(
        api, "identity", render_photo_without_mrz(), "f.png", doc_type="national_id", side="front"
    )
    assert front.status_code == 201, front.json()

    # Then the step is done, and the checks read the MRZ on the back although the front came last
    step = steps(api)["document_identity"]
    assert (step["status"], step["reason_code"], step["extra"]["sides_missing"]) == ("done", "", [])
    assert step["extra"]["sides"] == {"front": front.json()["id"], "back": back.json()["id"]}
    submitted = api.post("/api/v1/me/kyc/submit")
    assert submitted.status_code == 200, submitted.json()
    kyc_file = kyc_run_checks(kyc_file_id=submitted.json()["id"])
    mrz = KycCheck.objects.unscoped().get(kyc_file=kyc_file, kind="mrz")
    assert (mrz.result, mrz.evidence["format"]) == ("pass", "TD1")
    assert mrz.document_id == back.json()["id"]
    assert kyc_file.status == "approved"
    # Both pages carry the expiry date the MRZ gave, whichever the expiry monitor looks at.
    pages = KycDocument.objects.unscoped().filter(kyc_file=kyc_file, kind="identity")
    assert {page.expires_on for page in pages} == {date.fromisoformat(mrz.evidence["expiry"])}


@pytest.mark.parametrize(
    ("kind", "doc_type", "side", "code"),
    [
        ("identity", "national_id", "", "document_side_required"),
        ("identity", "driving_licence", "", "document_side_required"),
        ("identity", "national_id", "left", "document_side_invalid"),
        ("identity", "national_id", "x" * 11, "invalid"),
        ("identity", "passport", "front", "document_side_not_applicable"),
        ("identity", "", "back", "document_side_not_applicable"),
        ("proof_of_address", "utility_bill", "back", "document_side_not_applicable"),
        ("selfie", "", "front", "document_side_not_applicable"),
    ],
)
def test_a_wrong_side_is_refused_and_nothing_is_written(kyc_world, kind, doc_type, side, code):
    profile = register(kyc_world.eu_brand).profile
    api = logged_in(profile)
    before = stored_files()
    refused = upload(api, kind, MINIMAL_PDF, "x.pdf", doc_type=doc_type, side=side)
    assert (refused.status_code, refused.json()["code"]) == (400, code)
    assert not KycDocument.objects.unscoped().filter(kyc_file__profile=profile).exists()
    assert stored_files() == before


def stored_files() -> list[str]:
    return sorted(path.name for path in storage_dir().iterdir())


def test_a_passport_is_one_page_and_side_single_may_be_said(kyc_world):
    profile = register(kyc_world.eu_brand).profile
    api = logged_in(profile)
    sent = upload(
        api, "identity", passport_for(profile), "p.png", doc_type="passport", side="single"
    )
    assert (sent.status_code, sent.json()["side"]) == (201, "single")
    step = steps(api)["document_identity"]
    assert step["status"] == "done"
    assert step["extra"]["sides_required"] == ["single"]
    assert step["extra"]["sides_missing"] == []


def test_one_side_sent_back_asks_for_that_side_only(kyc_world):
    profile = register(
        kyc_world.eu_brand, document=DocumentInput("national_id", "L01X00T47", "DE")
    ).profile
    api = logged_in(profile)
    front = upload(api, "identity", MINIMAL_PDF, "f.pdf", doc_type="national_id", side="front")
    back = upload(
        api, "identity", MINIMAL_PDF + b"%back", "b.pdf", doc_type="national_id", side="back"
    )
    assert steps(api)["document_identity"]["status"] == "done"
    KycFile.objects.unscoped().filter(profile=profile).update(status="in_review")
    reviewer = staff(kyc_world.eu_compliance)

    sent = reviewer.post(
        f"/api/v1/kyc-documents/{back.json()['id']}/revision-request",
        {"reason_code": "unreadable"},
        format="json",
    )
    assert sent.status_code == 200, sent.json()
    event = Event.objects.get(type="kyc.document_requested")
    assert (event.payload["kind"], event.payload["side"]) == ("identity", "back")
    step = steps(api)["document_identity"]
    assert (step["status"], step["reason_code"], step["document_id"]) == (
        "revision_requested",
        "unreadable",
        back.json()["id"],
    )

    # A new back stands with the same front; the old back is superseded, the front is not.
    again = upload(
        api, "identity", MINIMAL_PDF + b"%back2", "b2.pdf", doc_type="national_id", side="back"
    )
    assert again.status_code == 201, again.json()
    step = steps(api)["document_identity"]
    assert step["status"] == "done"
    assert step["extra"]["sides"] == {"front": front.json()["id"], "back": again.json()["id"]}
    KycFile.objects.unscoped().filter(profile=profile).update(status="in_review")
    stale = reviewer.post(
        f"/api/v1/kyc-documents/{back.json()['id']}/revision-request",
        {"reason_code": "unreadable"},
        format="json",
    )
    assert (stale.status_code, stale.json()["code"]) == (409, "document_superseded")
    current_front = reviewer.post(
        f"/api/v1/kyc-documents/{front.json()['id']}/revision-request",
        {"reason_code": "incomplete"},
        format="json",
    )
    assert current_front.status_code == 200, current_front.json()

    # A passport sent afterwards replaces the card: its pages are no longer current.
    upload(api, "identity", passport_for(profile), "p.png", doc_type="passport")
    step = steps(api)["document_identity"]
    assert (step["status"], step["extra"]["sides_required"]) == ("done", ["single"])


def test_existing_labels_holding_a_login_name_become_the_client_label(kyc_world):
    # Given uploads recorded before: by the client's login (an e-mail in its name), by the
    # older anonymous label, by staff, and one labelled with another client's login
    profile = register(kyc_world.eu_brand).profile
    other = register(
        kyc_world.eu_brand, given_name="Olga", family_name="Smirnova", email="olga@example.com"
    ).profile
    login, other_login = client_login(profile), client_login(other)
    kyc_file = kyc_file_for(profile=profile)
    labels = [login.username, "client", kyc_world.eu_compliance.username, other_login.username]
    rows = [
        document_upload(actor=SYSTEM, kyc_file=kyc_file, kind="proof_of_address", data=MINIMAL_PDF)
        for _ in labels
    ]
    for row, label in zip(rows, labels, strict=True):
        KycDocument.objects.unscoped().filter(pk=row.pk).update(uploaded_by=label)

    # When the migration's data step runs
    state = MigrationLoader(connection).project_state(("kyc", "0004_document_sides"))
    importlib.import_module("kyc.migrations.0004_document_sides").existing_rows_forward(
        state.apps, None
    )

    # Then the client's own uploads carry the neutral label; the others keep theirs
    after = [KycDocument.objects.unscoped().get(pk=row.pk).uploaded_by for row in rows]
    assert after == [
        f"client:{profile.pk}",
        f"client:{profile.pk}",
        kyc_world.eu_compliance.username,
        other_login.username,
    ]


# --- downloads -----------------------------------------------------------------------------


def test_a_client_downloads_a_document_they_uploaded(kyc_world):
    profile = register(kyc_world.eu_brand).profile
    api = logged_in(profile)
    data = passport_for(profile)
    sent = upload(api, "identity", data, "Ivan Petrov passport.png", doc_type="passport")
    document = KycDocument.objects.unscoped().get(pk=sent.json()["id"])
    # The label names the profile, not the login (whose name holds the e-mail).
    assert document.uploaded_by == f"client:{profile.pk}"
    assert api.get("/api/v1/me/kyc/documents").json()[0]["downloadable"] is True

    response = api.get(f"/api/v1/me/kyc/documents/{document.pk}/file")

    assert response.status_code == 200
    assert response.content == data
    assert response["Content-Type"] == "image/png"
    assert response["Content-Disposition"] == 'attachment; filename="identity-v1.png"'
    assert response["X-Content-Type-Options"] == "nosniff"
    assert response["Cache-Control"] == "private, no-store"
    read = AuditEvent.objects.get(action="kyc.document_read")
    assert (read.object_id, read.actor_id) == (str(document.pk), profile_login(profile).pk)
    assert read.after["reader"] == "client"


def test_a_card_side_downloads_under_its_side(kyc_world):
    profile = register(kyc_world.eu_brand).profile
    api = logged_in(profile)
    sent = upload(api, "identity", MINIMAL_PDF, "f.pdf", doc_type="driving_licence", side="front")
    response = api.get(f"/api/v1/me/kyc/documents/{sent.json()['id']}/file")
    assert response.status_code == 200
    assert response["Content-Type"] == "application/pdf"
    assert response["Content-Disposition"] == 'attachment; filename="identity-front-v1.pdf"'


def test_no_other_document_can_be_downloaded(kyc_world):
    # Given my own upload, one staff added to my file, another client's in my entity and a
    # client's of another entity
    mine = register(kyc_world.eu_brand).profile
    api = logged_in(mine)
    own = upload(api, "proof_of_address", MINIMAL_PDF, "bill.pdf").json()["id"]
    my_file = KycFile.objects.unscoped().get(profile=mine)
    added = staff(kyc_world.eu_compliance).post(
        f"/api/v1/kyc-files/{my_file.pk}/documents",
        {"kind": "source_of_funds", "file": SimpleUploadedFile("letter.pdf", MINIMAL_PDF)},
        format="multipart",
    )
    assert added.status_code == 201, added.json()
    neighbour = register(
        kyc_world.eu_brand, given_name="Olga", family_name="Smirnova", email="olga@example.com"
    ).profile
    theirs = upload(logged_in(neighbour), "proof_of_address", MINIMAL_PDF, "b.pdf").json()["id"]
    abroad = register(
        kyc_world.uk_brand, residence_country="GB", email="ivan.uk@example.com"
    ).profile
    foreign = upload(logged_in(abroad), "proof_of_address", MINIMAL_PDF, "b.pdf").json()["id"]
    listed = {d["id"]: d["downloadable"] for d in api.get("/api/v1/me/kyc/documents").json()}
    assert listed == {own: True, added.json()["id"]: False}

    # Then every other id reads as unknown, and nothing is recorded as read
    for document_id in (added.json()["id"], theirs, foreign, 999_999_999):
        response = api.get(f"/api/v1/me/kyc/documents/{document_id}/file")
        assert (response.status_code, response.json()["code"]) == (404, "not_found"), document_id
    for path in ("999999999999999999999/file", "abc/file", f"{own}/file/"):
        assert api.get(f"/api/v1/me/kyc/documents/{path}").status_code == 404
    assert APIClient().get(f"/api/v1/me/kyc/documents/{own}/file").status_code == 401
    assert (
        staff(kyc_world.eu_compliance).get(f"/api/v1/me/kyc/documents/{own}/file").status_code
        == 403
    )
    assert not AuditEvent.objects.filter(action="kyc.document_read").exists()
    assert api.get(f"/api/v1/me/kyc/documents/{own}/file").status_code == 200


def test_a_stored_file_gone_missing_is_a_clear_error(kyc_world):
    profile = register(kyc_world.eu_brand).profile
    api = logged_in(profile)
    sent = upload(api, "proof_of_address", MINIMAL_PDF, "bill.pdf").json()["id"]
    (storage_dir() / KycDocument.objects.unscoped().get(pk=sent).storage_name).unlink()
    response = api.get(f"/api/v1/me/kyc/documents/{sent}/file")
    assert (response.status_code, response.json()["code"]) == (404, "document_file_missing")
    assert not AuditEvent.objects.filter(action="kyc.document_read").exists()
