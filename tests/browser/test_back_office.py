"""The back office as staff use it, in a real browser: My work shows each persona exactly their
work with its counts; a KYC file is claimed and decided and a withdrawal approved through the
pages; the client 360 of a person with profiles in two entities, as an EU officer, as group
compliance and as support; another entity's page is not found."""

from __future__ import annotations

import re
from typing import Any

import pytest

from brokercrm.accounts.tests.factories import PASSWORD, UserFactory, grant
from brokercrm.backoffice.models import Assignment
from brokercrm.gate import SYSTEM
from identity.tests.factories import register
from kyc.models import KycFile
from payments.models import BankAccount, Withdrawal
from payments.services import withdrawal_request
from payments.tests.conftest import IBAN_OK, approved_client, payments_world, psp_secret
from wallets.services import wallet_open
from wallets.tests.factories import assert_ledger_sound, fund

from .conftest import staff_sign_in

__all__ = ["payments_world", "psp_secret"]  # fixtures this module uses from payments' tests

pytestmark = pytest.mark.django_db(transaction=True)

SHOTS = "var/screenshots/backoffice"


def _in_review(profile: Any, **fields: Any) -> KycFile:
    from django.utils import timezone

    KycFile.objects.unscoped().filter(profile=profile).update(
        status=KycFile.Status.IN_REVIEW,
        submitted_at=timezone.now(),
        risk_level="medium",
        risk_score=40,
        kyc_ruleset="EU/kyc/*/v1",
        **fields,
    )
    return KycFile.objects.unscoped().get(profile=profile)


@pytest.fixture
def two_entities(world: Any) -> Any:
    """Ivan: a client of the EU entity and, linked at registration, of the UK one; his EU file
    in review. Amelia: a UK client in review (EU staff must not see her)."""
    eu = register(world.eu_brand).profile
    uk = register(world.uk_brand, residence_country="GB").profile
    assert uk.person_id == eu.person_id
    amelia = register(
        world.uk_brand,
        given_name="Amelia",
        family_name="Hughes",
        email="amelia@example.co.uk",
        residence_country="GB",
        nationality="GB",
        phone="+44 7911 123456",
        document=None,
        device_fingerprint="dev-amelia",
        ip="198.51.100.7",
    ).profile
    for user in (
        world.eu_compliance,
        world.eu_support,
        world.uk_compliance,
        world.group_compliance,
    ):
        user.set_password(PASSWORD)
        user.save()
    return {
        "eu": eu,
        "uk": uk,
        "eu_file": _in_review(eu),
        "uk_file": _in_review(amelia),
        "amelia": amelia,
    }


def _work_rows(page: Any) -> list[str]:
    return [row.inner_text() for row in page.locator("#work-items tbody tr[data-queue]").all()]


def _chip_count(page: Any, label: str) -> int:
    chip = page.locator(".bo-chips a", has_text=label).first
    return int(chip.locator(".bo-count").inner_text())


def test_an_officer_claims_and_decides_a_kyc_file(page, live_server, world, two_entities):
    staff_sign_in(page, live_server.url, world.eu_compliance.username, PASSWORD)
    page.goto(f"{live_server.url}/admin/work/")
    page.screenshot(path=f"{SHOTS}/work-eu-compliance.png", full_page=True)
    rows = _work_rows(page)
    assert any("Ivan Petrov" in row for row in rows)
    assert not any("Amelia" in row for row in rows)  # the UK's work is not theirs
    assert _chip_count(page, "KYC files in review") == 1

    ivan = page.locator("#work-items tbody tr[data-queue='kyc.review']", has_text="Ivan Petrov")
    with page.expect_navigation():
        ivan.get_by_role("button", name="Claim").click()
    assert Assignment.objects.unscoped().get(queue="kyc.review").assignee == world.eu_compliance
    page.goto(f"{live_server.url}/admin/work/?holder=mine")
    assert any("Ivan Petrov" in row for row in _work_rows(page))

    with page.expect_navigation():
        page.locator("#work-items a", has_text="Ivan Petrov").first.click()
    assert "/decide/" in page.url
    assert page.locator("#kyc-checks").is_visible()
    assert "EU/kyc/*/v1" in page.content()
    page.screenshot(path=f"{SHOTS}/kyc-decide.png", full_page=True)
    page.check("input[name=decision][value=approve]")
    page.fill("textarea[name=reason]", "Documents and address match; low exposure.")
    page.get_by_role("button", name="Record the decision").click()
    page.wait_for_url(re.compile(r"/admin/work/"))
    assert "approved" in page.content()
    two_entities["eu_file"].refresh_from_db()
    assert two_entities["eu_file"].status == KycFile.Status.APPROVED
    assert not any("Ivan Petrov: KYC" in row for row in _work_rows(page))


def test_finance_approves_a_withdrawal_through_the_pages(page, live_server, payments_world):
    world = payments_world
    client_profile = approved_client(world, risk="medium")
    fund(wallet_open(profile=client_profile, currency="EUR"), "25000")
    BankAccount.objects.create(
        entity=world.eu,
        profile=client_profile,
        iban=IBAN_OK,
        holder="Ivan Petrov",
        verified=True,
    )
    withdrawal = withdrawal_request(
        actor=SYSTEM,
        profile=client_profile,
        amount="5000",
        currency="EUR",
        idempotency_key="browser-5k",
    )
    assert withdrawal.approval_needed == "finance"
    finance = UserFactory(username="finance.eu.browser")
    grant(finance, "finance", entity=world.eu)
    staff_sign_in(page, live_server.url, finance.username, PASSWORD)
    page.goto(f"{live_server.url}/admin/work/?queue=payments.withdrawal_finance")
    rows = _work_rows(page)
    assert len(rows) == 1
    assert "5,000.00 EUR" in rows[0]
    page.screenshot(path=f"{SHOTS}/work-finance.png", full_page=True)

    page.goto(f"{live_server.url}/admin/payments/withdrawal/?status__exact=pending_approval")
    row = page.locator("#result_list tbody tr", has_text="5,000.00")
    row.locator("input[type=checkbox]").check()
    page.select_option("select[name=action]", "approve")
    with page.expect_navigation():
        page.click("button[name=index], button[type=submit][name=index]")
    withdrawal.refresh_from_db()
    assert withdrawal.status != Withdrawal.Status.PENDING_APPROVAL
    assert withdrawal.finance_approver == finance
    assert_ledger_sound()
    page.goto(f"{live_server.url}/admin/work/?queue=payments.withdrawal_finance")
    assert _work_rows(page) == []


def test_the_client_360_as_each_persona(page, live_server, world, two_entities):
    person = two_entities["eu"].person_id
    url = f"{live_server.url}/admin/clients/{person}/"

    staff_sign_in(page, live_server.url, world.eu_compliance.username, PASSWORD)
    page.goto(url)
    profiles = page.locator("#profiles tbody tr")
    assert profiles.count() == 2
    uk_row = profiles.filter(has_text="UK")
    assert "Held by another entity" in uk_row.inner_text()
    assert "uk-brand" not in uk_row.inner_text().lower()
    page.screenshot(path=f"{SHOTS}/client-360-eu-officer.png", full_page=True)
    with page.expect_navigation():
        page.get_by_role("link", name="KYC", exact=True).click()
    assert "Nothing here you may see" not in page.content()
    with page.expect_navigation():
        page.get_by_role("link", name="Timeline", exact=True).click()
    assert page.locator("#timeline li").count() >= 1
    page.screenshot(path=f"{SHOTS}/client-360-timeline.png", full_page=True)
    # Amelia is only the UK's: to an EU officer she is not there.
    missing = page.goto(f"{live_server.url}/admin/clients/{two_entities['amelia'].person_id}/")
    assert missing.status == 404
    foreign_file = page.goto(
        f"{live_server.url}/admin/kyc/kycfile/{two_entities['uk_file'].pk}/change/"
    )
    assert foreign_file.status == 404
    page.context.clear_cookies()

    staff_sign_in(page, live_server.url, world.group_compliance.username, PASSWORD)
    page.goto(url)
    assert "Held by another entity" not in page.locator("#profiles").inner_text()
    page.goto(f"{live_server.url}/admin/identity/clientprofile/{two_entities['eu'].pk}/change/")
    assert page.locator("input[type=submit][name=_save], button[name=_save]").count() == 0
    page.context.clear_cookies()

    staff_sign_in(page, live_server.url, world.eu_support.username, PASSWORD)
    page.goto(url)
    assert page.locator("#profiles").is_visible()
    with page.expect_navigation():
        page.get_by_role("link", name="KYC", exact=True).click()
    assert "Nothing here you may see" in page.content()
    page.goto(f"{live_server.url}/admin/identity/identitydocument/")
    listing = (
        page.locator("#result_list").inner_text() if page.locator("#result_list").count() else ""
    )
    assert "C01X00T47" not in listing  # document numbers are masked for support
    page.screenshot(path=f"{SHOTS}/client-360-support.png", full_page=True)
