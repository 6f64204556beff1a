"""The partner area in the portal: only for the entity's IBs; referral links with QR codes,
the referred clients masked as the API shows them, the statement for a period with totals
equal to what the ledger paid."""

from __future__ import annotations

import re

import pytest
from django.test import Client
from django.utils.formats import date_format

from brokercrm.gate import SYSTEM
from brokercrm.masking import mask_text
from ib.referred import ib_referral_links, ib_referred_clients, referred_rows
from ib.services import commission_batch_run, ib_partner_create
from ib.tests.factories import account_of, at, ib_of, plan_of, round_trip
from ib.tests.test_self_service import referred_client
from portal.tests.test_profile import ivan, signed_in_browser
from wallets.selectors import client_wallets

pytestmark = pytest.mark.django_db

IB = "/b/eu-brand/client/ib/"
MARCH = {"date_from": "2026-03-01", "date_to": "2026-03-31"}


@pytest.fixture
def eu_client(portal_world):
    return ivan(portal_world)


@pytest.fixture
def partner(portal_world, eu_client):
    """Ivan is an IB: one referred client traded twice in March (20 + 10 USD of rebates paid);
    another IB of the entity has a client of its own."""
    plan = plan_of(portal_world.eu, split=[100])
    mine = ib_partner_create(actor=SYSTEM, profile=eu_client, name="Ivan's desk", plan=plan)
    referred = referred_client(mine, portal_world.eu_brand)
    account = account_of(referred)
    round_trip(account, opened=at(5), volume="2")
    round_trip(account, opened=at(20))
    other = ib_of(portal_world.eu_brand, plan)
    round_trip(account_of(referred_client(other, portal_world.eu_brand)), opened=at(6), volume="3")
    commission_batch_run()
    return mine, referred, other


def usd_balance(profile) -> str:
    (wallet,) = [
        row
        for row in client_wallets(entity_id=profile.entity_id, profile_id=profile.pk)
        if row.currency == "USD"
    ]
    return f"{wallet.ledger_balance:.2f} USD"


def test_a_client_who_is_no_partner_finds_no_partner_area(portal_world, eu_client):
    browser = signed_in_browser()
    assert browser.get(IB).status_code == 404
    overview = browser.get("/b/eu-brand/client/").content.decode()
    assert "Partner area" not in overview
    assert 'href="/b/eu-brand/client/ib/"' not in overview


def test_the_partner_area_asks_to_sign_in(portal_world, partner):
    response = Client().get(IB)
    assert response.status_code == 302
    assert response["Location"].startswith("/b/eu-brand/login/?next=")


def test_a_partner_sees_links_with_qr_codes_and_masked_clients(portal_world, partner):
    mine, referred, other = partner
    browser = signed_in_browser()
    response = browser.get(IB)
    assert response.status_code == 200
    text = response.content.decode()
    assert 'href="/b/eu-brand/client/ib/" aria-current="page">Partner area' in text
    (code,) = ib_referral_links(ib=mine)
    link = f"https://eu.example.com/register?ref={code['code']}"
    assert f'<a href="{link}" rel="noopener">{link}</a>' in text
    assert text.count('class="qr"><path') == 1  # one code, one QR code drawn on the server
    assert f'aria-label="QR code of {link}"' in text
    assert "One client registered with this code (0 funded)." in text
    # the referred client masked, as the API shows them; another IB's client not at all
    (row,) = re.findall(r"<tr><td>[^<]*</td><td>[^<]*@[^<]*</td>.*?</tr>", text)
    code_of_theirs = referred_rows(list(ib_referred_clients(ib=other)), entity_id=other.entity_id)
    assert row == (
        f"<tr><td>T. T.</td><td>{mask_text(referred.email)}</td><td>DE</td>"
        f"<td>{date_format(referred.created_at.date(), 'SHORT_DATE_FORMAT')}</td>"
        "<td>Verification not finished</td><td>No</td>"
        f"<td>Your referral code ({code['code']})</td></tr>"
    )
    assert referred.email not in text
    assert referred.family_name not in text
    assert code_of_theirs[0]["code"] not in text


def test_the_statement_for_a_period_matches_the_ledger(portal_world, partner):
    mine, _referred, _other = partner
    text = signed_in_browser().get(IB, MARCH).content.decode()
    # each line: the commission, then what was paid of it
    assert text.count('<td class="num">20.00 USD</td><td class="num">20.00 USD</td>') == 1
    assert text.count('<td class="num">10.00 USD</td><td class="num">10.00 USD</td>') == 1
    assert '<th scope="row" colspan="7">Total</th><td class="num">30.00 USD</td>' in text
    assert usd_balance(mine.profile) == "30.00 USD"
    assert "Paid into your wallet for this period: 30.00 USD." in text
    # a period without deals
    april = signed_in_browser().get(IB, {"date_from": "2026-04-01", "date_to": "2026-04-30"})
    assert "No commission in this period." in april.content.decode()


def test_the_statement_as_csv(portal_world, partner):
    response = signed_in_browser().get(IB, {**MARCH, "output": "csv"})
    assert response.status_code == 200
    assert response["Content-Type"].startswith("text/csv")
    rows = response.content.decode().splitlines()
    assert rows[0].startswith("deal_ticket,login,symbol")
    assert len(rows) == 1 + 2 + 4  # header, two lines, four totals


@pytest.mark.parametrize(
    ("period", "message"),
    [
        ({"date_from": "2026-03-31", "date_to": "2026-03-01"}, "The end of the period is before"),
        ({"date_from": "2025-01-01", "date_to": "2026-03-01"}, "A statement covers at most 366"),
        ({"date_from": "yesterday", "date_to": "2026-03-01"}, "Enter a valid date."),
    ],
)
def test_a_bad_period_shows_the_error_and_no_statement(portal_world, partner, period, message):
    response = signed_in_browser().get(IB, period)
    assert response.status_code == 200
    text = response.content.decode()
    assert message in text
    assert "Total</th>" not in text
    assert "No commission in this period." not in text
    assert "Download as CSV" not in text
