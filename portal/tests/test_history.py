"""The portal's history: wallet movements, deposits and withdrawals filtered by type,
currency and dates from the address, paginated, and the same rows as CSV."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.utils import timezone

from platforms.tests.factories import client_of
from portal.tests.pages import signed_in
from wallets.services import wallet_open
from wallets.tests.factories import fund

pytestmark = pytest.mark.django_db


@pytest.fixture
def movements(portal_world, settings):
    settings.TIME_ZONE = "UTC"
    profile = client_of(portal_world.eu_brand)
    eur = wallet_open(profile=profile, currency="EUR")
    usd = wallet_open(profile=profile, currency="USD")
    journals = [fund(eur, "100.00"), fund(usd, "50.50"), fund(eur, "20.25")]
    fund(wallet_open(profile=client_of(portal_world.eu_brand), currency="EUR"), "999.00")
    return profile, journals


def day_of(journal) -> str:
    return timezone.localtime(journal.created_at).date().isoformat()


def test_the_history_filters_by_currency_and_dates_inclusive(movements):
    profile, journals = movements
    browser = signed_in(profile)
    everything = browser.get("/b/eu-brand/client/history/").content.decode()
    assert everything.count('<td class="num credit">') == 3
    assert "999.00" not in everything  # another client's money is not mine
    day = day_of(journals[0])
    eur = browser.get(
        f"/b/eu-brand/client/history/?type=movement&currency=EUR&date_from={day}&date_to={day}"
    ).content.decode()  # the end date is a whole day, included
    assert eur.count('<td class="num credit">') == 2
    assert '<td class="num credit">100.00 EUR</td>' in eur
    assert "50.50 USD" not in eur
    later = (timezone.localtime(journals[0].created_at).date() + timedelta(days=1)).isoformat()
    none = browser.get(f"/b/eu-brand/client/history/?date_from={later}").content.decode()
    assert "Nothing matches these filters." in none


def test_the_csv_holds_exactly_the_filtered_rows_as_plain_decimals(movements):
    profile, journals = movements
    browser = signed_in(profile)
    answer = browser.get("/b/eu-brand/client/history/?currency=EUR&format=csv")
    assert answer.status_code == 200
    assert answer["Content-Type"] == "text/csv; charset=utf-8"
    assert answer["Content-Disposition"] == 'attachment; filename="history.csv"'
    stamp = [timezone.localtime(j.created_at).isoformat(timespec="seconds") for j in journals]
    assert answer.content.decode() == (
        "Date,Type,Description,Reference,Amount,Currency,Status\r\n"
        f"{stamp[2]},Wallet movements,Deposit,{journals[2].reference},20.25,EUR,\r\n"
        f"{stamp[0]},Wallet movements,Deposit,{journals[0].reference},100.00,EUR,\r\n"
    )
    deposits_only = browser.get("/b/eu-brand/client/history/?type=deposit&format=csv")
    assert deposits_only.content.decode() == (
        "Date,Type,Description,Reference,Amount,Currency,Status\r\n"
    )


def test_bad_filters_are_explained_and_pages_split_the_rows(movements):
    profile, _journals = movements
    browser = signed_in(profile)
    backwards = browser.get(
        "/b/eu-brand/client/history/?date_from=2026-03-10&date_to=2026-03-01"
    ).content.decode()
    assert "The end date is before the start date." in backwards
    bad = browser.get("/b/eu-brand/client/history/?date_from=yesterday&currency=XXX")
    assert bad.status_code == 200
    assert "Enter a valid date." in bad.content.decode()
    assert "Select a valid choice." in bad.content.decode()
    eur = wallet_open(profile=profile, currency="EUR")
    for n in range(25):
        fund(eur, f"{n + 1}.00")
    first = browser.get("/b/eu-brand/client/history/").content.decode()
    assert first.count('<td class="num credit">') == 25
    assert "Page 1 of 2" in first
    second = browser.get("/b/eu-brand/client/history/?page=2").content.decode()
    assert second.count('<td class="num credit">') == 3
    assert '<td class="num credit">100.00 EUR</td>' in second
