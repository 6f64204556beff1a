"""Liveness through a vendor: the simulator process answers by signed webhook after a delay."""

from __future__ import annotations

import json
import time
from typing import Any

import pytest
from django.utils import timezone
from rest_framework.test import APIClient

from audit.models import AuditEvent
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
    document_upload(actor=None, kyc_file=kyc_file, kind="selfie", data=render_photo_without_mrz())
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
    liveness_rules, vendor, eager_tasks, live_server, settings, outcome, status, result
):
    # Given a vendor that answers after half a second, and our API reachable at live_server
    settings.PUBLIC_BASE_URL = live_server.url
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
