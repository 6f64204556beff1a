from __future__ import annotations

from pathlib import Path

import pytest

from brokercrm.gate import SYSTEM
from entities.services import ruleset_publish
from kyc.services import screening_load
from kyc.specimens import SPECIMEN_PDF

DEMO_LIST = Path(__file__).resolve().parents[1] / "data" / "sanctions_demo.jsonl"

MINIMAL_PDF = SPECIMEN_PDF

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
        ruleset_publish(actor=SYSTEM, entity=entity, kind="kyc", document=KYC_RULES)
        ruleset_publish(
            actor=SYSTEM, entity=entity, kind="cooling_off", document={"first_withdrawal_hours": 24}
        )
    screening_load(path=DEMO_LIST)
    return world


# A rule set that uses every KYC rule: the full questionnaire, a CFD appropriateness test that
# holds failures for review, proof-of-address formats and enhanced-due-diligence triggers. Tests
# publish it (or a variant) as the entity's next version on top of `kyc_world`.
KYC_RULES_FULL = {
    **KYC_RULES,
    "proof_of_address_types": ["utility_bill", "bank_statement"],
    "questionnaire_required": [
        "employment_status",
        "occupation",
        "annual_income",
        "source_of_funds",
        "expected_deposit",
        "trading_experience",
    ],
    "appropriateness": {
        "mode": "review",
        "questions": [
            "leverage_effect",
            "margin_close_out",
            "cfd_ownership",
            "stop_loss_slippage",
            "overnight_financing",
            "leveraged_trades_last_year",
            "finance_background",
        ],
        "pass_mark": 5,
    },
    "edd": {
        "risk_levels": ["high"],
        "expected_deposit_above": "100000",
        "annual_income_above": "500000",
        "residence_countries": ["CY"],
        "source_of_funds": ["gift"],
        "unexplained_source_of_funds": True,
    },
}

# Scores 6 of 8 (pass mark 5): every knowledge question right, some experience, no background.
PASSING_ANSWERS = {
    "leverage_effect": "60_percent",
    "margin_close_out": "positions_closed",
    "cfd_ownership": "no",
    "stop_loss_slippage": "no_it_may_slip",
    "overnight_financing": "yes",
    "leveraged_trades_last_year": "1_to_10",
    "finance_background": "no",
}
# Scores 1 of 8: only the ownership question right.
FAILING_ANSWERS = {
    "leverage_effect": "2_percent",
    "margin_close_out": "nothing",
    "cfd_ownership": "no",
    "stop_loss_slippage": "yes",
    "overnight_financing": "no",
    "leveraged_trades_last_year": "none",
    "finance_background": "no",
}

FULL_QUESTIONNAIRE = {
    "employment_status": "employed",
    "occupation": "software engineer",
    "annual_income": "60000",
    "source_of_funds": "salary",
    "expected_deposit": "2000",
    "trading_experience": "some",
    "appropriateness": PASSING_ANSWERS,
}


@pytest.fixture
def full_rules_world(kyc_world):
    """EU with every KYC rule in force (EU/kyc/*/v2)."""
    ruleset_publish(actor=SYSTEM, entity=kyc_world.eu, kind="kyc", document=KYC_RULES_FULL)
    return kyc_world
