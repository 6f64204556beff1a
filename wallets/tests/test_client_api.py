"""The client's own wallets through `/api/v1/me/wallets` with the client token: figures read
from the ledger, the statement with running balances by date range, paginated."""

from __future__ import annotations

from datetime import timedelta
from decimal import Decimal

import pytest
from rest_framework.test import APIClient

from brokercrm.accounts.tests.factories import CLIENT_PASSWORD, client_login
from identity.logins import client_token_obtain
from identity.tests.factories import register
from platforms.tests.factories import client_of
from wallets.models import JournalEntry, LedgerAccount
from wallets.services import hold_create, system_account, wallet_open

from .factories import assert_ledger_sound, fund


def logged_in(profile) -> APIClient:
    client_login(profile)
    token = client_token_obtain(brand=profile.brand, email=profile.email, password=CLIENT_PASSWORD)
    api = APIClient()
    api.credentials(HTTP_AUTHORIZATION=f"Token {token.key}")
    return api


@pytest.fixture
def mine(world):
    """A client with EUR 100 + 50 + 25 (three deposits) and 30 of it held, and a USD wallet."""
    profile = register(world.eu_brand).profile
    eur = wallet_open(profile=profile, currency="EUR")
    usd = wallet_open(profile=profile, currency="USD")
    for amount in ("100", "50", "25"):
        fund(eur, amount)
    clearing = system_account(entity=world.eu, kind="psp_clearing", currency="EUR")
    hold_create(
        actor=None,
        account=eur,
        counter_account=clearing,
        amount="30",
        purpose="withdrawal",
        idempotency_key="hold-1",
    )
    return profile, eur, usd, logged_in(profile)


def test_my_wallets_show_balance_held_and_available_from_the_ledger(world, mine):
    _, eur, usd, api = mine
    # The stored running figure is not what the client is shown: the postings are.
    LedgerAccount.objects.unscoped().filter(pk=eur.pk).update(held=Decimal(0))
    answer = api.get("/api/v1/me/wallets")
    assert answer.status_code == 200
    assert [
        (w["id"], w["currency"], w["balance"], w["held"], w["available"], w["status"])
        for w in answer.json()
    ] == [
        (eur.pk, "EUR", "175.00000000", "30.00000000", "145.00000000", "open"),
        (usd.pk, "USD", "0.00000000", "0.00000000", "0.00000000", "open"),
    ]
    one = api.get(f"/api/v1/me/wallets/{eur.pk}")
    assert one.json()["available"] == "145.00000000"


# Each deposit commits on its own, so each journal carries its own database time.
@pytest.mark.django_db(transaction=True)
def test_statement_has_running_balances_pages_and_date_ranges(world, mine):
    _, eur, _, api = mine
    url = f"/api/v1/me/wallets/{eur.pk}/statement"
    whole = api.get(url).json()
    assert whole["count"] == 3
    assert [(line["amount"], line["balance_after"]) for line in whole["results"]] == [
        ("100.00000000", "100.00000000"),
        ("50.00000000", "150.00000000"),
        ("25.00000000", "175.00000000"),
    ]
    assert {line["type"] for line in whole["results"]} == {"deposit"}
    page = api.get(url, {"page": 2, "page_size": 2}).json()
    assert [line["balance_after"] for line in page["results"]] == ["175.00000000"]
    # A range that starts at the second deposit keeps the balances of the whole statement.
    journals = list(
        JournalEntry.objects.unscoped()
        .filter(postings__account=eur)
        .order_by("pk")
        .values_list("created_at", flat=True)
    )
    since = journals[1]
    ranged = api.get(url, {"date_from": since.isoformat()}).json()
    assert [line["balance_after"] for line in ranged["results"]] == [
        "150.00000000",
        "175.00000000",
    ]
    before = api.get(url, {"date_to": since.isoformat()}).json()
    assert [line["amount"] for line in before["results"]] == ["100.00000000"]
    later = api.get(url, {"date_from": (journals[-1] + timedelta(days=1)).isoformat()}).json()
    assert later["count"] == 0
    assert_ledger_sound(world.eu)


@pytest.mark.parametrize(
    ("params", "code"),
    [
        ({"date_from": "yesterday"}, "date_invalid"),
        ({"date_from": "2026-03-02", "date_to": "2026-03-01"}, "date_range_invalid"),
    ],
)
def test_bad_statement_ranges_answer_400(mine, params, code):
    _, eur, _, api = mine
    answer = api.get(f"/api/v1/me/wallets/{eur.pk}/statement", params)
    assert (answer.status_code, answer.json()["code"]) == (400, code)


def test_another_clients_wallet_answers_404_even_in_another_entity(world, mine):
    _, _, _, api = mine
    neighbour = wallet_open(profile=client_of(world.eu_brand, approved=False), currency="EUR")
    abroad = wallet_open(profile=client_of(world.uk_brand, approved=False), currency="GBP")
    for wallet in (neighbour, abroad):
        for path in (
            f"/api/v1/me/wallets/{wallet.pk}",
            f"/api/v1/me/wallets/{wallet.pk}/statement",
        ):
            answer = api.get(path)
            assert (answer.status_code, answer.json()["code"]) == (404, "wallet_not_found")
    assert api.get("/api/v1/me/wallets/999999999999").status_code == 404
    assert api.get("/api/v1/me/wallets/abc").status_code == 404


def test_staff_get_403_and_anonymous_401(world, mine):
    _, eur, _, _ = mine
    staff = APIClient()
    staff.force_authenticate(world.superuser)
    for path in ("/api/v1/me/wallets", f"/api/v1/me/wallets/{eur.pk}/statement"):
        assert staff.get(path).status_code == 403
        assert APIClient().get(path).status_code == 401


def test_finance_closes_an_empty_wallet_and_the_client_sees_it_closed(world, mine):
    from brokercrm.accounts.models import User
    from brokercrm.accounts.tests.factories import UserFactory, grant
    from brokercrm.errors import Conflict, PermissionDenied
    from wallets.services import wallet_close

    profile, eur, usd, api = mine
    finance = UserFactory(username="finance.eu")
    grant(finance, "finance", entity=world.eu)
    with pytest.raises(Conflict) as refused:
        wallet_close(actor=finance, wallet=eur, reason="client asked")
    assert refused.value.code == "wallet_not_empty"
    client = User.objects.get(profile=profile)
    for denied in (world.eu_support, client):  # the client may not close its own wallets
        with pytest.raises(PermissionDenied):
            wallet_close(actor=denied, wallet=usd, reason="no")
    assert LedgerAccount.objects.unscoped().get(pk=usd.pk).closed_at is None
    closed = wallet_close(actor=finance, wallet=usd, reason="client asked")
    assert closed.closed_at is not None
    assert wallet_close(actor=finance, wallet=usd, reason="again").closed_at == closed.closed_at
    assert [w["status"] for w in api.get("/api/v1/me/wallets").json()] == ["open", "closed"]
