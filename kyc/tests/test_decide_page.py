"""Deciding a KYC file from its decision page: the evidence and consequences shown before the
decision, the decision through the same services as the API, and the refusals."""

from __future__ import annotations

import pytest
from django.urls import reverse

from audit.models import AuditEvent
from brokercrm.accounts.tests.factories import UserFactory, grant
from identity.models import Person
from kyc import audit_actions
from kyc.models import KycFile

from .test_backoffice_queues import _check, _file


def _url(kyc_file: KycFile) -> str:
    return reverse("admin:kyc_kycfile_decide", args=[kyc_file.pk])


def test_the_page_shows_evidence_rule_set_and_consequences(world, client):
    kyc_file = _file(world, 1)
    _check(kyc_file, kind="sanctions", result="review")
    client.force_login(world.eu_compliance)
    page = client.get(_url(kyc_file)).content.decode()
    assert "EU/kyc/*/v1" in page
    assert "Activates the client&#x27;s profile" in page
    assert "places an AML block on the person" in page
    assert 'class="bo-kv"' in page  # evidence as a table, not raw JSON
    assert "Record the decision" in page


def test_approving_through_the_page_activates_and_is_audited(world, client):
    kyc_file = _file(world, 2)
    client.force_login(world.eu_compliance)
    done = client.post(_url(kyc_file), {"decision": "approve", "reason": "documents match"})
    assert done.status_code == 302
    assert done["Location"] == reverse("admin:work")
    kyc_file.refresh_from_db()
    assert kyc_file.status == KycFile.Status.APPROVED
    assert kyc_file.first_approver == world.eu_compliance
    row = AuditEvent.objects.get(action=audit_actions.APPROVED)
    assert row.reason == "documents match"
    assert row.person_id == kyc_file.profile.person_id
    again = client.get(_url(kyc_file)).content.decode()
    assert "not waiting for a decision" in again


def test_a_decision_without_a_reason_changes_nothing(world, client):
    kyc_file = _file(world, 3)
    client.force_login(world.eu_compliance)
    page = client.post(_url(kyc_file), {"decision": "approve", "reason": ""})
    assert page.status_code == 200
    assert "Choose a decision and give a reason." in page.content.decode()
    assert client.post(_url(kyc_file), {"decision": "shred", "reason": "x"}).status_code == 200
    kyc_file.refresh_from_db()
    assert kyc_file.status == KycFile.Status.IN_REVIEW


def test_high_risk_needs_a_second_different_approver(world, client):
    kyc_file = _file(world, 4, risk_level="high", risk_score=80)
    client.force_login(world.eu_compliance)
    assert "first of two" in client.get(_url(kyc_file)).content.decode()
    client.post(_url(kyc_file), {"decision": "approve", "reason": "first look"})
    kyc_file.refresh_from_db()
    assert kyc_file.status == KycFile.Status.IN_REVIEW
    refused = client.post(
        _url(kyc_file), {"decision": "approve", "reason": "again"}, follow=True
    ).content.decode()
    assert "(maker_checker_same_person)" in refused
    colleague = UserFactory(username="compliance.eu.second")
    grant(colleague, "compliance", entity=world.eu)
    client.force_login(colleague)
    client.post(_url(kyc_file), {"decision": "approve", "reason": "second look"})
    kyc_file.refresh_from_db()
    assert kyc_file.status == KycFile.Status.APPROVED
    assert kyc_file.second_approver == colleague


def test_an_aml_rejection_blocks_the_person(world, client):
    kyc_file = _file(world, 5)
    client.force_login(world.eu_compliance)
    client.post(_url(kyc_file), {"decision": "reject_aml", "reason": "source of funds"})
    kyc_file.refresh_from_db()
    assert kyc_file.status == KycFile.Status.REJECTED
    assert Person.objects.get(pk=kyc_file.profile.person_id).aml_blocked


@pytest.mark.parametrize("who", ["uk_compliance", "eu_desk_sales"])
def test_another_entitys_file_or_a_role_without_kyc_is_not_found(world, client, who):
    kyc_file = _file(world, 6)
    client.force_login(getattr(world, who))
    assert client.get(_url(kyc_file)).status_code == 404
    assert client.post(_url(kyc_file), {"decision": "approve", "reason": "x"}).status_code == 404
    kyc_file.refresh_from_db()
    assert kyc_file.status == KycFile.Status.IN_REVIEW


def test_group_compliance_decides_any_entitys_file_and_support_only_reads(world, client):
    # The roles give group compliance the KYC decision in every entity (escalated files are
    # theirs); support may read a file but not decide it.
    kyc_file = _file(world, 7)
    client.force_login(world.group_compliance)
    assert "Record the decision" in client.get(_url(kyc_file)).content.decode()
    client.force_login(world.eu_support)
    answer = client.get(_url(kyc_file))
    if answer.status_code == 200:
        assert "Record the decision" not in answer.content.decode()
        client.post(_url(kyc_file), {"decision": "approve", "reason": "x"})
    else:
        assert answer.status_code == 404
    kyc_file.refresh_from_db()
    assert kyc_file.status == KycFile.Status.IN_REVIEW
