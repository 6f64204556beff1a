"""The KYC rule schema: questionnaire, appropriateness test, proof-of-address formats and
enhanced-due-diligence triggers. Documents written before these rules stay valid and keep their
meaning; new rules are checked as strictly as the old ones."""

from __future__ import annotations

from typing import Any

import pytest

from brokercrm.errors import ValidationFailed
from brokercrm.gate import SYSTEM
from entities.models import RuleSet
from entities.rules import APPROPRIATENESS_QUESTIONS, KYC_RULE_DEFAULTS, kyc_rules_with_defaults
from entities.services import ruleset_publish

LEGACY = {
    "identity_documents": ["passport", "national_id"],
    "proof_of_address_max_age_days": 90,
    "source_of_funds_threshold": "15000.00",
    "liveness_required": True,
    "auto_approve_max_risk": "low",
}

FULL = {
    **LEGACY,
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
        "questions": ["leverage_effect", "margin_close_out", "leveraged_trades_last_year"],
        "pass_mark": 3,
    },
    "edd": {
        "risk_levels": ["high"],
        "expected_deposit_above": "50000.00",
        "annual_income_above": "250000",
        "residence_countries": ["pk", "NG"],
        "source_of_funds": ["other", "gift"],
        "unexplained_source_of_funds": True,
    },
}


def test_a_document_written_before_the_new_rules_is_valid_and_gets_the_defaults(world):
    # Given a KYC document that names none of the new rules
    ruleset = ruleset_publish(actor=SYSTEM, entity=world.eu, kind="kyc", document=LEGACY)
    # Then the stored version spells out the defaults, which ask for nothing new
    assert ruleset.document == {
        **LEGACY,
        "source_of_funds_threshold": "15000",
        "proof_of_address_types": ["*"],
        "questionnaire_required": [],
        "appropriateness": {
            "mode": "off",
            "questions": list(APPROPRIATENESS_QUESTIONS),
            "pass_mark": 0,
        },
        "edd": {
            "risk_levels": [],
            "expected_deposit_above": None,
            "annual_income_above": None,
            "residence_countries": [],
            "source_of_funds": [],
            "unexplained_source_of_funds": False,
        },
    }
    # And a version stored before the rules existed reads the same
    assert kyc_rules_with_defaults(LEGACY) == {**ruleset.document, **LEGACY}


def test_a_full_document_is_normalised(world):
    ruleset = ruleset_publish(actor=SYSTEM, entity=world.eu, kind="kyc", document=FULL)
    assert ruleset.document["edd"] == {
        **FULL["edd"],
        "expected_deposit_above": "50000",
        "residence_countries": ["NG", "PK"],
    }
    assert ruleset.document["appropriateness"] == FULL["appropriateness"]


def test_partly_given_nested_rules_take_the_rest_from_the_defaults(world):
    document = {**LEGACY, "appropriateness": {"mode": "warn", "pass_mark": 4}}
    stored = ruleset_publish(actor=SYSTEM, entity=world.eu, kind="kyc", document=document).document
    assert stored["appropriateness"] == {
        "mode": "warn",
        "questions": list(APPROPRIATENESS_QUESTIONS),
        "pass_mark": 4,
    }
    assert kyc_rules_with_defaults({**LEGACY, "edd": {"risk_levels": ["high"]}})["edd"] == {
        **KYC_RULE_DEFAULTS["edd"],
        "risk_levels": ["high"],
    }


def _with(path: str, value: Any) -> dict[str, Any]:
    document = {**FULL, "appropriateness": {**FULL["appropriateness"]}, "edd": {**FULL["edd"]}}
    *parents, key = path.split(".")
    target = document
    for parent in parents:
        target = target[parent]
    target[key] = value
    return document


@pytest.mark.parametrize(
    ("path", "value", "errors"),
    [
        (
            "appropriateness.mode",
            "maybe",
            {"appropriateness": {"mode": ['"maybe" is not a valid choice.']}},
        ),
        (
            "appropriateness.pass_mark",
            5,
            {
                "appropriateness": {
                    "pass_mark": ["Must be between 1 and 4, the best possible score."]
                }
            },
        ),
        (
            "appropriateness.pass_mark",
            0,
            {
                "appropriateness": {
                    "pass_mark": ["Must be between 1 and 4, the best possible score."]
                }
            },
        ),
        (
            "appropriateness.questions",
            ["horoscope"],
            {"appropriateness": {"questions": {0: ['"horoscope" is not a valid choice.']}}},
        ),
        (
            "appropriateness.questions",
            ["cfd_ownership", "cfd_ownership"],
            {"appropriateness": {"questions": ["A question is listed twice."]}},
        ),
        (
            "appropriateness.questions",
            [],
            {"appropriateness": {"questions": ["Ask at least one question."]}},
        ),
        ("appropriateness.surprise", 1, {"appropriateness": {"surprise": ["Unknown rule."]}}),
        ("edd.typo_trigger", True, {"edd": {"typo_trigger": ["Unknown rule."]}}),
        (
            "edd.expected_deposit_above",
            "-1",
            {
                "edd": {
                    "expected_deposit_above": ["Ensure this value is greater than or equal to 0."]
                }
            },
        ),
        (
            "edd.residence_countries",
            ["*"],
            {"edd": {"residence_countries": ['"*" is not allowed here.']}},
        ),
        (
            "edd.residence_countries",
            ["ZZ"],
            {
                "edd": {
                    "residence_countries": {0: ["'ZZ' is not an ISO 3166-1 alpha-2 country code."]}
                }
            },
        ),
        (
            "edd.risk_levels",
            ["low"],
            {"edd": {"risk_levels": {0: ['"low" is not a valid choice.']}}},
        ),
        (
            "edd.risk_levels",
            ["medium"],
            {"edd": {"risk_levels": ["Listing medium without high would let high risk skip EDD."]}},
        ),
        (
            "edd.source_of_funds",
            ["lottery"],
            {"edd": {"source_of_funds": {0: ['"lottery" is not a valid choice.']}}},
        ),
        ("edd", None, {"edd": ["This field may not be null."]}),
        (
            "proof_of_address_types",
            ["*", "utility_bill"],
            {"proof_of_address_types": ['"*" stands alone.']},
        ),
        (
            "proof_of_address_types",
            ["utility_bill", "utility_bill"],
            {"proof_of_address_types": ["An entry is listed twice."]},
        ),
        (
            "proof_of_address_types",
            ["library_card"],
            {"proof_of_address_types": {0: ['"library_card" is not a valid choice.']}},
        ),
        ("proof_of_address_types", [], {"proof_of_address_types": ["This list may not be empty."]}),
        (
            "questionnaire_required",
            ["star_sign"],
            {"questionnaire_required": {0: ['"star_sign" is not a valid choice.']}},
        ),
        (
            # A trigger on an answer nobody is asked for could never fire.
            "questionnaire_required",
            ["employment_status", "occupation", "trading_experience"],
            {
                "edd": {
                    "expected_deposit_above": [
                        "Needs 'expected_deposit' in questionnaire_required."
                    ],
                    "annual_income_above": ["Needs 'annual_income' in questionnaire_required."],
                    "source_of_funds": ["Needs 'source_of_funds' in questionnaire_required."],
                }
            },
        ),
    ],
)
def test_bad_kyc_rules_are_refused_with_the_path_and_nothing_is_stored(world, path, value, errors):
    with pytest.raises(ValidationFailed) as refused:
        ruleset_publish(actor=SYSTEM, entity=world.eu, kind="kyc", document=_with(path, value))
    assert refused.value.code == "ruleset_invalid"
    assert refused.value.extra["errors"] == errors
    assert not RuleSet.objects.unscoped().filter(kind="kyc").exists()


def test_warn_mode_needs_a_reachable_pass_mark_and_off_needs_none(world):
    off = _with("appropriateness.mode", "off")
    off["appropriateness"]["pass_mark"] = 0
    assert ruleset_publish(actor=SYSTEM, entity=world.eu, kind="kyc", document=off).version == 1
    with pytest.raises(ValidationFailed):
        ruleset_publish(
            actor=SYSTEM,
            entity=world.eu,
            kind="kyc",
            document={**LEGACY, "appropriateness": {"mode": "warn"}},
        )


def test_the_demo_kyc_rules_are_valid_and_differ_by_entity():
    from entities.demo import COUNTRY_RULES, RULES
    from entities.rules import validate_rule_document

    kyc = {code: validate_rule_document("kyc", rules["kyc"]) for code, rules in RULES.items()}
    for _, kind, _, document in COUNTRY_RULES:
        validate_rule_document(kind, document)
    assert {code: rules["appropriateness"]["mode"] for code, rules in kyc.items()} == {
        "EU": "review",
        "UK": "review",
        "SC": "warn",
    }
    assert len(kyc["UK"]["proof_of_address_types"]) < len(kyc["EU"]["proof_of_address_types"])
    assert kyc["SC"]["edd"]["residence_countries"] == ["NG", "PK", "VN"]
