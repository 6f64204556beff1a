"""Liveness through a vendor: the simulator process answers by signed webhook after a delay."""

from __future__ import annotations

import json
import time
import urllib.error
import urllib.request
from typing import Any

import pytest
from django.utils import timezone
from rest_framework.test import APIClient

from audit.models import AuditEvent
from brokercrm.accounts.models import User
from brokercrm.celery import app as celery_app
from brokercrm.gate import SYSTEM
from brokercrm.httpjson import json_request
from brokercrm.signing import SIGNATURE_HEADER, webhook_sign
from brokercrm.simulators import SimulatorProcess
from entities.services import ruleset_publish
from identity.tests.factories import register
from kyc.liveness import liveness_overdue_sweep, liveness_reference
from kyc.models import KycCheck, KycFile
from kyc.services import document_upload, kyc_file_for, kyc_run_checks
from kyc.specimens import render_photo_without_mrz

from .conftest import KYC_RULES
from .test_client_api import complete, logged_in, steps, upload
from .test_workflow import submit_complete_file

SECRET = "liveness-test-secret"
WEBHOOK = "/api/v1/webhooks/kyc-liveness"


@pytest.fixture
def liveness_rules(kyc_world):
    ruleset_publish(
        actor=SYSTEM,
        entity=kyc_world.eu,
        kind="kyc",
        document={**KYC_RULES, "liveness_required": True},
    )
    return kyc_world


@pytest.fixture
def vendor(settings):
    with SimulatorProcess(
        "kyc.simulator", "--delay", "0.5", "--secret", SECRET, "--api-key", "k-1"
    ) as simulator:
        settings.KYC_LIVENESS_URL = simulator.url
        settings.KYC_LIVENESS_API_KEY = "k-1"
        settings.KYC_LIVENESS_WEBHOOK_SECRET = SECRET
        yield simulator


@pytest.fixture
def eager_tasks():
    celery_app.conf.task_always_eager = True
    yield
    celery_app.conf.task_always_eager = False


def _file_with_selfie(world: Any) -> Any:
    profile = register(world.eu_brand).profile
    kyc_file = kyc_file_for(profile=profile)
    document_upload(actor=SYSTEM, kyc_file=kyc_file, kind="selfie", data=render_photo_without_mrz())
    return profile


def _wait_for(kyc_file_id: int, wanted: set[str], seconds: float = 20) -> KycFile:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        kyc_file = KycFile.objects.unscoped().get(pk=kyc_file_id)
        if kyc_file.status in wanted:
            return kyc_file
        time.sleep(0.1)
    return kyc_file


@pytest.mark.django_db(transaction=True)
@pytest.mark.parametrize(
    ("outcome", "status", "result"),
    [
        ("passed", "approved", "pass"),
        ("failed", "in_review", "fail"),
    ],
)
def test_liveness_is_answered_by_signed_webhook_and_decides_the_file(
    liveness_rules, vendor, eager_tasks, live_server, settings, outcome, status, result, monkeypatch
):
    # Given a vendor that answers after half a second, and our API reachable at live_server
    settings.PUBLIC_BASE_URL = live_server.url
    import kyc.ocr

    reads: list[int] = []
    real_read = kyc.ocr.read_mrz
    monkeypatch.setattr(kyc.ocr, "read_mrz", lambda data: reads.append(1) or real_read(data))
    json_request(
        "PUT", f"{vendor.url}/admin/config", body={"fail_rate": 1 if outcome == "failed" else 0}
    )
    profile = _file_with_selfie(liveness_rules)

    # When the complete file is submitted (checks run on commit, the session opens on commit)
    kyc_file = submit_complete_file(profile)
    check = KycCheck.objects.unscoped().get(kyc_file=kyc_file, kind="liveness")
    assert check.provider == "liveness-http"

    # Then the file waits for the vendor, and its webhook decides it
    decided = _wait_for(kyc_file.pk, {"approved", "in_review", "rejected", "escalated"})
    assert decided.status == status
    assert decided.auto_approved is (outcome == "passed")
    check.refresh_from_db()
    assert check.result == result
    assert check.evidence["vendor_result"] == outcome
    assert check.evidence["session_id"].startswith("lv_")
    assert AuditEvent.objects.filter(action="kyc.liveness_answered").count() == 1
    # The checks ran twice (on submit, on the vendor's answer); the passport was read once.
    assert len(reads) == 1


def _signed(event: dict[str, Any], *, secret: str = SECRET, timestamp: int | None = None):
    body = json.dumps(event).encode()
    return body, webhook_sign(secret=secret, body=body, timestamp=timestamp)


def _post(body: bytes, header: str | None):
    headers = {SIGNATURE_HEADER: header} if header else {}
    return APIClient().post(WEBHOOK, body, content_type="application/json", headers=headers)


@pytest.fixture
def pending_check(liveness_rules, settings):
    settings.KYC_LIVENESS_URL = "http://127.0.0.1:9"  # never called: on_commit does not run
    settings.KYC_LIVENESS_WEBHOOK_SECRET = SECRET
    profile = _file_with_selfie(liveness_rules)
    kyc_file = submit_complete_file(profile)
    assert kyc_file.status == "checking"
    check = KycCheck.objects.unscoped().get(kyc_file=kyc_file, kind="liveness")
    assert check.result == "pending"
    return check


def _event(check: KycCheck, *, result: str = "passed", session: str = "lv_1") -> dict[str, Any]:
    return {
        "id": "evt_1",
        "type": "liveness.completed",
        "created": int(time.time()),
        "data": {
            "session_id": session,
            "reference": liveness_reference(check.pk),
            "result": result,
            "score": 0.97,
        },
    }


@pytest.mark.parametrize(
    ("tamper", "code"),
    [
        ("body", "signature_invalid"),
        ("stale", "signature_stale"),
        ("missing", "signature_missing"),
        ("secret", "signature_invalid"),
    ],
)
def test_bad_webhooks_are_refused_and_change_nothing(pending_check, tamper, code):
    body, header = _signed(
        _event(pending_check),
        secret="wrong" if tamper == "secret" else SECRET,
        timestamp=int(time.time()) - 301 if tamper == "stale" else None,
    )
    if tamper == "body":
        body = body.replace(b"passed", b"failed")
    response = _post(body, None if tamper == "missing" else header)
    assert response.status_code == 401
    assert response.json()["code"] == code
    pending_check.refresh_from_db()
    assert pending_check.result == "pending"


def test_a_verified_answer_counts_once(pending_check, django_capture_on_commit_callbacks):
    body, header = _signed(_event(pending_check))
    with django_capture_on_commit_callbacks(execute=False) as callbacks:
        first = _post(body, header)
    assert (first.status_code, first.json()) == (200, {"status": "recorded"})
    assert len(callbacks) == 1  # the file's checks run again
    again = _post(*_signed(_event(pending_check, result="failed")))
    assert (again.status_code, again.json()) == (200, {"status": "duplicate"})
    pending_check.refresh_from_db()
    assert pending_check.result == "pass"
    # The rerun decides the file.
    assert kyc_run_checks(kyc_file_id=pending_check.kyc_file_id).status == "approved"


def test_unknown_reference_wrong_session_and_bad_result_are_refused(pending_check):
    pending_check.evidence = {**pending_check.evidence, "session_id": "lv_real"}
    pending_check.save(update_fields=["evidence"])
    unknown = _event(pending_check)
    unknown["data"]["reference"] = "kyccheck-999999"
    cases = [
        (unknown, 404, "liveness_unknown"),
        (_event(pending_check, session="lv_other"), 400, "liveness_session_mismatch"),
        (_event(pending_check, result="maybe"), 400, "liveness_result_invalid"),
        ({"id": "x", "type": "liveness.completed"}, 400, "webhook_event_invalid"),
    ]
    for event, status, code in cases:
        response = _post(*_signed(event))
        assert (response.status_code, response.json()["code"]) == (status, code)
    not_json = b"{not json"
    response = _post(not_json, webhook_sign(secret=SECRET, body=not_json))
    assert (response.status_code, response.json()["code"]) == (400, "parse_error")
    pending_check.refresh_from_db()
    assert pending_check.result == "pending"


@pytest.mark.parametrize(
    ("selfie", "result", "provider"), [(True, "review", "none"), (False, "fail", "local")]
)
def test_without_a_vendor_or_a_selfie_liveness_goes_to_a_reviewer(
    liveness_rules, settings, selfie, result, provider
):
    settings.KYC_LIVENESS_URL = ""
    profile = (
        _file_with_selfie(liveness_rules) if selfie else register(liveness_rules.eu_brand).profile
    )
    kyc_file = submit_complete_file(profile)
    check = KycCheck.objects.unscoped().get(kyc_file=kyc_file, kind="liveness")
    assert (kyc_file.status, check.result, check.provider) == ("in_review", result, provider)


def test_an_unanswered_session_goes_to_a_reviewer(pending_check, settings):
    assert liveness_overdue_sweep() == 0
    later = timezone.now() + timezone.timedelta(minutes=settings.KYC_LIVENESS_TIMEOUT_MINUTES + 1)
    assert liveness_overdue_sweep(now=later) == 1
    pending_check.refresh_from_db()
    assert pending_check.result == "review"
    assert kyc_run_checks(kyc_file_id=pending_check.kyc_file_id).status == "in_review"
    assert liveness_overdue_sweep(now=later) == 0


# --- started by the client ---------------------------------------------------------------

START = "/api/v1/me/kyc/liveness"


def _liveness_step(api) -> dict[str, Any]:
    return steps(api)["liveness"]


def _client_check(profile) -> KycCheck:
    return (
        KycCheck.objects.unscoped()
        .filter(kyc_file__profile=profile, kind="liveness")
        .order_by("-pk")
        .first()
    )


def _answer(check: KycCheck, result: str, number: int = 1):
    """The vendor's signed verdict on the client's session, as its webhook sends it."""
    event = _event(check, result=result, session=check.evidence["session_id"])
    event["id"] = f"evt_{check.pk}_{number}"
    response = _post(*_signed(event))
    assert (response.status_code, response.json()) == (200, {"status": "recorded"})


class _NoRedirect(urllib.request.HTTPRedirectHandler):
    def redirect_request(self, *args: Any, **kwargs: Any) -> None:
        return None


@pytest.mark.django_db(transaction=True)
def test_the_client_starts_liveness_goes_through_the_vendor_page_and_submits(
    liveness_rules, vendor, eager_tasks, live_server, settings
):
    # Given a vendor and our API reachable at live_server, and a client with nothing done
    settings.PUBLIC_BASE_URL = live_server.url
    profile = register(liveness_rules.eu_brand).profile
    api = logged_in(profile)
    step = _liveness_step(api)
    assert (step["status"], step["extra"]["mode"]) == ("todo", "vendor")
    assert step["extra"]["liveness"]["status"] == "not_started"

    # When the client starts the check
    started = api.post(
        START, {"return_url": "https://eu.example.com/verify?step=liveness"}, format="json"
    )

    # Then the vendor's session is open and the front end has the page to send them to
    assert started.status_code == 201, started.json()
    body = started.json()
    assert body["session_id"].startswith("lv_")
    assert (body["status"], body["reason_code"]) == ("pending", "")
    assert body["capture_url"] == f"{vendor.url}/capture/{body['session_id']}"
    assert (body["attempts"], body["max_attempts"], body["attempts_left"]) == (1, 3, 2)
    started_audit = AuditEvent.objects.get(action="kyc.liveness_started")
    assert started_audit.actor_id == User.objects.get(kind="client", profile=profile).pk
    # Starting again while it is pending gives the same session.
    again = api.post(START, format="json")
    assert (again.status_code, again.json()["session_id"]) == (200, body["session_id"])
    assert KycCheck.objects.unscoped().filter(kind="liveness").count() == 1
    step = _liveness_step(api)
    assert (step["status"], step["extra"]["liveness"]["status"]) == ("done", "pending")

    # When the client's browser goes through the vendor's page
    page = urllib.request.urlopen(body["capture_url"], timeout=10)  # noqa: S310
    assert page.headers["Content-Type"].startswith("text/html")
    assert b"<form method='post'" in page.read()
    with pytest.raises(urllib.error.HTTPError) as sent:
        urllib.request.build_opener(_NoRedirect).open(
            urllib.request.Request(body["capture_url"], data=b"", method="POST"),  # noqa: S310
            timeout=10,
        )
    assert sent.value.code == 303
    assert sent.value.headers["Location"] == (
        f"https://eu.example.com/verify?step=liveness&session={body['session_id']}&status=submitted"
    )

    # Then the vendor's webhook says it passed, and the step shows it
    deadline = time.monotonic() + 20
    while _client_check(profile).result == "pending" and time.monotonic() < deadline:
        time.sleep(0.1)
    liveness = _liveness_step(api)["extra"]["liveness"]
    assert (liveness["status"], liveness["capture_url"]) == ("passed", "")

    # And submitting uses that check: no second session, and the file is approved
    complete(api, profile)
    submitted = api.post("/api/v1/me/kyc/submit")
    assert submitted.status_code == 200, submitted.json()
    assert api.get("/api/v1/me/kyc").json()["status"] == "approved"
    checks = KycCheck.objects.unscoped().filter(kind="liveness")
    assert [(c.result, c.evidence["session_id"]) for c in checks] == [("pass", body["session_id"])]


def test_submitting_while_the_check_is_pending_reuses_its_session(
    liveness_rules, vendor, django_capture_on_commit_callbacks
):
    profile = register(liveness_rules.eu_brand).profile
    api = logged_in(profile)
    session_id = api.post(START, format="json").json()["session_id"]
    complete(api, profile)
    assert api.post("/api/v1/me/kyc/submit").status_code == 200

    # The checks wait for the client's session instead of opening another.
    with django_capture_on_commit_callbacks(execute=False) as callbacks:
        kyc_file = kyc_run_checks(kyc_file_id=_client_check(profile).kyc_file_id)
    assert kyc_file.status == "checking"
    assert callbacks == []  # no session start queued
    check = _client_check(profile)
    assert KycCheck.objects.unscoped().filter(kind="liveness").count() == 1
    assert (check.result, check.evidence["session_id"]) == ("pending", session_id)

    _answer(check, "passed")
    assert kyc_run_checks(kyc_file_id=kyc_file.pk).status == "approved"


def test_a_failed_check_is_started_again_until_the_attempts_run_out(
    liveness_rules, vendor, settings
):
    settings.KYC_LIVENESS_MAX_ATTEMPTS = 2
    profile = register(liveness_rules.eu_brand).profile
    api = logged_in(profile)
    first = api.post(START, format="json").json()
    _answer(_client_check(profile), "failed")

    step = _liveness_step(api)
    assert (step["status"], step["reason_code"]) == ("todo", "liveness_failed")
    assert step["reason"] == "The liveness check did not pass."
    liveness = step["extra"]["liveness"]
    assert (liveness["status"], liveness["reason_code"], liveness["attempts_left"]) == (
        "failed",
        "liveness_failed",
        1,
    )
    refused = api.post("/api/v1/me/kyc/submit")
    assert "liveness" in refused.json()["steps"]

    second = api.post(START, format="json")
    assert second.status_code == 201, second.json()
    assert second.json()["session_id"] != first["session_id"]
    assert second.json()["attempts"] == 2
    _answer(_client_check(profile), "failed")

    # Out of attempts: no third start; the client submits and a reviewer looks.
    step = _liveness_step(api)
    assert (step["status"], step["reason_code"]) == ("done", "liveness_attempts_exceeded")
    third = api.post(START, format="json")
    assert (third.status_code, third.json()["code"]) == (409, "liveness_attempts_exceeded")
    assert KycCheck.objects.unscoped().filter(kind="liveness").count() == 2
    complete(api, profile)
    assert api.post("/api/v1/me/kyc/submit").status_code == 200
    kyc_file = kyc_run_checks(kyc_file_id=_client_check(profile).kyc_file_id)
    assert kyc_file.status == "in_review"
    assert KycCheck.objects.unscoped().filter(kind="liveness").count() == 2


def test_an_unanswered_client_check_may_be_started_again(liveness_rules, vendor, settings):
    profile = register(liveness_rules.eu_brand).profile
    api = logged_in(profile)
    first = api.post(START, format="json").json()
    later = timezone.now() + timezone.timedelta(minutes=settings.KYC_LIVENESS_TIMEOUT_MINUTES + 1)
    assert liveness_overdue_sweep(now=later) == 1
    step = _liveness_step(api)
    assert (step["status"], step["reason_code"]) == ("todo", "liveness_timeout")
    again = api.post(START, format="json")
    assert again.status_code == 201, again.json()
    assert again.json()["session_id"] != first["session_id"]


@pytest.mark.parametrize("fault", ["down", "refused"])
def test_a_vendor_that_fails_leaves_nothing_behind(liveness_rules, settings, request, fault):
    if fault == "down":
        settings.KYC_LIVENESS_URL = "http://127.0.0.1:9"
    else:
        request.getfixturevalue("vendor")
        settings.KYC_LIVENESS_API_KEY = "not-the-key"
    profile = register(liveness_rules.eu_brand).profile
    api = logged_in(profile)
    response = api.post(START, format="json")
    assert (response.status_code, response.json()["code"]) == (502, "liveness_vendor_error")
    assert not KycCheck.objects.unscoped().filter(kind="liveness").exists()
    assert not AuditEvent.objects.filter(action="kyc.liveness_started").exists()
    liveness = _liveness_step(api)["extra"]["liveness"]
    assert (liveness["status"], liveness["attempts"]) == ("not_started", 0)


def test_starting_liveness_where_it_cannot_be_started_is_refused(kyc_world, settings):
    settings.KYC_LIVENESS_URL = "http://127.0.0.1:9"  # never reached: refused before
    # The entity's rules do not ask for liveness.
    profile = register(kyc_world.eu_brand).profile
    api = logged_in(profile)
    response = api.post(START, format="json")
    assert (response.status_code, response.json()["code"]) == (409, "liveness_not_required")
    assert "liveness" not in steps(api)
    ruleset_publish(
        actor=SYSTEM,
        entity=kyc_world.eu,
        kind="kyc",
        document={**KYC_RULES, "liveness_required": True},
    )
    for body, code in [
        ({"return_url": "javascript:alert(1)"}, "return_url_invalid"),
        ({"return_url": 5}, "return_url_invalid"),
        ({"return_url": "https://" + "a" * 2000}, "return_url_invalid"),
    ]:
        response = api.post(START, body, format="json")
        assert (response.status_code, response.json()["code"]) == (400, code), body
    # Not once the file is submitted.
    KycFile.objects.unscoped().filter(profile=profile).update(status="submitted")
    response = api.post(START, format="json")
    assert (response.status_code, response.json()["code"]) == (409, "kyc_file_locked")
    assert APIClient().post(START, format="json").status_code == 401
    as_staff = APIClient()
    as_staff.force_authenticate(kyc_world.eu_compliance)
    assert as_staff.post(START, format="json").status_code == 403
    assert not KycCheck.objects.unscoped().filter(kind="liveness").exists()


def test_without_a_vendor_the_client_sends_a_selfie_for_the_reviewer(liveness_rules, settings):
    settings.KYC_LIVENESS_URL = ""
    profile = register(liveness_rules.eu_brand).profile
    api = logged_in(profile)
    response = api.post(START, format="json")
    assert (response.status_code, response.json()["code"]) == (
        409,
        "liveness_vendor_not_configured",
    )
    step = _liveness_step(api)
    assert (step["status"], step["extra"]["mode"]) == ("todo", "selfie")
    assert upload(api, "selfie", render_photo_without_mrz(), "me.png").status_code == 201
    assert _liveness_step(api)["status"] == "done"
    complete(api, profile)
    assert api.post("/api/v1/me/kyc/submit").status_code == 200
    kyc_file = kyc_run_checks(kyc_file_id=KycFile.objects.unscoped().get(profile=profile).pk)
    check = KycCheck.objects.unscoped().get(kyc_file=kyc_file, kind="liveness")
    assert (kyc_file.status, check.provider, check.result) == ("in_review", "none", "review")
