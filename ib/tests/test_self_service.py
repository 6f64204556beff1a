"""An IB's own statement through a client login: its lines only, same as staff see."""

from __future__ import annotations

from decimal import Decimal
from itertools import count

import pytest
from rest_framework.test import APIClient

from brokercrm.accounts.tests.factories import CLIENT_PASSWORD, UserFactory, client_login, grant
from brokercrm.gate import SYSTEM
from ib.services import commission_batch_run, referral_attribute, referral_code_create
from ib.tests.factories import MONTH, account_of, at, ib_of, plan_of, round_trip
from identity.logins import client_token_obtain
from platforms.tests.factories import client_of
from wallets.models import LedgerAccount

URL = "/api/v1/me/ib/statement"
PERIOD = {"date_from": "2026-03-01T00:00:00Z", "date_to": "2026-04-01T00:00:00Z"}
_codes = count(1)


def referred_client(ib, brand):
    code = referral_code_create(actor=SYSTEM, ib=ib, brand=brand, code=f"self-{next(_codes)}")
    profile = client_of(brand, approved=False)
    assert referral_attribute(profile=profile, code=code.code, at=MONTH) is not None
    return profile


def logged_in(profile) -> APIClient:
    """An API client holding the token the brand front end would get for this profile."""
    client_login(profile)
    token = client_token_obtain(brand=profile.brand, email=profile.email, password=CLIENT_PASSWORD)
    api = APIClient()
    api.credentials(HTTP_AUTHORIZATION=f"Token {token.key}")
    return api


def staff(user) -> APIClient:
    api = APIClient()
    api.force_authenticate(user)
    return api


@pytest.fixture
def two_ibs(world):
    """Two IBs of the EU entity: the first with two client trades, the second with one."""
    plan = plan_of(world.eu, split=[100])
    mine, other = ib_of(world.eu_brand, plan), ib_of(world.eu_brand, plan)
    account = account_of(referred_client(mine, world.eu_brand))
    round_trip(account, opened=at(5), volume="2")
    round_trip(account, opened=at(20))
    round_trip(account_of(referred_client(other, world.eu_brand)), opened=at(6), volume="3")
    commission_batch_run()
    return mine, other


def wallet_balance(ib) -> Decimal:
    wallet = LedgerAccount.objects.unscoped().get(profile=ib.profile, currency="USD")
    return wallet.balance


def test_ib_sees_its_own_lines_with_totals_equal_to_its_ledger_payouts(world, two_ibs):
    mine, _ = two_ibs
    response = logged_in(mine.profile).get(URL, PERIOD)
    assert response.status_code == 200
    data = response.json()
    assert data["ib"] == mine.pk
    assert [(line["lots"], line["amount"]) for line in data["lines"]] == [
        ("2.0000", "20.00000000"),
        ("1.0000", "10.00000000"),
    ]
    assert Decimal(data["totals"]["paid"]) == Decimal(data["totals"]["ledger"]) == Decimal(30)
    assert Decimal(data["totals"]["ledger"]) == wallet_balance(mine)
    # exactly what the entity's IB manager sees for this IB
    manager = UserFactory(username="ib.manager")
    grant(manager, "ib_manager", entity=world.eu)
    staff_view = staff(manager).get(f"/api/v1/ib-partners/{mine.pk}/statement", PERIOD)
    assert staff_view.json() == data


def test_another_ibs_data_is_never_visible(world, two_ibs):
    mine, other = two_ibs
    api = logged_in(mine.profile)
    # query parameters cannot point at another IB; staff routes show a client nothing
    data = api.get(URL, {**PERIOD, "ib": other.pk, "id": other.pk}).json()
    assert data["ib"] == mine.pk
    assert api.get(f"/api/v1/ib-partners/{other.pk}/statement", PERIOD).status_code == 404
    assert api.get(f"/api/v1/ib-partners/{mine.pk}/statement", PERIOD).status_code == 404
    assert api.get("/api/v1/commission-lines").json()["results"] == []
    # and the other IB sees only its own single line
    theirs = logged_in(other.profile).get(URL, PERIOD).json()
    assert (theirs["ib"], len(theirs["lines"]), theirs["totals"]["paid"]) == (
        other.pk,
        1,
        "30.00000000",
    )


def test_csv_output(world, two_ibs):
    mine, _ = two_ibs
    response = logged_in(mine.profile).get(URL, {**PERIOD, "output": "csv"})
    assert response.status_code == 200
    assert response["Content-Type"].startswith("text/csv")
    assert f'filename="ib-{mine.pk}-statement.csv"' in response["Content-Disposition"]
    rows = response.content.decode().splitlines()
    assert rows[0].startswith("deal_ticket,login,symbol")
    assert len(rows) == 1 + 2 + 4  # header, two lines, four totals
    assert rows[-1].split(",")[0] == "total_ledger"
    assert Decimal(rows[-1].split(",")[-1]) == Decimal(30)


def test_period_without_deals_is_empty(world, two_ibs):
    mine, _ = two_ibs
    data = (
        logged_in(mine.profile)
        .get(URL, {"date_from": "2026-05-01T00:00:00Z", "date_to": "2026-06-01T00:00:00Z"})
        .json()
    )
    assert data["lines"] == []
    assert data["totals"]["paid"] == "0"


def test_client_who_is_not_an_ib_gets_404(world, two_ibs):
    response = logged_in(client_of(world.eu_brand, approved=False)).get(URL, PERIOD)
    assert response.status_code == 404
    assert response.json()["code"] == "not_an_ib"


@pytest.mark.parametrize(
    "query",
    [
        {},
        {"date_from": "nonsense", "date_to": "2026-04-01T00:00:00Z"},
        {**PERIOD, "output": "xlsx"},
    ],
)
def test_bad_query_is_400(world, two_ibs, query):
    mine, _ = two_ibs
    response = logged_in(mine.profile).get(URL, query)
    assert response.status_code == 400
    assert response.json()["code"] == "invalid"


def test_staff_and_anonymous_are_refused(world, two_ibs):
    for user in (world.eu_admin, world.superuser):
        response = staff(user).get(URL, PERIOD)
        assert response.status_code == 403
        assert response.json()["code"] == "client_login_required"
    assert APIClient().get(URL, PERIOD).status_code == 401
