from __future__ import annotations

from pathlib import Path

import pytest

from entities.services import ruleset_publish
from kyc.services import screening_load

DEMO_LIST = Path(__file__).resolve().parents[1] / "data" / "sanctions_demo.jsonl"

MINIMAL_PDF = (
    b"%PDF-1.4\n1 0 obj<</Type/Catalog/Pages 2 0 R>>endobj\n"
    b"2 0 obj<</Type/Pages/Kids[3 0 R]/Count 1>>endobj\n"
    b"3 0 obj<</Type/Page/Parent 2 0 R/MediaBox[0 0 612 792]>>endobj\n"
    b"trailer<</Root 1 0 R>>\n%%EOF\n"
)

KYC_RULES = {
    "identity_documents": ["passport", "national_id"],
    "proof_of_address_max_age_days": 90,
    "source_of_funds_threshold": "20000",
    "liveness_required": False,
    "auto_approve_max_risk": "low",
}


@pytest.fixture
def kyc_world(world, settings, tmp_path):
    settings.KYC_STORAGE_DIR = tmp_path / "kyc-documents"
    for entity in (world.eu, world.uk):
        ruleset_publish(actor=None, entity=entity, kind="kyc", document=KYC_RULES)
        ruleset_publish(
            actor=None, entity=entity, kind="cooling_off", document={"first_withdrawal_hours": 24}
        )
    screening_load(path=DEMO_LIST)
    return world
