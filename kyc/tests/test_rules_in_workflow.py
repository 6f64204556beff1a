"""The entity's KYC rules in the workflow: the appropriateness test, enhanced-due-diligence
triggers, proof-of-address formats, the source-of-funds document, and the rule-set version each
decision cites. Every file goes through the real checks (rendered passport, OCR, screening)."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest
from django.test import Client
from django.utils import timezone
from rest_framework.test import APIClient

from audit.models import AuditEvent
from brokercrm.gate import SYSTEM
from entities.services import ruleset_publish
from identity.models import ClientProfile, Person
from identity.services import person_flags_set
from identity.tests.factories import register
from kyc.models import KycCheck, KycFile
from kyc.services import document_upload, kyc_file_for, kyc_run_checks, kyc_submit

from .conftest import FAILING_ANSWERS, FULL_QUESTIONNAIRE, KYC_RULES_FULL, MINIMAL_PDF
from .test_workflow import passport_for


def submit(
    profile: ClientProfile,
    questionnaire: dict[str, Any] | None = None,
    *,
    address_type: str = "utility_bill",
    address_age_days: int = 10,
    source_of_funds_document: bool = False,
) -> KycFile:
    kyc_file = kyc_file_for(profile=profile)
    document_upload(
        actor=SYSTEM,
        kyc_file=kyc_file,
        kind="identity",
        doc_type="passport",
        data=passport_for(profile),
        filename="passport.png",
    )
    document_upload(
        actor=SYSTEM,
        kyc_file=kyc_file,
        kind="proof_of_address",
        doc_type=address_type,
        data=MINIMAL_PDF,
        filename="address.pdf",
        issued_on=timezone.localdate() - timedelta(days=address_age_days),
    )
    if source_of_funds_document:
        document_upload(
            actor=SYSTEM,
            kyc_file=kyc_file,
            kind="source_of_funds",
            doc_type="payslip",
            data=MINIMAL_PDF + b"%payslip",
            filename="payslip.pdf",
        )
    kyc_submit(actor=SYSTEM, kyc_file=kyc_file, questionnaire=questionnaire or FULL_QUESTIONNAIRE)
    return kyc_run_checks(kyc_file_id=kyc_file.pk)


def results(kyc_file: KycFile) -> dict[str, str]:
    return dict(KycCheck.objects.unscoped().filter(kyc_file=kyc_file).values_list("kind", "result"))


def publish_eu(world: Any, **changes: Any) -> None:
    """The next EU version: the full rules with some rules changed."""
    document = {**KYC_RULES_FULL, **changes}
    ruleset_publish(actor=SYSTEM, entity=world.eu, kind="kyc", document=document)


@pytest.fixture
def eu(full_rules_world):
    return full_rules_world


# --- appropriateness ---------------------------------------------------------------------


def test_passing_the_appropriateness_test_still_allows_automatic_approval(eu):
    kyc_file = submit(register(eu.eu_brand).profile)
    assert (kyc_file.status, kyc_file.auto_approved, kyc_file.risk_level) == (
        "approved",
        True,
        "low",
    )
    assert results(kyc_file) == {
        "mrz": "pass",
        "expiry": "pass",
        "proof_of_address": "pass",
        "appropriateness": "pass",
        "sanctions": "pass",
        "pep": "pass",
    }
    check = KycCheck.objects.unscoped().get(kyc_file=kyc_file, kind="appropriateness")
    assert {k: check.evidence[k] for k in ("score", "max_score", "pass_mark", "passed")} == {
        "score": 6,
        "max_score": 8,
        "pass_mark": 5,
        "passed": True,
    }
    assert kyc_file.kyc_ruleset == check.evidence["ruleset"] == "EU/kyc/*/v2"
    assert kyc_file.edd_triggers == []


def test_failing_the_test_sends_the_file_to_review_with_the_scoring(eu):
    questionnaire = {**FULL_QUESTIONNAIRE, "appropriateness": FAILING_ANSWERS}
    kyc_file = submit(register(eu.eu_brand).profile, questionnaire)
    # Not rejected, not escalated: in the entity's queue, held by the test alone.
    assert (kyc_file.status, kyc_file.auto_approved, kyc_file.edd_triggers) == (
        "in_review",
        False,
        [],
    )
    assert results(kyc_file)["appropriateness"] == "fail"
    assert {kind for kind, result in results(kyc_file).items() if result != "pass"} == {
        "appropriateness"
    }
    evidence = KycCheck.objects.unscoped().get(kyc_file=kyc_file, kind="appropriateness").evidence
    assert evidence["mode"] == "review"
    assert (evidence["score"], evidence["pass_mark"], evidence["blocking"]) == (1, 5, True)
    assert evidence["reason"] == "appropriateness score 1 is below the pass mark 5"
    assert evidence["answers"][2] == {
        "question": "cfd_ownership",
        "answer": "no",
        "points": 1,
        "max_points": 1,
    }
    assert [item["points"] for item in evidence["answers"]] == [0, 0, 1, 0, 0, 0, 0]


def test_a_warn_only_entity_approves_and_records_the_failed_test_as_a_warning(eu):
    # Given an entity that only warns on a failed test
    publish_eu(eu, appropriateness={**KYC_RULES_FULL["appropriateness"], "mode": "warn"})
    questionnaire = {**FULL_QUESTIONNAIRE, "appropriateness": FAILING_ANSWERS}
    # When a low-risk client fails it
    kyc_file = submit(register(eu.eu_brand).profile, questionnaire)
    # Then the file is approved automatically and the failure is on record, not blocking
    assert (kyc_file.status, kyc_file.auto_approved, kyc_file.kyc_ruleset) == (
        "approved",
        True,
        "EU/kyc/*/v3",
    )
    check = KycCheck.objects.unscoped().get(kyc_file=kyc_file, kind="appropriateness")
    assert check.result == "warn"
    assert (check.evidence["mode"], check.evidence["blocking"]) == ("warn", False)
    assert check.evidence["client_warning"].startswith("CFDs may not be appropriate")
    case = staff(eu.eu_compliance).get(f"/api/v1/kyc-files/{kyc_file.pk}").json()
    assert case["review_reasons"] == [
        {
            "check": "appropriateness",
            "result": "warn",
            "reason": "appropriateness score 1 is below the pass mark 5",
            "blocking": False,
        }
    ]
    assert case["appropriateness"]["result"] == "warn"


# --- enhanced due diligence -----------------------------------------------------------------


@pytest.mark.parametrize(
    ("registration", "answers", "expected"),
    [
        (
            # arms (20) + Turkish nationality (15) + deposit ≥ 50,000 (15) = 50: high risk
            {"nationality": "TR"},
            {"occupation": "arms dealer", "expected_deposit": "60000"},
            [{"code": "risk_level", "detail": "risk level high (score 50)", "value": "high"}],
        ),
        (
            {},
            {"expected_deposit": "100000.01"},
            [
                {
                    "code": "expected_deposit_above",
                    "detail": "declared expected deposit 100000.01 is above 100000",
                    "value": "100000.01",
                    "threshold": "100000",
                }
            ],
        ),
        (
            {},
            {"annual_income": "750000"},
            [
                {
                    "code": "annual_income_above",
                    "detail": "declared annual income 750000 is above 500000",
                    "value": "750000",
                    "threshold": "500000",
                }
            ],
        ),
        (
            {"residence_country": "CY", "phone": "+357 99 123456"},
            {},
            [
                {
                    "code": "high_risk_residence",
                    "detail": "resident in CY, listed for enhanced due diligence",
                    "value": "CY",
                }
            ],
        ),
        (
            {},
            {"source_of_funds": "gift"},
            [
                {
                    "code": "source_of_funds",
                    "detail": "declared source of funds 'gift' needs enhanced due diligence",
                    "value": "gift",
                }
            ],
        ),
        (
            {},
            {"source_of_funds": "other"},
            [
                {
                    "code": "source_of_funds_unexplained",
                    "detail": 'source of funds "other" without an explanation',
                    "value": "other",
                }
            ],
        ),
    ],
    ids=["risk_high", "deposit", "income", "residence", "listed_source", "unexplained_source"],
)
def test_each_edd_trigger_escalates_with_the_trigger_listed(eu, registration, answers, expected):
    profile = register(eu.eu_brand, **registration).profile
    kyc_file = submit(profile, {**FULL_QUESTIONNAIRE, **answers}, source_of_funds_document=True)
    assert kyc_file.status == "escalated"
    triggers = [{k: v for k, v in t.items() if k != "rule"} for t in kyc_file.edd_triggers]
    assert triggers == expected
    stored = KycFile.objects.unscoped().get(pk=kyc_file.pk)
    assert stored.edd_triggers == kyc_file.edd_triggers
    event = AuditEvent.objects.get(action="kyc.checks_escalated", object_id=str(kyc_file.pk))
    assert event.after["edd_triggers"] == kyc_file.edd_triggers
    assert event.after["ruleset"] == "EU/kyc/*/v2"


def test_amounts_at_the_threshold_and_explained_other_funds_do_not_escalate(eu):
    answers = {
        **FULL_QUESTIONNAIRE,
        "annual_income": "500000",
        "source_of_funds": "other",
        "source_of_funds_detail": "sale of a vintage car collection",
    }
    kyc_file = submit(register(eu.eu_brand).profile, answers)
    assert (kyc_file.status, kyc_file.edd_triggers) == ("approved", [])


def test_a_pep_is_escalated_with_the_trigger_and_several_triggers_are_all_listed(eu):
    profile = register(eu.eu_brand).profile
    person_flags_set(
        person=Person.objects.get(pk=profile.person_id), reason="press", entity=eu.eu, pep=True
    )
    answers = {**FULL_QUESTIONNAIRE, "source_of_funds": "gift", "annual_income": "900000"}
    kyc_file = submit(profile, answers)
    assert kyc_file.status == "escalated"
    assert [t["code"] for t in kyc_file.edd_triggers] == [
        "pep",
        "annual_income_above",
        "source_of_funds",
    ]


def test_rules_without_edd_triggers_keep_the_entity_queue(kyc_world):
    # The legacy rule document (no edd rules): a big declared deposit is a review, not EDD.
    profile = register(kyc_world.eu_brand).profile
    answers = {**FULL_QUESTIONNAIRE, "expected_deposit": "900000", "appropriateness": {}}
    kyc_file = submit(profile, answers, source_of_funds_document=True)
    assert (kyc_file.status, kyc_file.edd_triggers) == ("in_review", [])


# --- proof of address and source of funds --------------------------------------------------


def test_a_proof_of_address_type_the_entity_does_not_accept_is_not_approved(eu):
    kyc_file = submit(register(eu.eu_brand).profile, address_type="tax_letter")
    assert (kyc_file.status, kyc_file.auto_approved) == ("in_review", False)
    check = KycCheck.objects.unscoped().get(kyc_file=kyc_file, kind="proof_of_address")
    assert check.result == "fail"
    assert check.evidence == {
        "doc_type": "tax_letter",
        "accepted_types": ["utility_bill", "bank_statement"],
        "issued_on": (timezone.localdate() - timedelta(days=10)).isoformat(),
        "max_age_days": 90,
        "ruleset": "EU/kyc/*/v2",
        "reason": "tax_letter is not accepted as proof of address here; accepted: "
        "utility_bill, bank_statement",
    }


@pytest.mark.parametrize(
    ("address_type", "age_days", "result", "reason"),
    [
        (
            "",
            10,
            "review",
            "type of document not stated; accepted here: utility_bill, bank_statement",
        ),
        ("bank_statement", 91, "review", "issued 91 days ago; at most 90 days accepted"),
        (
            "tenancy_agreement",
            120,
            "fail",
            "tenancy_agreement is not accepted as proof of address here; accepted: "
            "utility_bill, bank_statement; issued 120 days ago; at most 90 days accepted",
        ),
        ("bank_statement", 90, "pass", None),
    ],
)
def test_proof_of_address_type_and_age(eu, address_type, age_days, result, reason):
    kyc_file = submit(
        register(eu.eu_brand).profile, address_type=address_type, address_age_days=age_days
    )
    check = KycCheck.objects.unscoped().get(kyc_file=kyc_file, kind="proof_of_address")
    assert (check.result, check.evidence.get("reason")) == (result, reason)
    assert kyc_file.status == ("approved" if result == "pass" else "in_review")


def test_a_deposit_above_the_threshold_needs_a_source_of_funds_document(eu):
    # Given the EU threshold of 20,000 and a client expecting to deposit 25,000 without proof
    answers = {**FULL_QUESTIONNAIRE, "expected_deposit": "25000"}
    kyc_file = submit(register(eu.eu_brand).profile, answers)
    # Then the file waits for a reviewer with the reason
    assert kyc_file.status == "in_review"
    check = KycCheck.objects.unscoped().get(kyc_file=kyc_file, kind="source_of_funds")
    assert (check.result, check.document) == ("fail", None)
    assert check.evidence == {
        "expected_deposit": "25000",
        "threshold": "20000",
        "declared_source": "salary",
        "ruleset": "EU/kyc/*/v2",
        "reason": "source-of-funds document required: the declared expected deposit 25000 is "
        "above 20000",
    }


def test_a_source_of_funds_document_above_the_threshold_is_read_by_a_reviewer(eu):
    answers = {**FULL_QUESTIONNAIRE, "expected_deposit": "25000"}
    kyc_file = submit(register(eu.eu_brand).profile, answers, source_of_funds_document=True)
    assert kyc_file.status == "in_review"
    check = KycCheck.objects.unscoped().get(kyc_file=kyc_file, kind="source_of_funds")
    assert (check.result, check.document.kind) == ("review", "source_of_funds")
    assert check.evidence["doc_type"] == "payslip"


def test_at_the_threshold_no_source_of_funds_document_is_asked_for(eu):
    answers = {**FULL_QUESTIONNAIRE, "expected_deposit": "20000"}
    kyc_file = submit(register(eu.eu_brand).profile, answers)
    assert kyc_file.status == "approved"
    assert "source_of_funds" not in results(kyc_file)


# --- rule-set version -------------------------------------------------------------------------


def test_the_file_is_decided_under_the_rules_in_force_at_submission(eu):
    # Given a file submitted under v2 whose checks have not run yet
    profile = register(eu.eu_brand).profile
    kyc_file = kyc_file_for(profile=profile)
    document_upload(
        actor=SYSTEM,
        kyc_file=kyc_file,
        kind="identity",
        doc_type="passport",
        data=passport_for(profile),
    )
    document_upload(
        actor=SYSTEM,
        kyc_file=kyc_file,
        kind="proof_of_address",
        doc_type="utility_bill",
        data=MINIMAL_PDF,
        issued_on=timezone.localdate(),
    )
    kyc_submit(actor=SYSTEM, kyc_file=kyc_file, questionnaire=FULL_QUESTIONNAIRE)
    # When v3 raises the pass mark beyond the client's score before the checks run
    publish_eu(eu, appropriateness={**KYC_RULES_FULL["appropriateness"], "pass_mark": 8})
    kyc_file = kyc_run_checks(kyc_file_id=kyc_file.pk)
    # Then v2 decided it, and the decision says so
    assert (kyc_file.status, kyc_file.kyc_ruleset) == ("approved", "EU/kyc/*/v2")
    check = KycCheck.objects.unscoped().get(kyc_file=kyc_file, kind="appropriateness")
    assert (check.result, check.evidence["pass_mark"]) == ("pass", 5)
    event = AuditEvent.objects.get(action="kyc.checks_approved", object_id=str(kyc_file.pk))
    assert event.after["ruleset"] == "EU/kyc/*/v2"


# --- what the reviewer sees -------------------------------------------------------------------


def staff(user) -> APIClient:
    client = APIClient()
    client.force_authenticate(user)
    return client


def test_the_case_view_shows_triggers_test_and_what_holds_the_file(eu):
    profile = register(eu.eu_brand, residence_country="CY", phone="+357 99 123456").profile
    answers = {
        **FULL_QUESTIONNAIRE,
        "expected_deposit": "25000",
        "appropriateness": FAILING_ANSWERS,
    }
    kyc_file = submit(profile, answers, address_type="tax_letter")
    assert kyc_file.status == "escalated"
    case = staff(eu.group_compliance).get(f"/api/v1/kyc-files/{kyc_file.pk}").json()
    assert [t["code"] for t in case["edd_triggers"]] == ["high_risk_residence"]
    assert case["appropriateness"] == {
        "result": "fail",
        "mode": "review",
        "score": 1,
        "max_score": 8,
        "pass_mark": 5,
        "passed": False,
        "blocking": True,
        "reason": "appropriateness score 1 is below the pass mark 5",
    }
    assert [(r["check"], r["result"], r["blocking"]) for r in case["review_reasons"]] == [
        ("appropriateness", "fail", True),
        ("proof_of_address", "fail", True),
        ("source_of_funds", "fail", True),
    ]
    assert case["questionnaire"]["appropriateness"] == FAILING_ANSWERS
    assert case["kyc_ruleset"] == "EU/kyc/*/v2"
    queue = staff(eu.eu_compliance).get("/api/v1/kyc-files?status=escalated").json()
    assert [row["edd_triggers"][0]["code"] for row in queue["results"]] == ["high_risk_residence"]


def test_the_admin_case_page_shows_triggers_and_the_test(eu):
    profile = register(eu.eu_brand, residence_country="CY", phone="+357 99 123456").profile
    answers = {**FULL_QUESTIONNAIRE, "appropriateness": FAILING_ANSWERS}
    kyc_file = submit(profile, answers)
    client = Client()
    client.force_login(eu.superuser)
    page = client.get(f"/admin/kyc/kycfile/{kyc_file.pk}/change/")
    assert page.status_code == 200
    text = page.content.decode()
    assert "resident in CY, listed for enhanced due diligence" in text
    assert "Fail: 1 of 8 (pass mark 5, review)" in text
    assert "Appropriateness test (fail): appropriateness score 1 is below the pass mark 5" in text


def test_a_person_deciding_an_escalated_file_cites_the_rule_set_version(eu):
    from kyc.services import kyc_approve

    answers = {**FULL_QUESTIONNAIRE, "source_of_funds": "gift"}
    kyc_file = submit(register(eu.eu_brand).profile, answers)
    assert kyc_file.status == "escalated"
    kyc_approve(actor=eu.eu_compliance, kyc_file=kyc_file, reason="gift letter from parent seen")
    event = AuditEvent.objects.get(action="kyc.approved", object_id=str(kyc_file.pk))
    assert event.after == {"status": "approved", "risk_level": "low", "ruleset": "EU/kyc/*/v2"}
