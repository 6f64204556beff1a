"""The KYC workflow end to end in-process: documents, checks, risk, decisions, blocks."""

from __future__ import annotations

import datetime
from datetime import timedelta

import pytest
from django.utils import timezone

from audit.models import AuditEvent
from brokercrm.errors import ApplicationError, PermissionDenied, ValidationFailed
from brokercrm.gate import SYSTEM
from identity.models import ClientProfile, Person
from identity.services import DocumentInput
from identity.tests.factories import register
from kyc.models import KycCheck, KycDocument, KycFile
from kyc.selectors import withdrawal_blocks
from kyc.services import (
    document_read,
    document_upload,
    documents_expiry_sweep,
    kyc_approve,
    kyc_file_for,
    kyc_reject,
    kyc_run_checks,
    kyc_submit,
)
from kyc.specimens import readable_passport, td3_lines
from wallets.models import LedgerAccount

from .conftest import MINIMAL_PDF

QUESTIONNAIRE = {
    "employment_status": "employed",
    "occupation": "software engineer",
    "annual_income": "60000",
    "source_of_funds": "salary",
    "expected_deposit": "2000",
    "trading_experience": "some",
}


def passport_for(
    profile: ClientProfile, *, number: str = "C01X00T47", expires: datetime.date | None = None
) -> bytes:
    """The profile's passport, valid for about five years, or expired on or before `expires`
    when that is in the past."""
    today = timezone.localdate()
    expiry = expires or today + timedelta(days=5 * 365)

    def lines(day: datetime.date) -> list[str]:
        return td3_lines(
            surname=profile.family_name_latin.upper(),
            given_names=profile.given_name_latin.upper(),
            document_number=number,
            birth_date=profile.birth_date,
            expiry_date=day,
            sex="M",
            nationality="D",
            issuing_country="D",
        )

    return readable_passport(lines, expiry, step=-1 if expiry < today else 1)[0]


def submit_complete_file(
    profile: ClientProfile,
    *,
    expires: datetime.date | None = None,
    questionnaire: dict | None = None,
) -> KycFile:
    kyc_file = kyc_file_for(profile=profile)
    document_upload(
        actor=SYSTEM,
        kyc_file=kyc_file,
        kind="identity",
        doc_type="passport",
        data=passport_for(profile, expires=expires),
        filename="passport.png",
    )
    document_upload(
        actor=SYSTEM,
        kyc_file=kyc_file,
        kind="proof_of_address",
        doc_type="utility_bill",
        data=MINIMAL_PDF,
        filename="bill.pdf",
        issued_on=timezone.localdate() - timedelta(days=10),
    )
    kyc_submit(actor=SYSTEM, kyc_file=kyc_file, questionnaire=questionnaire or QUESTIONNAIRE)
    return kyc_run_checks(kyc_file_id=kyc_file.pk)


def test_low_risk_applicant_is_approved_automatically(kyc_world):
    profile = register(kyc_world.eu_brand).profile
    kyc_file = submit_complete_file(profile)
    assert kyc_file.status == "approved"
    assert kyc_file.auto_approved is True
    assert kyc_file.risk_level == "low"
    results = dict(
        KycCheck.objects.unscoped().filter(kyc_file=kyc_file).values_list("kind", "result")
    )
    assert results == {
        "mrz": "pass",
        "expiry": "pass",
        "proof_of_address": "pass",
        "sanctions": "pass",
        "pep": "pass",
    }
    assert kyc_file.kyc_ruleset == "EU/kyc/*/v1"
    assert kyc_file.earliest_withdrawal_at is not None
    profile.refresh_from_db()
    assert profile.status == "active"
    assert LedgerAccount.objects.unscoped().filter(profile=profile, currency="EUR").exists()
    # Cooling-off: no first withdrawal for 24 hours.
    assert [block.code for block in withdrawal_blocks(profile=profile)] == ["cooling_off"]
    later = kyc_file.earliest_withdrawal_at + timedelta(seconds=1)
    assert withdrawal_blocks(profile=profile, now=later) == []


def test_rerunning_checks_creates_nothing_twice(kyc_world):
    profile = register(kyc_world.eu_brand).profile
    kyc_file = submit_complete_file(profile)
    checks = KycCheck.objects.unscoped().count()
    kyc_run_checks(kyc_file_id=kyc_file.pk)
    assert KycCheck.objects.unscoped().count() == checks


def test_expired_passport_is_refused(kyc_world):
    profile = register(kyc_world.eu_brand).profile
    kyc_file = submit_complete_file(profile, expires=timezone.localdate() - timedelta(days=3))
    assert kyc_file.status == "in_review"
    expiry = KycCheck.objects.unscoped().get(kyc_file=kyc_file, kind="expiry")
    assert (expiry.result, expiry.evidence["reason"]) == ("fail", "document expired")
    assert "kyc_not_approved" in [block.code for block in withdrawal_blocks(profile=profile)]


def test_high_risk_needs_two_different_approvers(kyc_world):
    from brokercrm.accounts.tests.factories import UserFactory, grant

    profile = register(kyc_world.eu_brand).profile
    risky = {
        **QUESTIONNAIRE,
        "occupation": "arms dealer",
        "expected_deposit": "250000",
        "source_of_funds": "",
    }
    kyc_file = submit_complete_file(profile, questionnaire=risky)
    assert (kyc_file.status, kyc_file.risk_level) == ("in_review", "high")
    assert set(kyc_file.risk_breakdown) >= {
        "occupation_high_risk",
        "large_deposit",
        "source_of_funds_unexplained",
    }
    second = UserFactory(username="compliance.eu.two")
    grant(second, "compliance", entity=kyc_world.eu)
    kyc_approve(actor=kyc_world.eu_compliance, kyc_file=kyc_file, reason="documents fine")
    assert KycFile.objects.unscoped().get(pk=kyc_file.pk).status == "in_review"
    with pytest.raises(ApplicationError) as refused:
        kyc_approve(actor=kyc_world.eu_compliance, kyc_file=kyc_file, reason="again")
    assert refused.value.code == "maker_checker_same_person"
    kyc_approve(actor=second, kyc_file=kyc_file, reason="second pair of eyes")
    kyc_file.refresh_from_db()
    assert (kyc_file.status, kyc_file.first_approver, kyc_file.second_approver) == (
        "approved",
        kyc_world.eu_compliance,
        second,
    )


def test_decisions_need_the_approval_permission_in_that_entity(kyc_world):
    profile = register(kyc_world.eu_brand).profile
    kyc_file = submit_complete_file(profile, expires=timezone.localdate() - timedelta(days=1))
    for actor in (kyc_world.eu_support, kyc_world.uk_compliance):
        with pytest.raises(PermissionDenied):
            kyc_approve(actor=actor, kyc_file=kyc_file, reason="x")
    assert KycFile.objects.unscoped().get(pk=kyc_file.pk).status == "in_review"


def test_aml_rejection_in_uk_blocks_the_same_passport_elsewhere(kyc_world):
    uk = register(
        kyc_world.uk_brand, residence_country="GB", phone="+44 7911 123456", email="uk@example.com"
    )
    kyc_file = submit_complete_file(uk.profile, expires=timezone.localdate() - timedelta(days=1))
    kyc_reject(
        actor=kyc_world.uk_compliance,
        kyc_file=kyc_file,
        reason="source of funds unexplained",
        aml=True,
    )
    assert Person.objects.get(pk=uk.person.pk).aml_blocked is True
    again = register(
        kyc_world.eu_brand,
        email="brand.new@example.net",
        phone="+49 160 5550001",
        document=DocumentInput("passport", "C01X00T47", "DE"),
        ip="192.0.2.200",
        device_fingerprint="dev-fresh-0001",
    )
    assert again.outcome == "block"


def test_sanctioned_name_in_cyrillic_and_latin_escalates(kyc_world):
    for given, family in (("Тимофей", "Гаврилин"), ("Timofey", "Gavrilin")):
        profile = register(
            kyc_world.eu_brand,
            given_name=given,
            family_name=family,
            birth_date="1966-04-18",
            email=f"{family}@example.com",
            phone="",
            document=None,
            nationality="RU",
            ip="192.0.2.9",
            device_fingerprint=f"dev-sanctioned-{len(given)}-{given[0].isascii()}",
        ).profile
        kyc_file = submit_complete_file(profile)
        assert kyc_file.status == "escalated", given
        sanctions = KycCheck.objects.unscoped().get(kyc_file=kyc_file, kind="sanctions")
        assert sanctions.result == "fail"
        assert sanctions.evidence["hits"][0]["entry"] == "demo-p-001"
        assert Person.objects.get(pk=profile.person_id).sanctions_hit is True
        assert "sanctions_hit" in [block.code for block in withdrawal_blocks(profile=profile)]


def test_common_name_with_other_birth_date_and_nationality_is_clear(kyc_world):
    profile = register(
        kyc_world.eu_brand,
        given_name="John",
        family_name="Smith",
        birth_date="1990-09-09",
        nationality="FR",
        residence_country="FR",
        email="john.smith@example.fr",
        phone="+33 6 11 22 33 44",
        document=None,
    ).profile
    kyc_file = submit_complete_file(profile)
    assert KycCheck.objects.unscoped().get(kyc_file=kyc_file, kind="sanctions").result == "pass"


def test_executable_named_pdf_is_refused_and_nothing_is_stored(kyc_world, settings):
    profile = register(kyc_world.eu_brand).profile
    kyc_file = kyc_file_for(profile=profile)
    with pytest.raises(ValidationFailed) as refused:
        document_upload(
            actor=SYSTEM,
            kyc_file=kyc_file,
            kind="proof_of_address",
            data=b"MZ\x90\x00" + b"\x00" * 200,
            filename="statement.pdf",
        )
    assert refused.value.code == "upload_type_not_allowed"
    assert KycDocument.objects.unscoped().count() == 0
    assert not settings.KYC_STORAGE_DIR.exists() or not any(settings.KYC_STORAGE_DIR.iterdir())


def test_reuploads_are_versioned_and_reads_are_audited(kyc_world):
    profile = register(kyc_world.eu_brand).profile
    kyc_file = kyc_file_for(profile=profile)
    first = document_upload(
        actor=SYSTEM, kyc_file=kyc_file, kind="proof_of_address", data=MINIMAL_PDF
    )
    second = document_upload(
        actor=SYSTEM, kyc_file=kyc_file, kind="proof_of_address", data=MINIMAL_PDF + b" "
    )
    assert (first.version, second.version) == (1, 2)
    assert first.storage_name != second.storage_name
    assert document_read(actor=kyc_world.eu_compliance, document=second).startswith(b"%PDF")
    assert (
        AuditEvent.objects.filter(action="kyc.document_read", object_id=str(second.pk)).count() == 1
    )
    for outsider in (kyc_world.eu_support, kyc_world.uk_compliance):
        with pytest.raises(PermissionDenied):
            document_read(actor=outsider, document=second)


def test_risk_hold_raised_in_another_entity_blocks_withdrawal(kyc_world):
    from identity.services import person_flags_set

    eu = register(kyc_world.eu_brand)
    kyc_file = submit_complete_file(eu.profile)
    assert kyc_file.status == "approved"
    uk = register(kyc_world.uk_brand, residence_country="GB", email="again@example.com")
    assert uk.person == eu.person
    person_flags_set(
        person=uk.person, reason="chargeback investigation", entity=kyc_world.uk, risk_hold=True
    )
    later = kyc_file.earliest_withdrawal_at + timedelta(hours=1)
    assert [block.code for block in withdrawal_blocks(profile=eu.profile, now=later)] == [
        "risk_hold"
    ]


def test_expiry_monitor_flags_and_requires_reverification(kyc_world):
    profile = register(kyc_world.eu_brand).profile
    kyc_file = submit_complete_file(profile)
    assert kyc_file.status == "approved"
    expires = KycDocument.objects.unscoped().get(kyc_file=kyc_file, kind="identity").expires_on
    soon = expires - timedelta(days=20)
    assert documents_expiry_sweep(today=soon) == {"flagged": 1, "reverification": 0}
    assert documents_expiry_sweep(today=soon) == {"flagged": 0, "reverification": 0}
    after = expires + timedelta(days=1)
    assert documents_expiry_sweep(today=after) == {"flagged": 0, "reverification": 1}
    assert KycFile.objects.unscoped().get(pk=kyc_file.pk).reverification_required is True
    now_after = timezone.now() + (after - timezone.localdate())
    assert "document_expired" in [
        block.code for block in withdrawal_blocks(profile=profile, now=now_after)
    ]
