"""What the pages a signed-in client walks most (overview, history, deposit form) cost in
queries: the sign-in's token, login, profile and entity in one, the session from the cache,
the rule sets' risk warning and wallet currencies kept briefly in the process, and nothing
read twice. A page that starts reading more shows here, with the queries it ran."""

from __future__ import annotations

import pytest

from payments.tests.conftest import approved_client, payments_world, psp_secret  # noqa: F401
from payments.tests.test_self_service import verified
from portal.context import rules_cache_clear
from portal.tests.pages import signed_in
from wallets.services import wallet_open
from wallets.tests.factories import fund

pytestmark = pytest.mark.django_db

# brand, token with login+profile+entity, then the page's own reads, then the menu's partner
# entry and unread badge. The overview: KYC file, its rules, its documents, wallets, trading
# accounts, recent movements, documents in force; the history: movements, deposits,
# withdrawals; the deposit form: methods, recent deposits.
PAGES = [("/client/", 11), ("/client/history/", 7), ("/client/deposit/", 6)]


@pytest.fixture
def wallet(portal_world, payments_world):  # noqa: F811
    """The EUR wallet of a verified client with three deposits in it."""
    profile = verified(approved_client(payments_world))
    wallet = wallet_open(profile=profile, currency="EUR")
    for _ in range(3):
        fund(wallet, "100.00")
    return wallet


@pytest.fixture
def browser(wallet):
    return signed_in(wallet.profile)


@pytest.mark.parametrize(("path", "queries"), PAGES)
def test_a_page_costs_a_fixed_number_of_queries(browser, django_assert_num_queries, path, queries):
    url = f"/b/eu-brand{path}"
    assert browser.get(url).status_code == 200  # the rule sets' figures are now kept
    with django_assert_num_queries(queries):
        assert browser.get(url).status_code == 200


def test_the_rules_are_read_again_once_no_longer_kept(browser, django_assert_num_queries):
    url = "/b/eu-brand/client/deposit/"
    browser.get(url)
    rules_cache_clear()
    # The wallet currencies and the risk warning: one rule set query each.
    with django_assert_num_queries(6 + 2):
        page = browser.get(url)
    assert page.status_code == 200
    assert "EUR" in page.content.decode()


def test_more_movements_cost_no_more_queries(browser, wallet, django_assert_num_queries):
    url = "/b/eu-brand/client/history/"
    browser.get(url)
    with django_assert_num_queries(7):
        before = browser.get(url).content.decode()
    for _ in range(10):
        fund(wallet, "5.00")
    with django_assert_num_queries(7):
        after = browser.get(url).content.decode()
    assert after.count("<tr>") > before.count("<tr>")
