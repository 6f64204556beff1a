"""A client's whole journey through a brand's portal in a real browser, one per entity, in
English and in Arabic: open an account in the wizard → confirm the e-mail from the link mailed
→ accept the entity's documents → questionnaire → passport (its MRZ the client's) and proof of
address → submit, approved by the checks → a card deposit paid on the PSP's hosted page → a
live account opened and funded across currencies → a bank account added (finance verifies it)
→ two days later, signed in again, a withdrawal paid out in another currency, the ledger
sound. Every page passes axe-core with no serious violation and nothing the CSP refuses;
screenshots go to var/screenshots/portal/. Another client typing this client's ids gets 404."""

from __future__ import annotations

import time
from datetime import timedelta
from decimal import Decimal
from typing import Any

import pytest
import time_machine
from django.core import mail
from django.utils import timezone
from rest_framework.test import APIClient

from brokercrm.accounts.tests.factories import CLIENT_PASSWORD, client_login
from entities.tests.factories import publish_documents
from identity.selectors import profile_get
from identity.tests.factories import mailed_token, register
from kyc.selectors import client_kyc_file
from kyc.tests.conftest import MINIMAL_PDF, kyc_world  # noqa: F401 (fixture)
from kyc.tests.test_workflow import QUESTIONNAIRE, passport_for
from payments.selectors import client_bank_accounts, client_deposits, client_withdrawals
from payments.simulator.checkout import TEST_OTP
from payments.tests.conftest import (  # noqa: F401 (fixtures)
    CARD_OK,
    configure_simulator,
    eager_tasks,
    payments_world,
    psp_secret,
    psp_simulator,
)
from platforms.selectors import client_trading_accounts
from platforms.tests.conftest import shared_sim  # noqa: F401 (fixture)
from platforms.tests.factories import trading_server
from tests.browser.portal import check_page, choose_language, watch_csp
from tests.test_client_journey import ENTITIES, offshore_entity, uk_pays_out_in_usd
from wallets.services import fx_rate_record
from wallets.tests.factories import assert_ledger_sound

PASSWORD = "Lantern-Orchid-42"
PHONES = {"DE": "+49 151 23456789", "GB": "+44 7911 123456", "AE": "+971 50 123 4567"}
CARD_DEPOSIT, WIRE_DEPOSIT, FUNDING, WITHDRAWAL = "500.00", "1000.00", "200.00", "700.00"


def submit(page: Any, form: str = "main form[method=post]") -> None:
    """Press the submit button of the page's (first matching) form and wait for the page."""
    with page.expect_navigation():
        page.locator(form).first.locator("button[type=submit]").click()


def fill(page: Any, values: dict[str, str]) -> None:
    for name, value in values.items():
        field = page.locator(f"main [name={name}]").first
        if field.evaluate("node => node.tagName") == "SELECT":
            field.select_option(value)
        else:
            field.fill(value)


def until(predicate: Any, timeout: float = 20.0) -> Any:
    deadline = time.monotonic() + timeout
    while True:
        value = predicate()
        if value or time.monotonic() > deadline:
            return value
        time.sleep(0.25)


def sign_in(page: Any, base: str, email: str) -> None:
    page.goto(f"{base}/login/")
    page.locator("#id_email").fill(email)
    page.locator("#id_password").fill(PASSWORD)
    with page.expect_navigation():
        page.locator("main form button[type=submit]").click()
    assert page.url == f"{base}/client/"


def world_for(entity_code: str, world: Any) -> Any:
    if entity_code == "SC":
        offshore_entity(world)
    if entity_code == "UK":
        uk_pays_out_in_usd(world)
    return {"EU": world.eu_brand, "UK": world.uk_brand, "SC": getattr(world, "sc_brand", None)}[
        entity_code
    ]


@pytest.mark.django_db(transaction=True)
@pytest.mark.parametrize(
    ("entity_code", "language"), [("EU", "en"), ("UK", "en"), ("SC", "ar"), ("EU", "ar")]
)
def test_the_portal_from_registration_to_a_paid_withdrawal(
    entity_code,
    language,
    page,
    kyc_world,  # noqa: F811
    payments_world,  # noqa: F811
    psp_simulator,  # noqa: F811
    shared_sim,  # noqa: F811
    live_server,
    eager_tasks,  # noqa: F811
):
    country, currency, platform, payout_currency, iban = ENTITIES[entity_code]
    world = payments_world
    brand = world_for(entity_code, world)
    entity = brand.entity
    finance = {
        "EU": world.eu_finance,
        "UK": world.uk_finance,
        "SC": getattr(world, "sc_finance", None),
    }[entity_code]
    configure_simulator(world, psp_simulator, live_server.url, payout_settle_s=1.0)
    trading_server(entity, platform, shared_sim.url)
    publish_documents(entity)
    for (base_currency, quote), rate in {
        ("EUR", "USD"): "1.10",
        ("GBP", "USD"): "1.25",
        ("USD", "EUR"): "0.90",
        ("GBP", "EUR"): "1.16",
    }.items():
        fx_rate_record(base=base_currency, quote=quote, rate=Decimal(rate), source="test")
    csp = watch_csp(page)
    base = f"{live_server.url}/b/{brand.code}"
    email = f"ivan.petrov.{entity_code.lower()}.{language}@example.com"
    shot = f"journey-{entity_code.lower()}-{language}"

    # The client picks the language on the brand's page, then opens an account.
    page.goto(f"{base}/register/")
    if language != "en":
        choose_language(page, language)
    assert page.locator("html").get_attribute("lang") == language
    check_page(page, f"{shot}-01-account", csp)
    fill(page, {"email": email, "password": PASSWORD})
    submit(page)
    fill(
        page,
        {
            "given_name": "Ivan",
            "family_name": "Petrov",
            "birth_date": "1985-07-14",
            "nationality": country,
            "phone": PHONES[country],
        },
    )
    check_page(page, f"{shot}-02-personal", csp)
    submit(page)
    fill(
        page,
        {
            "residence_country": country,
            "address_line1": "1 Main Street",
            "city": "Capital",
            "postcode": "10115",
        },
    )
    check_page(page, f"{shot}-03-residence", csp)
    submit(page)
    assert page.url == f"{base}/client/verification/"
    check_page(page, f"{shot}-04-verification", csp)
    profile = profile_get(client_kyc_file_profile(email, entity))
    assert profile.language == language

    # The link in the e-mail confirms the address.
    message = next(m for m in mail.outbox if email in m.to)
    page.goto(f"{base}/verify-email?token={mailed_token(message)}")
    check_page(page, f"{shot}-05-verify-email", csp)
    submit(page)

    # The entity's documents, each read and accepted.
    page.goto(f"{base}/client/verification/")
    while page.locator("form.consent-form").count():
        consent = page.locator("form.consent-form").first
        consent.locator("input[type=checkbox]").check()
        with page.expect_navigation():
            consent.locator("button[type=submit]").click()

    # The questionnaire, the passport and a recent bill.
    page.goto(f"{base}/client/verification/questionnaire/")
    fill(page, QUESTIONNAIRE)
    check_page(page, f"{shot}-06-questionnaire", csp)
    submit(page)
    upload(page, base, "identity", "passport.png", "image/png", passport_for(profile), "passport")
    check_page(page, f"{shot}-07-upload", csp)
    upload_bill(page, base)
    submit(page, "main form[action$='/submit/']")
    kyc_file = client_kyc_file(entity_id=entity.pk, profile_id=profile.pk)
    assert kyc_file.status == "approved", kyc_file.status
    page.goto(f"{base}/client/")
    check_page(page, f"{shot}-08-overview-verified", csp)

    # A card deposit, paid on the PSP's hosted page.
    page.goto(f"{base}/client/deposit/?currency={currency}")
    page.locator("main input[name=method][value=card]").check()
    page.locator("main [name=amount]").fill(CARD_DEPOSIT)
    check_page(page, f"{shot}-09-deposit", csp)
    submit(page)
    with page.expect_navigation():
        page.locator("main a.button[href*='://']").first.click()
    page.locator("[name=card_number]").fill(CARD_OK)
    page.locator("[name=expiry]").fill("12/30")
    with page.expect_navigation():
        page.locator("button[type=submit], input[type=submit]").first.click()
    page.locator("[name=code]").fill(TEST_OTP)
    with page.expect_navigation():
        page.locator("button[type=submit], input[type=submit]").first.click()
    assert page.url.startswith(f"{base}/client/deposit/return/")
    assert until(
        lambda: (
            [d.status for d in client_deposits(entity_id=entity.pk, profile_id=profile.pk)]
            == ["credited"]
        )
    )
    page.reload()
    check_page(page, f"{shot}-10-deposit-credited", csp)
    # And a bank wire from the client's own account.
    page.goto(f"{base}/client/deposit/?currency={currency}")
    page.locator("main input[name=method][value=bank_wire]").check()
    page.locator("main [name=amount]").fill(WIRE_DEPOSIT)
    page.locator("main [name=iban]").fill(iban)
    submit(page)
    assert until(
        lambda: (
            sorted(d.status for d in client_deposits(entity_id=entity.pk, profile_id=profile.pk))
            == ["credited", "credited"]
        )
    )

    # A live account in USD, funded from the wallet at the quoted rate.
    page.goto(f"{base}/client/accounts/")
    page.locator("main input[name=offer][value^='standard:USD:']").first.check()
    submit(page)
    account = until(
        lambda: client_trading_accounts(entity_id=entity.pk, profile_id=profile.pk).first()
    )
    assert account is not None
    check_page(page, f"{shot}-11-accounts", csp)
    page.goto(f"{base}/client/transfer/")
    page.locator("#id_source").select_option(f"wallet:{wallet_id(page, currency)}")
    page.locator("#id_target").select_option(f"account:{account.pk}")
    page.locator("#id_amount").fill(FUNDING)
    submit(page)
    check_page(page, f"{shot}-12-transfer-quote", csp)
    submit(page)
    assert until(
        lambda: (
            client_trading_accounts(entity_id=entity.pk, profile_id=profile.pk).first().balance > 0
        )
    )
    check_page(page, f"{shot}-13-transfer-done", csp)

    # The bank account the rest is paid to; finance verifies it against a statement.
    page.goto(f"{base}/client/withdraw/?currency={currency}&payout_currency={payout_currency}")
    check_page(page, f"{shot}-14-withdraw-blocked", csp)
    fill(page, {"bank-iban": iban, "bank-holder": "Ivan Petrov"})
    submit(page, "main form:has(input[name=action][value=bank_account])")
    staff = APIClient()
    staff.force_login(finance)
    bank_account_id = client_bank_accounts(entity_id=entity.pk, profile_id=profile.pk).get().pk
    verified = staff.post(
        f"/api/v1/bank-accounts/{bank_account_id}/verify",
        {"reason": "bank statement seen"},
        format="json",
    )
    assert verified.status_code == 200, verified.content

    # Two days later the client signs in again and withdraws, paid out in another currency.
    with time_machine.travel(timezone.now() + timedelta(hours=49), tick=True):
        page.goto(f"{base}/client/withdraw/?currency={currency}&payout_currency={payout_currency}")
        assert "/login/" in page.url  # the session did not outlive its limits
        sign_in(page, base, email)
        page.goto(f"{base}/client/withdraw/?currency={currency}&payout_currency={payout_currency}")
        page.locator("main [name=amount]").fill(WITHDRAWAL)
        check_page(page, f"{shot}-15-withdraw", csp)
        submit(page, "main form:has(input[name=action][value=withdraw])")
    assert until(
        lambda: (
            [w.status for w in client_withdrawals(entity_id=entity.pk, profile_id=profile.pk)]
            == ["paid"]
        )
    )
    withdrawal = client_withdrawals(entity_id=entity.pk, profile_id=profile.pk).get()
    legs = sorted((leg.destination, leg.payout[1]) for leg in withdrawal.legs.all())
    assert legs == sorted([("card", currency), ("bank", payout_currency)])
    page.reload()
    check_page(page, f"{shot}-16-withdrawal-paid", csp)
    page.goto(f"{base}/client/history/")
    check_page(page, f"{shot}-17-history", csp)
    assert_ledger_sound(entity)

    # Another client of the same brand types this client's ids: 404 each time.
    other = register(
        brand,
        email=f"olga.{entity_code.lower()}.{language}@example.com",
        given_name="Olga",
        family_name="Smirnova",
        birth_date="1990-01-02",
        residence_country=country,
        nationality=country,
        phone=PHONES[country],
        document=None,
        device_fingerprint=f"olga-{entity_code}-{language}",
    ).profile
    client_login(other)
    them = page.context.browser.new_context()
    intruder = them.new_page()
    intruder.goto(f"{base}/login/")
    intruder.locator("#id_email").fill(other.email)
    intruder.locator("#id_password").fill(CLIENT_PASSWORD)
    with intruder.expect_navigation():
        intruder.locator("main form button[type=submit]").click()
    kyc_document = kyc_file.documents.in_entity(entity.pk).first()
    deposit = client_deposits(entity_id=entity.pk, profile_id=profile.pk).first()
    for path in (
        f"/client/accounts/{account.pk}/",
        f"/client/verification/documents/{kyc_document.pk}/",
        f"/client/deposit/return/?reference={deposit.reference}",
    ):
        assert intruder.goto(f"{base}{path}").status == 404, path
    them.close()


def client_kyc_file_profile(email: str, entity: Any) -> int:
    from brokercrm.accounts.models import User

    return User.objects.get(kind="client", email=email, profile__entity=entity).profile_id


def wallet_id(page: Any, currency: str) -> str:
    """The id of the client's wallet in `currency`, from the transfer form's choices."""
    for option in page.locator("#id_source option").all():
        value = option.get_attribute("value") or ""
        if value.startswith("wallet:") and currency in option.inner_text():
            return value.split(":", 1)[1]
    raise AssertionError(f"no {currency} wallet to transfer from")


def upload(
    page: Any,
    base: str,
    kind: str,
    name: str,
    mime: str,
    data: bytes,
    doc_type: str,
    **fields: str,
) -> None:
    page.goto(f"{base}/client/verification/upload/{kind}/")
    if page.locator("main [name=doc_type]").count():
        page.locator("main [name=doc_type]").select_option(doc_type)
    fill(page, fields)
    page.locator("main input[type=file]").set_input_files(
        files=[{"name": name, "mimeType": mime, "buffer": data}]
    )
    submit(page)
    assert page.url == f"{base}/client/verification/", page.url


def upload_bill(page: Any, base: str) -> None:
    """A utility bill issued ten days ago, as the proof of address."""
    issued = (timezone.localdate() - timedelta(days=10)).isoformat()
    upload(
        page,
        base,
        "proof_of_address",
        "bill.pdf",
        "application/pdf",
        MINIMAL_PDF,
        "utility_bill",
        issued_on=issued,
    )
