"""The portal's trading pages: the account types offered, a live account opened (refused in
words before KYC approval), another client's account 404, and a transfer between a wallet
and a trading account quoted (rate and the amount received) then confirmed, once, with the
ledger balanced."""

from __future__ import annotations

import re
import uuid
from decimal import Decimal

import pytest

from platforms.models import TradingAccount, TransferQuote
from platforms.tests.factories import client_of, trading_server
from platforms.tests.test_client_api import sim_url  # noqa: F401 (fixture)
from portal.tests.pages import signed_in
from wallets.models import LedgerAccount
from wallets.services import fx_rate_record, wallet_open
from wallets.tests.factories import assert_ledger_sound, fund

pytestmark = pytest.mark.django_db


@pytest.fixture
def eu_server(portal_world, request):
    return trading_server(portal_world.eu, "mt5", request.getfixturevalue("sim_url"))


def form_key(page, name: str = "key") -> str:
    found = re.search(rf'name="{name}" value="([0-9a-f-]{{36}})"', page.content.decode())
    assert found, f"no {name} on the page"
    return found.group(1)


def open_account(browser, offer: str):
    page = browser.get("/b/eu-brand/client/accounts/")
    return browser.post("/b/eu-brand/client/accounts/", {"offer": offer, "key": form_key(page)})


def test_a_verified_client_opens_a_live_account_once(portal_world, eu_server):
    profile = client_of(portal_world.eu_brand)
    browser = signed_in(profile)
    page = browser.get("/b/eu-brand/client/accounts/").content.decode()
    assert "You have no trading account yet." in page
    offers = re.findall(r'name="offer" value="([^"]+)"', page)
    assert offers == [
        f"demo:USD:{eu_server.pk}",
        f"pro:USD:{eu_server.pk}",
        f"standard:USD:{eu_server.pk}",
    ]
    form = browser.get("/b/eu-brand/client/accounts/")
    body = {"offer": f"standard:USD:{eu_server.pk}", "key": form_key(form)}
    opened = browser.post("/b/eu-brand/client/accounts/", body)
    browser.post("/b/eu-brand/client/accounts/", body)  # a double submit opens nothing more
    account = TradingAccount.objects.unscoped().get(profile=profile)
    assert (account.account_type, account.currency, account.status) == (
        "standard",
        "USD",
        "enabled",
    )
    text = opened.content.decode()
    assert f"Your Live standard account {account.login} is open." in text
    assert f'href="/b/eu-brand/client/accounts/{account.pk}/"' in text
    detail = browser.get(f"/b/eu-brand/client/accounts/{account.pk}/")
    assert detail.status_code == 200
    assert "0.00 USD" in detail.content.decode()


def test_a_live_account_is_refused_in_words_before_kyc_approval(portal_world, eu_server):
    profile = client_of(portal_world.eu_brand, approved=False)
    browser = signed_in(profile)
    refused = open_account(browser, f"standard:USD:{eu_server.pk}")
    assert refused.status_code == 200
    assert "A live account opens once your identity is verified." in refused.content.decode()
    assert not TradingAccount.objects.unscoped().filter(profile=profile).exists()
    unknown = open_account(browser, "standard:EUR:999")
    assert "Select a valid choice." in unknown.content.decode()
    demo = open_account(browser, f"demo:USD:{eu_server.pk}")
    assert "Your Demo account" in demo.content.decode()
    assert TradingAccount.objects.unscoped().get(profile=profile).account_type == "demo"


def test_another_clients_account_is_404(portal_world, eu_server):
    theirs = client_of(portal_world.eu_brand)
    open_account(signed_in(theirs), f"standard:USD:{eu_server.pk}")
    account = TradingAccount.objects.unscoped().get(profile=theirs)
    mine = signed_in(client_of(portal_world.eu_brand))
    assert mine.get(f"/b/eu-brand/client/accounts/{account.pk}/").status_code == 404
    assert str(account.login) not in mine.get("/b/eu-brand/client/accounts/").content.decode()
    # nor can their account be chosen for a transfer
    transfer = mine.get("/b/eu-brand/client/transfer/").content.decode()
    assert f"account:{account.pk}" not in transfer


@pytest.fixture
def funded(portal_world, eu_server):
    """An approved client with EUR 1,000 in the wallet and a live USD account."""
    profile = client_of(portal_world.eu_brand)
    wallet = wallet_open(profile=profile, currency="EUR")
    fund(wallet, "1000.00")
    fx_rate_record(base="EUR", quote="USD", rate="1.1000", source="test")
    browser = signed_in(profile)
    open_account(browser, f"standard:USD:{eu_server.pk}")
    account = TradingAccount.objects.unscoped().get(profile=profile)
    return profile, wallet, account, browser


def test_a_transfer_is_quoted_then_confirmed_once_and_the_ledger_balances(portal_world, funded):
    _profile, wallet, account, browser = funded
    url = "/b/eu-brand/client/transfer/"
    form = browser.get(url).content.decode()
    assert (
        f'<option value="wallet:{wallet.pk}">Wallet EUR (available 1,000.00 EUR)</option>' in form
    )
    body = {"action": "quote", "source": f"wallet:{wallet.pk}", "target": f"account:{account.pk}"}
    for amount, message in (
        ("0", "The amount must be above zero."),
        ("ten", "Enter the amount in figures, such as 250.00."),
    ):
        refused = browser.post(url, {**body, "amount": amount})
        assert message in refused.content.decode()
    same = browser.post(url, {**body, "target": f"wallet:{wallet.pk}", "amount": "10"})
    assert "Choose another wallet or account to move the money to." in same.content.decode()
    assert not TransferQuote.objects.unscoped().exists()
    quoted = browser.post(url, {**body, "amount": "200.00"})
    text = quoted.content.decode()
    quote = TransferQuote.objects.unscoped().get()
    assert "<dt>You send</dt><dd>200.00 EUR</dd>" in text
    assert "<dt>Exchange rate</dt><dd>EUR/USD 1.1</dd>" in text  # the quote's 1.1000000000
    assert f"<dt>You receive</dt><dd>{quote.to_amount:.2f} USD</dd>" in text
    assert quote.to_amount == Decimal("200.00") * quote.rate // Decimal("0.01") * Decimal("0.01")
    assert LedgerAccount.objects.unscoped().get(pk=wallet.pk).balance == Decimal("1000.00")
    confirm = {"action": "confirm", "quote_id": str(quote.token), "key": form_key(quoted)}
    done = browser.post(url, confirm)
    again = browser.post(url, confirm)  # a double submit moves nothing more
    for response in (done, again):
        assert "Transfer done" in response.content.decode()
        assert f"200.00 EUR sent, {quote.to_amount:.2f} USD received." in response.content.decode()
    assert LedgerAccount.objects.unscoped().get(pk=wallet.pk).balance == Decimal("800.00")
    assert_ledger_sound(portal_world.eu)


def test_another_clients_quote_is_404(portal_world, funded):
    _profile, wallet, account, browser = funded
    browser.post(
        "/b/eu-brand/client/transfer/",
        {
            "action": "quote",
            "source": f"wallet:{wallet.pk}",
            "target": f"account:{account.pk}",
            "amount": "50.00",
        },
    )
    quote = TransferQuote.objects.unscoped().get()
    other = signed_in(client_of(portal_world.eu_brand))
    answer = other.post(
        "/b/eu-brand/client/transfer/",
        {"action": "confirm", "quote_id": str(quote.token), "key": str(uuid.uuid4())},
    )
    assert answer.status_code == 404
    assert TransferQuote.objects.unscoped().get().executed_at is None
