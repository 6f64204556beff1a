"""A low-risk applicant approved automatically, end to end through a real Celery worker and the
liveness vendor simulator at its default delay: submission commits, the task goes through Redis,
the worker runs OCR, screening and risk against the same database and opens a liveness session;
the vendor answers by signed webhook to the API, which sends the file back to the worker, and
the file comes back approved."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from datetime import timedelta
from pathlib import Path
from urllib.parse import quote

import pytest
from django.conf import settings
from django.db import connection
from django.utils import timezone

from brokercrm.gate import SYSTEM
from brokercrm.simulators import SimulatorProcess
from entities.services import ruleset_publish
from identity.tests.factories import register
from kyc.models import KycCheck, KycFile
from kyc.services import document_upload, kyc_file_for, kyc_submit, screening_load
from kyc.specimens import readable_passport, render_photo_without_mrz, td3_lines
from kyc.tests.conftest import DEMO_LIST, KYC_RULES, MINIMAL_PDF

BASE_DIR = Path(__file__).resolve().parents[1]


LIVENESS_SECRET = "e2e-liveness-secret"


def _worker_env() -> dict[str, str]:
    """The worker must use the test database, not the development one."""
    db = connection.settings_dict
    host = db["HOST"] or "localhost"
    netloc = f"{db['USER']}@{quote(host, safe='') if host.startswith('/') else host}"
    if db.get("PORT"):
        netloc += f":{db['PORT']}"
    return {
        **os.environ,
        "DATABASE_URL": f"postgresql://{netloc}/{db['NAME']}",
        "DATABASE_CONN_MAX_AGE": "0",
        "KYC_LIVENESS_URL": settings.KYC_LIVENESS_URL,
        "KYC_LIVENESS_WEBHOOK_SECRET": LIVENESS_SECRET,
        "PUBLIC_BASE_URL": settings.PUBLIC_BASE_URL,
    }


@pytest.mark.django_db(transaction=True)
def test_low_risk_applicant_approved_through_the_worker(world, capsys, live_server, settings):
    vendor = SimulatorProcess("kyc.simulator", "--secret", LIVENESS_SECRET).start()
    settings.KYC_LIVENESS_URL = vendor.url
    settings.KYC_LIVENESS_WEBHOOK_SECRET = LIVENESS_SECRET
    settings.PUBLIC_BASE_URL = live_server.url
    ruleset_publish(
        actor=SYSTEM,
        entity=world.eu,
        kind="kyc",
        document={**KYC_RULES, "liveness_required": True},
    )
    ruleset_publish(
        actor=SYSTEM, entity=world.eu, kind="cooling_off", document={"first_withdrawal_hours": 24}
    )
    screening_load(path=DEMO_LIST)
    profile = register(world.eu_brand).profile
    kyc_file = kyc_file_for(profile=profile)
    passport, _expiry = readable_passport(
        lambda day: td3_lines(
            surname="PETROV",
            given_names="IVAN",
            document_number="C01X00T47",
            birth_date=profile.birth_date,
            expiry_date=day,
            sex="M",
            nationality="D",
            issuing_country="D",
        ),
        timezone.localdate() + timedelta(days=2000),
    )
    document_upload(
        actor=SYSTEM, kyc_file=kyc_file, kind="identity", doc_type="passport", data=passport
    )
    document_upload(
        actor=SYSTEM,
        kyc_file=kyc_file,
        kind="proof_of_address",
        data=MINIMAL_PDF,
        issued_on=timezone.localdate() - timedelta(days=5),
    )
    document_upload(actor=SYSTEM, kyc_file=kyc_file, kind="selfie", data=render_photo_without_mrz())
    log = (settings.VAR_DIR / "kyc-e2e-worker.log").open("w")
    worker = subprocess.Popen(  # noqa: S603 - our own worker
        [
            sys.executable,
            "-m",
            "celery",
            "-A",
            "brokercrm",
            "worker",
            "--pool",
            "solo",
            "--loglevel",
            "WARNING",
            "--hostname",
            f"e2e-{os.getpid()}@%h",
            "--without-mingle",
            "--without-gossip",
        ],
        cwd=BASE_DIR,
        env=_worker_env(),
        stdout=subprocess.DEVNULL,
        stderr=log,
    )
    try:
        started = time.monotonic()
        kyc_submit(
            actor=SYSTEM,
            kyc_file=kyc_file,
            questionnaire={"occupation": "teacher", "expected_deposit": "500"},
        )
        deadline = started + 120
        status = None
        while time.monotonic() < deadline:
            status = KycFile.objects.unscoped().values_list("status", flat=True).get(pk=kyc_file.pk)
            if status not in ("submitted", "checking"):
                break
            time.sleep(0.25)
        elapsed = time.monotonic() - started
    finally:
        vendor.stop()
        worker.terminate()
        try:
            worker.wait(timeout=20)
        except subprocess.TimeoutExpired:
            worker.kill()  # a warm shutdown waits for a running task; this one is not needed
            worker.wait()
        for document in kyc_file.documents.model.objects.unscoped().filter(kyc_file=kyc_file):
            (
                Path(settings.KYC_STORAGE_DIR)
                if hasattr(settings, "KYC_STORAGE_DIR")
                else settings.VAR_DIR / "kyc-documents"
            ).joinpath(document.storage_name).unlink(missing_ok=True)
    log.close()
    assert status == "approved", (settings.VAR_DIR / "kyc-e2e-worker.log").read_text()[-3000:]
    assert KycFile.objects.unscoped().get(pk=kyc_file.pk).auto_approved is True
    liveness = KycCheck.objects.unscoped().get(kyc_file=kyc_file, kind="liveness")
    assert (liveness.result, liveness.evidence["vendor_result"]) == ("pass", "passed")
    with capsys.disabled():
        print(
            "\nKYC submission to automatic approval through the worker and the liveness "
            f"vendor (default delay): {elapsed:.1f} s"
        )
