"""The questionnaire the entity's KYC rules ask for: validated whole at submission, refused with
per-field codes while the file stays a draft; and the appropriateness test's scoring."""

from __future__ import annotations

import pytest
from rest_framework.test import APIClient

from audit.models import AuditEvent
from brokercrm.gate import SYSTEM
from entities.rules import kyc_rules_with_defaults
from entities.services import ruleset_publish
from identity.tests.factories import register
from kyc.models import KycFile
from kyc.questionnaire import QuestionnaireInvalid, appropriateness_assess, questionnaire_validate
from kyc.services import kyc_file_for, kyc_submit

from .conftest import (
    FAILING_ANSWERS,
    FULL_QUESTIONNAIRE,
    KYC_RULES,
    KYC_RULES_FULL,
    PASSING_ANSWERS,
)

FULL = kyc_rules_with_defaults(KYC_RULES_FULL)


def refusal(data, rules=FULL) -> QuestionnaireInvalid:
    with pytest.raises(QuestionnaireInvalid) as refused:
        questionnaire_validate(data, rules=rules)
    return refused.value


def test_a_complete_questionnaire_is_normalised():
    # Given every answer, amounts with cents and trailing zeros
    answers = {**FULL_QUESTIONNAIRE, "annual_income": "60000.50", "expected_deposit": 2500}
    # When validated
    clean = questionnaire_validate(answers, rules=FULL)
    # Then amounts are plain decimal strings and every answer is kept
    assert clean == {**FULL_QUESTIONNAIRE, "annual_income": "60000.5", "expected_deposit": "2500"}


def test_every_missing_answer_is_reported_at_once():
    error = refusal({"occupation": "teacher"})
    assert error.code == "questionnaire_invalid"
    assert error.extra["error_codes"] == {
        "employment_status": ["required"],
        "annual_income": ["required"],
        "source_of_funds": ["required"],
        "expected_deposit": ["required"],
        "trading_experience": ["required"],
        **{f"appropriateness.{question}": ["required"] for question in PASSING_ANSWERS},
    }
    assert error.extra["errors"]["annual_income"] == ["This question must be answered."]


@pytest.mark.parametrize(
    ("change", "path", "code"),
    [
        ({"employment_status": "astronaut"}, "employment_status", "invalid_choice"),
        ({"annual_income": "-5"}, "annual_income", "min_value"),
        ({"annual_income": "lots"}, "annual_income", "invalid"),
        ({"annual_income": "1e40"}, "annual_income", "max_digits"),
        ({"annual_income": "NaN"}, "annual_income", "invalid"),
        ({"expected_deposit": True}, "expected_deposit", "invalid"),
        ({"expected_deposit": "10.123"}, "expected_deposit", "max_decimal_places"),
        ({"expected_deposit": None}, "expected_deposit", "null"),
        ({"source_of_funds": "lottery"}, "source_of_funds", "invalid_choice"),
        ({"source_of_funds": ""}, "source_of_funds", "required"),
        ({"occupation": "   "}, "occupation", "required"),
        ({"occupation": "x" * 101}, "occupation", "max_length"),
        ({"trading_experience": ["some"]}, "trading_experience", "invalid_choice"),
        ({"favourite_colour": "blue"}, "favourite_colour", "unknown"),
        (
            {"appropriateness": {**PASSING_ANSWERS, "cfd_ownership": "maybe"}},
            "appropriateness.cfd_ownership",
            "invalid_choice",
        ),
        (
            {"appropriateness": {**PASSING_ANSWERS, "horoscope": "yes"}},
            "appropriateness.horoscope",
            "unknown",
        ),
        ({"appropriateness": ["60_percent"]}, "appropriateness", "not_an_object"),
        ({"appropriateness": None}, "appropriateness", "not_an_object"),
    ],
)
def test_bad_answers_are_refused_with_the_field_and_a_stable_code(change, path, code):
    error = refusal({**FULL_QUESTIONNAIRE, **change})
    assert error.code == "questionnaire_invalid"
    assert error.extra["error_codes"] == {path: [code]}


@pytest.mark.parametrize("data", [None, [], "employed", 42])
def test_a_questionnaire_that_is_not_an_object_is_refused(data):
    assert refusal(data).extra["error_codes"] == {"questionnaire": ["not_an_object"]}


def test_rules_published_before_the_questionnaire_rules_require_nothing_new():
    # A document without the new rules keeps its meaning: answers are checked for format only.
    legacy = kyc_rules_with_defaults(KYC_RULES)
    assert questionnaire_validate({"occupation": "teacher"}, rules=legacy) == {
        "occupation": "teacher"
    }
    assert refusal({"annual_income": "-1"}, rules=legacy).extra["error_codes"] == {
        "annual_income": ["min_value"]
    }


def test_appropriateness_scores_each_answer_against_the_pass_mark():
    passed = appropriateness_assess(questionnaire={"appropriateness": PASSING_ANSWERS}, rules=FULL)
    failed = appropriateness_assess(questionnaire={"appropriateness": FAILING_ANSWERS}, rules=FULL)
    assert (passed.score, passed.max_score, passed.pass_mark, passed.passed) == (6, 8, 5, True)
    assert (failed.score, failed.passed, failed.blocking) == (1, False, True)
    assert failed.answers[0] == {
        "question": "leverage_effect",
        "answer": "2_percent",
        "points": 0,
        "max_points": 1,
    }
    assert failed.evidence("EU/kyc/*/v2")["reason"] == (
        "appropriateness score 1 is below the pass mark 5"
    )
    off = kyc_rules_with_defaults(KYC_RULES)
    assert appropriateness_assess(questionnaire={}, rules=off) is None


# --- at submission --------------------------------------------------------------------------


def test_an_incomplete_questionnaire_leaves_the_file_a_draft(full_rules_world):
    # Given a draft under rules that require the full questionnaire
    profile = register(full_rules_world.eu_brand).profile
    kyc_file = kyc_file_for(profile=profile)
    incomplete = {k: v for k, v in FULL_QUESTIONNAIRE.items() if k != "annual_income"}
    # When the client submits without their income
    with pytest.raises(QuestionnaireInvalid) as refused:
        kyc_submit(actor=SYSTEM, kyc_file=kyc_file, questionnaire=incomplete)
    # Then it is refused and nothing was written
    assert refused.value.extra["error_codes"] == {"annual_income": ["required"]}
    kyc_file.refresh_from_db()
    assert (kyc_file.status, kyc_file.questionnaire, kyc_file.submitted_at) == ("draft", {}, None)
    assert not AuditEvent.objects.filter(action="kyc.submitted").exists()
    # And a corrected questionnaire goes through, recording the rule-set version
    kyc_submit(actor=SYSTEM, kyc_file=kyc_file, questionnaire=FULL_QUESTIONNAIRE)
    kyc_file.refresh_from_db()
    assert (kyc_file.status, kyc_file.kyc_ruleset) == ("submitted", "EU/kyc/*/v2")
    assert kyc_file.questionnaire == FULL_QUESTIONNAIRE
    event = AuditEvent.objects.get(action="kyc.submitted")
    assert event.after == {"status": "submitted", "ruleset": "EU/kyc/*/v2"}


def test_the_residence_countrys_own_rules_decide_what_is_asked(kyc_world):
    # Given EU rules that ask nothing extra, except for French residents
    ruleset_publish(
        actor=SYSTEM, entity=kyc_world.eu, kind="kyc", country="FR", document=KYC_RULES_FULL
    )
    german = register(kyc_world.eu_brand).profile
    french = register(
        kyc_world.eu_brand,
        given_name="Camille",
        family_name="Laurent",
        residence_country="FR",
        nationality="FR",
        email="camille@example.fr",
        phone="+33 6 12 34 56 78",
        document=None,
        device_fingerprint="dev-camille-0001",
        ip="192.0.2.77",
    ).profile
    short = {"occupation": "teacher", "expected_deposit": "500"}
    # When both submit the same short questionnaire
    kyc_submit(actor=SYSTEM, kyc_file=kyc_file_for(profile=german), questionnaire=short)
    with pytest.raises(QuestionnaireInvalid):
        kyc_submit(actor=SYSTEM, kyc_file=kyc_file_for(profile=french), questionnaire=short)
    # Then only the German file is submitted
    statuses = dict(KycFile.objects.unscoped().values_list("profile_id", "status"))
    assert statuses == {german.pk: "submitted", french.pk: "draft"}
    assert kyc_file_for(profile=german).kyc_ruleset == "EU/kyc/*/v1"


def test_the_api_returns_every_field_problem(full_rules_world):
    profile = register(full_rules_world.eu_brand).profile
    kyc_file = kyc_file_for(profile=profile)
    client = APIClient()
    client.force_authenticate(full_rules_world.eu_compliance)
    url = f"/api/v1/kyc-files/{kyc_file.pk}/submit"
    bad = client.post(
        url,
        {
            **FULL_QUESTIONNAIRE,
            "annual_income": "-3",
            "appropriateness": {**PASSING_ANSWERS, "cfd_ownership": "perhaps"},
        },
        format="json",
    )
    assert bad.status_code == 400
    body = bad.json()
    assert body["code"] == "questionnaire_invalid"
    assert body["error_codes"] == {
        "annual_income": ["min_value"],
        "appropriateness.cfd_ownership": ["invalid_choice"],
    }
    assert body["errors"]["appropriateness.cfd_ownership"] == ["Answer with one of: no, yes."]
    not_json_object = client.post(url, ["a", "list"], format="json")
    assert not_json_object.status_code == 400
    assert not_json_object.json()["code"] == "questionnaire_invalid"
    assert KycFile.objects.unscoped().get(pk=kyc_file.pk).status == "draft"
    good = client.post(url, FULL_QUESTIONNAIRE, format="json")
    assert good.status_code == 200, good.content
    assert good.json()["status"] == "submitted"
