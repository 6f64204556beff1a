"""The portal's money pages: deposit methods and amounts checked on the form, a bank wire and a
card on the PSP's hosted page (a link, not a redirect), the return page of the client's own
deposits only, withdrawals with every block explained before the form, bank accounts, and a
withdrawal that holds the money with the ledger balanced."""

from __future__ import annotations

import re
from datetime import timedelta
from decimal import Decimal

import pytest
from django.utils import timezone
from django.utils.formats import date_format

from kyc.models import KycFile
from payments.models import BankAccount, Deposit, DepositAttempt, Withdrawal
from payments.tests.conftest import (  # noqa: F401 (fixtures)
    IBAN_OK,
    approved_client,
    configure_simulator,
    payments_world,
    psp_secret,
    psp_simulator,
)
from payments.tests.test_self_service import OTHER, verified
from portal.tests.pages import signed_in
from wallets.models import Hold
from wallets.services import wallet_open
from wallets.tests.factories import assert_ledger_sound, fund

pytestmark = pytest.mark.django_db


@pytest.fixture
def money_world(portal_world, request):
    """The portal's brands and KYC rules with the payments configuration on top."""
    return request.getfixturevalue("payments_world")


@pytest.fixture
def psp(money_world, request):
    """The PSP simulator answering for the merchant accounts (webhooks go nowhere); the test
    names `psp_simulator` too (usefixtures) so the payments world points at it."""
    configure_simulator(money_world, request.getfixturevalue("psp_simulator"), "http://127.0.0.1:9")


def form_key(page) -> str:
    found = re.search(r'name="key" value="([0-9a-f-]{36})"', page.content.decode())
    assert found, "no idempotency key on the form"
    return found.group(1)


def deposit_post(browser, **values):
    page = browser.get("/b/eu-brand/client/deposit/?currency=EUR")
    body = {"currency": "EUR", "method": "bank_wire", "amount": "100.00", "iban": IBAN_OK}
    body.update(key=form_key(page), **values)
    return browser.post("/b/eu-brand/client/deposit/?currency=EUR", body)


def test_the_deposit_page_lists_the_methods_of_my_country_with_their_limits(money_world):
    browser = signed_in(verified(approved_client(money_world)))
    page = browser.get("/b/eu-brand/client/deposit/?currency=USD")
    assert page.status_code == 200
    text = page.content.decode()
    # USD: bank wire without a limit, cards up to 5,000 for residents of DE
    assert '<th scope="row">Bank wire</th>' in text
    assert "Card (up to 5,000.00 USD)" in text
    assert "Sofort" not in text
    euros = browser.get("/b/eu-brand/client/deposit/").content.decode()
    assert '<th scope="row">Sofort</th>' in euros
    assert '<option value="EUR" selected>EUR</option>' in euros


@pytest.mark.parametrize(
    ("amount", "message"),
    [
        ("0", "The amount must be above zero."),
        ("-5", "The amount must be above zero."),
        ("abc", "Enter the amount in figures, such as 250.00."),
        ("1e3", "Enter the amount in figures, such as 250.00."),
        ("10.001", "Use at most 2 decimal places."),
        ("", "This field is required."),
    ],
)
def test_bad_amounts_are_refused_on_the_form_and_nothing_is_written(money_world, amount, message):
    browser = signed_in(verified(approved_client(money_world)))
    answer = deposit_post(browser, amount=amount)
    assert answer.status_code == 200
    assert message in answer.content.decode()
    assert not Deposit.objects.unscoped().exists()


def test_an_amount_over_the_methods_maximum_is_refused(money_world):
    browser = signed_in(verified(approved_client(money_world)))
    page = browser.get("/b/eu-brand/client/deposit/?currency=USD")
    answer = browser.post(
        "/b/eu-brand/client/deposit/?currency=USD",
        {"currency": "USD", "method": "card", "amount": "5000.01", "key": form_key(page)},
    )
    assert "The largest Card deposit is 5,000.00 USD." in answer.content.decode()
    assert not Deposit.objects.unscoped().exists()


def test_a_wire_without_an_iban_and_an_unknown_method_are_refused(money_world):
    browser = signed_in(verified(approved_client(money_world)))
    no_iban = deposit_post(browser, iban="")
    assert "Give the IBAN of your account the wire comes from." in no_iban.content.decode()
    unknown = deposit_post(browser, method="bitcoin")
    assert "Select a valid choice." in unknown.content.decode()
    assert not Deposit.objects.unscoped().exists()


def test_an_unverified_e_mail_gets_the_services_refusal_on_the_form(money_world):
    browser = signed_in(approved_client(money_world))  # e-mail not verified
    answer = deposit_post(browser)
    assert answer.status_code == 200
    assert "Verify your e-mail address first: follow the link we sent you." in (
        answer.content.decode()
    )
    assert not Deposit.objects.unscoped().exists()


@pytest.mark.usefixtures("psp_simulator")
def test_a_bank_wire_deposit_is_created_once_and_shows_its_instructions(money_world, psp):
    profile = verified(approved_client(money_world))
    browser = signed_in(profile)
    page = browser.get("/b/eu-brand/client/deposit/?currency=EUR")
    body = {
        "currency": "EUR",
        "method": "bank_wire",
        "amount": "250.00",
        "iban": IBAN_OK,
        "key": form_key(page),
    }
    answer = browser.post("/b/eu-brand/client/deposit/?currency=EUR", body)
    again = browser.post("/b/eu-brand/client/deposit/?currency=EUR", body)  # a double submit
    deposit = Deposit.objects.unscoped().get()
    assert (deposit.profile_id, deposit.amount, deposit.method.code) == (
        profile.pk,
        Decimal("250.00"),
        "bank_wire",
    )
    reference = DepositAttempt.objects.unscoped().get(deposit=deposit).reference
    for response in (answer, again):
        text = response.content.decode()
        assert "Bank wire instructions" in text
        assert "Deposit of 250.00 EUR" in text
        assert f"<code>{reference}</code>" in text
        assert "IBAN …3000" in text
    # the return page reads it back by its reference
    back = browser.get(f"/b/eu-brand/client/deposit/return/?reference={reference}")
    assert back.status_code == 200
    assert f"<code>{reference}</code>" in back.content.decode()


@pytest.mark.usefixtures("psp_simulator")
def test_a_card_deposit_links_to_the_hosted_page_and_the_return_page_polls(money_world, psp):
    browser = signed_in(verified(approved_client(money_world)))
    page = browser.get("/b/eu-brand/client/deposit/?currency=EUR")
    answer = browser.post(
        "/b/eu-brand/client/deposit/?currency=EUR",
        {"currency": "EUR", "method": "card", "amount": "100.00", "key": form_key(page)},
    )
    assert answer.status_code == 200  # a page with a link, never a redirect off the site
    deposit = Deposit.objects.unscoped().get()
    assert deposit.status == "awaiting_payer"
    assert deposit.return_url == "http://testserver/b/eu-brand/client/deposit/return/"
    text = answer.content.decode()
    assert f'href="{deposit.redirect_url}"' in text
    assert "Continue to the payment page" in text
    reference = DepositAttempt.objects.unscoped().get(deposit=deposit).reference
    back = browser.get(f"/b/eu-brand/client/deposit/return/?reference={reference}&status=ok")
    assert "Waiting for you on the payment page" in back.content.decode()
    assert 'hx-trigger="every 3s"' in back.content.decode()
    partial = browser.get(
        f"/b/eu-brand/client/deposit/return/?reference={reference}", HTTP_HX_REQUEST="true"
    )
    assert partial.content.decode().startswith('<div id="deposit-status"')
    # once credited, the polling stops
    Deposit.objects.unscoped().filter(pk=deposit.pk).update(status="credited")
    done = browser.get(f"/b/eu-brand/client/deposit/return/?reference={reference}").content
    assert "Credited to your wallet" in done.decode()
    assert b"hx-trigger" not in done


@pytest.mark.usefixtures("psp_simulator")
def test_another_clients_deposit_reference_is_404(money_world, psp):
    theirs = signed_in(verified(approved_client(money_world, **OTHER)))
    page = theirs.get("/b/eu-brand/client/deposit/?currency=EUR")
    theirs.post(
        "/b/eu-brand/client/deposit/?currency=EUR",
        {
            "currency": "EUR",
            "method": "bank_wire",
            "amount": "50.00",
            "iban": IBAN_OK,
            "key": form_key(page),
        },
    )
    reference = DepositAttempt.objects.unscoped().get().reference
    mine = signed_in(verified(approved_client(money_world)))
    assert mine.get(f"/b/eu-brand/client/deposit/return/?reference={reference}").status_code == 404
    assert mine.get("/b/eu-brand/client/deposit/return/?reference=").status_code == 404
    assert reference not in mine.get("/b/eu-brand/client/deposit/").content.decode()


# --- withdrawals -------------------------------------------------------------------------------


def test_the_withdraw_page_explains_every_block_before_the_form(money_world):
    profile = verified(approved_client(money_world))
    wallet_open(profile=profile, currency="EUR")
    KycFile.objects.unscoped().filter(profile=profile).update(status=KycFile.Status.IN_REVIEW)
    browser = signed_in(profile)
    text = browser.get("/b/eu-brand/client/withdraw/?currency=EUR").content.decode()
    assert "You cannot withdraw yet" in text
    blocks = re.findall(r'<li class="block-([a-z_]+)">', text)
    assert blocks == ["kyc_not_approved", "insufficient_funds", "bank_account_missing"]
    for sentence in (
        "Your identity is not verified yet.",
        "You have no money available to withdraw in this wallet.",
        "Add a bank account in your own name below",
    ):
        assert sentence in text
    assert 'name="amount"' not in text  # no form while something stands in the way
    assert "The form opens when nothing above stands in the way." in text


def test_the_cooling_off_block_says_when_it_ends(money_world, settings):
    settings.TIME_ZONE = "UTC"
    profile = verified(approved_client(money_world))
    fund(wallet_open(profile=profile, currency="EUR"), "100.00")
    until = (timezone.now() + timedelta(hours=20)).replace(second=0, microsecond=0)
    KycFile.objects.unscoped().filter(profile=profile).update(earliest_withdrawal_at=until)
    text = signed_in(profile).get("/b/eu-brand/client/withdraw/?currency=EUR").content.decode()
    assert re.findall(r'<li class="block-([a-z_]+)">', text) == [
        "cooling_off",
        "bank_account_missing",
    ]
    assert "Your first withdrawal is possible after the waiting period" in text
    assert f"Possible from {date_format(until, 'DATETIME_FORMAT')}</strong>" in text


def test_bank_accounts_are_added_in_my_name_and_shown_waiting_for_finance(money_world):
    profile = verified(approved_client(money_world))
    wallet_open(profile=profile, currency="EUR")
    browser = signed_in(profile)
    url = "/b/eu-brand/client/withdraw/?currency=EUR"
    bad = browser.post(
        url, {"action": "bank_account", "bank-iban": "DE00123", "bank-holder": "Olga Nowak"}
    )
    text = bad.content.decode()
    assert "This IBAN is not valid: check the letters and figures." in text
    assert "The account must be in your own name" in text
    assert not BankAccount.objects.unscoped().exists()
    added = browser.post(
        url, {"action": "bank_account", "bank-iban": IBAN_OK, "bank-holder": "Ivan Petrov"}
    )
    assert added.status_code == 302
    page = browser.get(added["Location"]).content.decode()
    assert "DE89…3000" in page
    assert "Waiting for verification by finance" in page
    assert "Your bank account is not verified yet" in page
    assert BankAccount.objects.unscoped().get().profile_id == profile.pk


def test_an_eligible_client_withdraws_and_the_money_is_held_with_the_ledger_balanced(money_world):
    profile = verified(approved_client(money_world))
    fund(wallet_open(profile=profile, currency="EUR"), "800.00")
    account = BankAccount.objects.create(
        entity=money_world.eu, profile=profile, iban=IBAN_OK, holder="Ivan Petrov", verified=True
    )
    browser = signed_in(profile)
    url = "/b/eu-brand/client/withdraw/?currency=EUR&payout_currency=EUR"
    page = browser.get(url)
    text = page.content.decode()
    assert "You cannot withdraw yet" not in text
    assert "Available to withdraw: 800.00 EUR" in text
    body = {
        "action": "withdraw",
        "amount": "300.00",
        "currency": "EUR",
        "payout_currency": "EUR",
        "bank_account": account.pk,
        "key": form_key(page),
    }
    too_much = browser.post(url, {**body, "amount": "900.00"})
    assert too_much.status_code == 200
    assert not Withdrawal.objects.unscoped().exists()
    done = browser.post(url, body)
    assert done.status_code == 302
    assert browser.post(url, body).status_code == 302  # the same form again: the same one
    withdrawal = Withdrawal.objects.unscoped().get()
    assert (withdrawal.profile_id, withdrawal.amount, withdrawal.currency) == (
        profile.pk,
        Decimal("300.00"),
        "EUR",
    )
    assert Hold.objects.unscoped().filter(status="pending").count() == 1
    listed = browser.get(done["Location"]).content.decode()
    assert "Withdrawal of 300.00 EUR requested." in listed
    assert "To your bank account DE89…3000: 300.00 EUR" in listed
    assert "Available to withdraw: 500.00 EUR" in listed
    assert_ledger_sound(money_world.eu)


def test_another_clients_bank_account_id_is_404(money_world):
    profile = verified(approved_client(money_world))
    fund(wallet_open(profile=profile, currency="EUR"), "100.00")
    BankAccount.objects.create(
        entity=money_world.eu, profile=profile, iban=IBAN_OK, holder="Ivan Petrov", verified=True
    )
    other = verified(approved_client(money_world, **OTHER))
    theirs = BankAccount.objects.create(
        entity=money_world.eu,
        profile=other,
        iban="FR1420041010050500013M02606",
        holder="Olga Nowak",
        verified=True,
    )
    browser = signed_in(profile)
    url = "/b/eu-brand/client/withdraw/?currency=EUR"
    page = browser.get(url)
    answer = browser.post(
        url,
        {
            "action": "withdraw",
            "amount": "10.00",
            "currency": "EUR",
            "payout_currency": "EUR",
            "bank_account": theirs.pk,
            "key": form_key(page),
        },
    )
    # not one of the choices the form offers: refused, nothing written
    assert answer.status_code == 200
    assert "Select a valid choice." in answer.content.decode()
    assert not Withdrawal.objects.unscoped().exists()
