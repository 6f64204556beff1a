from __future__ import annotations

from django.core.files.uploadedfile import SimpleUploadedFile
from django.utils import timezone
from rest_framework.test import APIClient

from audit.models import AuditEvent
from identity.tests.factories import register
from kyc.models import KycDocument, KycFile
from kyc.services import kyc_file_for

from .conftest import MINIMAL_PDF


def staff(user) -> APIClient:
    client = APIClient()
    client.force_authenticate(user)
    return client


def test_upload_read_and_queue_by_persona(kyc_world):
    profile = register(kyc_world.eu_brand).profile
    kyc_file = kyc_file_for(profile=profile)
    url = f"/api/v1/kyc-files/{kyc_file.pk}"
    upload = staff(kyc_world.eu_compliance).post(
        f"{url}/documents",
        {
            "kind": "proof_of_address",
            "file": SimpleUploadedFile("bill.pdf", MINIMAL_PDF),
            "issued_on": timezone.localdate().isoformat(),
        },
        format="multipart",
    )
    assert upload.status_code == 201, upload.content
    document = KycDocument.objects.unscoped().get()
    refused = staff(kyc_world.eu_compliance).post(
        f"{url}/documents",
        {"kind": "identity", "file": SimpleUploadedFile("passport.pdf", b"\x7fELF" + b"\0" * 64)},
        format="multipart",
    )
    assert refused.status_code == 400
    assert refused.json()["code"] == "upload_type_not_allowed"
    content = staff(kyc_world.eu_compliance).get(f"/api/v1/kyc-documents/{document.pk}/content")
    assert content.status_code == 200
    assert content.content == MINIMAL_PDF
    assert AuditEvent.objects.filter(action="kyc.document_read").count() == 1
    # Support sees profiles but never KYC documents; another entity sees nothing.
    assert (
        staff(kyc_world.eu_support).get(f"/api/v1/kyc-documents/{document.pk}/content").status_code
        == 404
    )
    assert staff(kyc_world.uk_compliance).get(url).status_code == 404
    case = staff(kyc_world.eu_compliance).get(url).json()
    assert [d["kind"] for d in case["documents"]] == ["proof_of_address"]
    assert staff(kyc_world.group_compliance).get(url).status_code == 200


def test_submit_validates_the_questionnaire(kyc_world):
    profile = register(kyc_world.eu_brand).profile
    kyc_file = kyc_file_for(profile=profile)
    bad = staff(kyc_world.eu_compliance).post(
        f"/api/v1/kyc-files/{kyc_file.pk}/submit", {"employment_status": "astronaut"}, format="json"
    )
    assert bad.status_code == 400
    body = bad.json()
    assert body["code"] == "questionnaire_invalid"
    assert body["error_codes"] == {"employment_status": ["invalid_choice"]}
    assert body["errors"]["employment_status"] == ['"astronaut" is not a valid choice.']
    assert KycFile.objects.unscoped().get(pk=kyc_file.pk).status == "draft"
