"""A client's own money through /api/v1/me/: deposit methods, deposits, withdrawals with every
block explained first, bank accounts; other clients' ids are 404, staff and anonymous are
refused, bad input gets codes and changes nothing."""

from __future__ import annotations

from datetime import timedelta
from decimal import Decimal

import pytest
from django.utils import timezone
from rest_framework.test import APIClient

from audit.models import AuditEvent
from brokercrm.accounts.tests.factories import CLIENT_PASSWORD, client_login
from brokercrm.events.models import Event
from brokercrm.gate import SYSTEM
from identity.logins import client_token_obtain
from identity.models import ClientProfile
from identity.services import DocumentInput, person_flags_set
from identity.tests.factories import register
from kyc.models import KycFile
from payments.models import BankAccount, Deposit, DepositAttempt, PaymentMethod, Withdrawal
from payments.services import bank_account_add, withdrawal_reject
from wallets.models import Hold, LedgerAccount
from wallets.services import fx_rate_record, wallet_open
from wallets.tests.factories import assert_ledger_sound, fund

from .conftest import IBAN_OK, approved_client

OTHER_IBAN = "FR1420041010050500013M02606"


def verified(profile):
    ClientProfile.objects.unscoped().filter(pk=profile.pk).update(email_verified=True)
    return ClientProfile.objects.unscoped().select_related("brand").get(pk=profile.pk)


def logged_in(profile, *, first: bool = True) -> APIClient:
    if first:
        client_login(profile)
    token = client_token_obtain(brand=profile.brand, email=profile.email, password=CLIENT_PASSWORD)
    api = APIClient()
    api.credentials(HTTP_AUTHORIZATION=f"Token {token.key}")
    return api


def staff(user) -> APIClient:
    api = APIClient()
    api.force_authenticate(user)
    return api


def _client(world, **registration):
    return verified(approved_client(world, **registration))


def _bank(world, profile, *, verified_account=True) -> BankAccount:
    return BankAccount.objects.create(
        entity=world.eu,
        profile=profile,
        iban=IBAN_OK,
        holder="Ivan Petrov",
        verified=verified_account,
    )


OTHER = {
    "given_name": "Olga",
    "family_name": "Nowak",
    "email": "olga.nowak@example.com",
    "phone": "+49 151 99999999",
    "document": DocumentInput("passport", "X7654321", "DE"),
    "device_fingerprint": "dev-olga",
    "ip": "198.51.100.7",
}


# --- deposit methods ----------------------------------------------------------------------


def test_deposit_methods_are_those_routed_for_my_country_currency_and_entity(payments_world):
    api = logged_in(_client(payments_world))  # resident in DE, EU entity
    euros = api.get("/api/v1/me/deposit-methods?currency=EUR").json()
    assert (euros["country"], euros["currency"]) == ("DE", "EUR")
    assert [
        (m["code"], m["hosted_page"], m["min_amount"], m["max_amount"]) for m in euros["methods"]
    ] == [
        ("bank_wire", False, "0.00", None),
        ("card", True, "0.00", None),
        ("sofort", False, "0.00", None),
    ]
    dollars = api.get("/api/v1/me/deposit-methods?currency=USD").json()["methods"]
    assert [(m["code"], m["max_amount"]) for m in dollars] == [
        ("bank_wire", None),
        ("card", "5000.00"),
    ]
    # The UK entity's pounds are not mine to use.
    assert api.get("/api/v1/me/deposit-methods?currency=GBP").json()["methods"] == []
    for bad in ["", "?currency=euro", "?currency=XXX"]:
        refused = api.get(f"/api/v1/me/deposit-methods{bad}")
        assert (refused.status_code, refused.json()["code"]) == (400, "currency_invalid")


def test_a_french_resident_is_not_offered_sofort_or_usd_cards(payments_world):
    api = logged_in(_client(payments_world, residence_country="FR", nationality="FR"))
    codes = [
        m["code"] for m in api.get("/api/v1/me/deposit-methods?currency=EUR").json()["methods"]
    ]
    assert codes == ["bank_wire", "card"]


# --- deposits refused before anything is written ------------------------------------------


def test_an_unverified_client_is_refused_a_deposit_and_nothing_is_written(payments_world):
    profile = approved_client(payments_world)  # e-mail not verified
    api = logged_in(profile)
    audit_rows = AuditEvent.objects.count()
    refused = api.post(
        "/api/v1/me/deposits",
        {"amount": "100.00", "currency": "EUR", "method": "card", "return_url": "https://b.eu/r"},
        format="json",
        headers={"Idempotency-Key": "unverified-1"},
    )
    assert (refused.status_code, refused.json()["code"]) == (403, "email_unverified")
    assert not Deposit.objects.unscoped().exists()
    assert not DepositAttempt.objects.unscoped().exists()
    assert not LedgerAccount.objects.unscoped().filter(profile=profile).exists()
    assert AuditEvent.objects.count() == audit_rows
    assert_ledger_sound(payments_world.eu)


@pytest.mark.parametrize(
    ("change", "status", "code"),
    [
        ({"amount": 100}, 400, "invalid"),  # a JSON number
        ({"amount": "0"}, 400, "amount_invalid"),
        ({"amount": "10.001"}, 400, "amount_invalid"),
        ({"amount": "1e3"}, 400, "invalid"),
        ({"currency": "XXX"}, 400, "invalid"),
        ({"currency": "GBP"}, 422, "no_route"),
        ({"method": "bitcoin"}, 400, "method_unknown"),
        ({"method": "../card"}, 400, "invalid"),
        ({"return_url": ""}, 400, "return_url_invalid"),
        ({"return_url": "javascript:alert(1)"}, 400, "return_url_invalid"),
        ({"return_url": "https://" + "a" * 2000}, 400, "invalid"),
        ({"method": "bank_wire"}, 400, "instrument_invalid"),  # no IBAN given
    ],
)
def test_bad_deposit_requests_get_codes_and_write_nothing(payments_world, change, status, code):
    api = logged_in(_client(payments_world))
    body = {"amount": "100.00", "currency": "EUR", "method": "card", "return_url": "https://b.eu/r"}
    response = api.post(
        "/api/v1/me/deposits",
        {**body, **change},
        format="json",
        headers={"Idempotency-Key": "bad-1"},
    )
    assert (response.status_code, response.json()["code"]) == (status, code)
    assert not Deposit.objects.unscoped().exists()


def test_a_deposit_needs_an_idempotency_key(payments_world):
    api = logged_in(_client(payments_world))
    body = {"amount": "100.00", "currency": "EUR", "method": "card", "return_url": "https://b.eu/r"}
    for headers in ({}, {"Idempotency-Key": "k" * 101}):
        response = api.post("/api/v1/me/deposits", body, format="json", headers=headers)
        assert (response.status_code, response.json()["code"]) == (400, "idempotency_key_invalid")
    assert not Deposit.objects.unscoped().exists()


# --- who may call -------------------------------------------------------------------------


@pytest.mark.parametrize(
    "path",
    [
        "/api/v1/me/deposit-methods?currency=EUR",
        "/api/v1/me/deposits",
        "/api/v1/me/withdrawals",
        "/api/v1/me/withdrawals/eligibility?currency=EUR",
        "/api/v1/me/bank-accounts",
    ],
)
def test_staff_and_anonymous_are_refused_the_client_endpoints(payments_world, path):
    assert APIClient().get(path).status_code == 401
    assert staff(payments_world.eu_finance).get(path).status_code == 403
    assert staff(payments_world.superuser).get(path).status_code == 403
    posted = staff(payments_world.eu_finance).post(
        path.split("?")[0], {}, format="json", headers={"Idempotency-Key": "x"}
    )
    assert posted.status_code in (403, 405)


def test_another_clients_rows_are_404_and_not_listed(payments_world):
    mine = _client(payments_world)
    theirs = _client(payments_world, **OTHER)
    fund(wallet_open(profile=theirs, currency="EUR"), "500")
    account = bank_account_add(actor=SYSTEM, profile=theirs, iban=IBAN_OK, holder="Olga Nowak")
    BankAccount.objects.unscoped().filter(pk=account.pk).update(verified=True)
    response = logged_in(theirs).post(
        "/api/v1/me/withdrawals",
        {"amount": "100.00", "currency": "EUR"},
        format="json",
        headers={"Idempotency-Key": "theirs-1"},
    )
    assert response.status_code == 201, response.json()
    withdrawal_id = response.json()["id"]
    deposit = Deposit.objects.create(
        entity=payments_world.eu,
        profile=theirs,
        wallet=wallet_open(profile=theirs, currency="EUR"),
        amount=Decimal("10"),
        currency="EUR",
        method=PaymentMethod.objects.get(code="card"),
        idempotency_key="theirs-d",
        request_hash="x",
        created_by="test",
    )
    api = logged_in(mine)
    for path in (
        f"/api/v1/me/deposits/{deposit.pk}",
        f"/api/v1/me/withdrawals/{withdrawal_id}",
        f"/api/v1/me/bank-accounts/{account.pk}",
        "/api/v1/me/deposits/99999999999",
        "/api/v1/me/deposits/abc",
    ):
        assert api.get(path).status_code == 404, path
    for path in ("/api/v1/me/deposits", "/api/v1/me/withdrawals", "/api/v1/me/bank-accounts"):
        assert api.get(path).json()["results"] == [], path
    # A client of another entity reads them as unknown too.
    uk_client = verified(
        register(
            payments_world.uk_brand,
            residence_country="GB",
            nationality="GB",
            given_name="Amelia",
            family_name="Jones",
            email="amelia.jones@example.co.uk",
            phone="+44 7912 654321",
            document=DocumentInput("passport", "533380006", "GB"),
            device_fingerprint="dev-amelia",
            ip="192.0.2.44",
        ).profile
    )
    uk = logged_in(uk_client)
    assert uk.get(f"/api/v1/me/deposits/{deposit.pk}").status_code == 404
    assert uk.get(f"/api/v1/me/withdrawals/{withdrawal_id}").status_code == 404
    assert uk.get(f"/api/v1/me/bank-accounts/{account.pk}").status_code == 404
    # Their bank account is not mine to withdraw to.
    fund(wallet_open(profile=mine, currency="EUR"), "500")
    refused = api.post(
        "/api/v1/me/withdrawals",
        {"amount": "100.00", "currency": "EUR", "bank_account": account.pk},
        format="json",
        headers={"Idempotency-Key": "mine-1"},
    )
    assert (refused.status_code, refused.json()["code"]) == (404, "bank_account_not_found")
    assert Withdrawal.objects.unscoped().filter(profile=mine).count() == 0
    assert_ledger_sound(payments_world.eu)


# --- withdrawals: eligibility -------------------------------------------------------------


def _eligibility(api, query="currency=EUR"):
    response = api.get(f"/api/v1/me/withdrawals/eligibility?{query}")
    assert response.status_code == 200, response.json()
    return response.json()


def test_every_block_is_explained_before_the_form(clock, payments_world):
    world = payments_world
    profile = verified(register(world.eu_brand).profile)
    api = logged_in(profile)
    # No KYC file, no wallet.
    data = _eligibility(api)
    assert data["eligible"] is False
    assert [(b["code"], b["until"]) for b in data["blocks"]] == [
        ("kyc_not_approved", None),
        ("wallet_not_found", None),
    ]
    # KYC approved, cooling-off running: its end time is given.
    ends = timezone.now().replace(second=0, microsecond=0) + timedelta(hours=24)
    KycFile.objects.unscoped().update_or_create(
        profile=profile,
        defaults=dict(
            entity_id=profile.entity_id,
            status=KycFile.Status.APPROVED,
            risk_level="low",
            earliest_withdrawal_at=ends,
        ),
    )
    wallet_open(profile=profile, currency="EUR")
    data = _eligibility(api)
    assert [(b["code"], b["until"]) for b in data["blocks"]] == [
        ("cooling_off", ends.isoformat().replace("+00:00", "Z")),
        ("insufficient_funds", None),
        ("bank_account_missing", None),
    ]
    # Later: money in, a risk hold, an unverified bank account.
    clock.shift(timedelta(hours=25))
    api = logged_in(profile, first=False)  # the day-old token has expired
    fund(wallet_open(profile=profile, currency="EUR"), "300")
    person_flags_set(person=profile.person, reason="chargeback", entity=world.eu, risk_hold=True)
    _bank(world, profile, verified_account=False)
    data = _eligibility(api)
    assert [b["code"] for b in data["blocks"]] == ["risk_hold", "bank_account_unverified"]
    assert (data["balance"], data["available"]) == ("300.00000000", "300.00000000")
    # More than I have, and a currency nobody pays out in.
    person_flags_set(person=profile.person, reason="cleared", entity=world.eu, risk_hold=False)
    BankAccount.objects.unscoped().filter(profile=profile).update(verified=True)
    assert _eligibility(api)["eligible"] is True
    data = _eligibility(api, "currency=EUR&amount=300.01")
    assert [b["code"] for b in data["blocks"]] == ["insufficient_funds"]
    data = _eligibility(api, "currency=EUR&payout_currency=GBP")
    assert [b["code"] for b in data["blocks"]] == ["no_route", "fx_rate_missing"]
    for bad in ["", "currency=XXX", "currency=EUR&amount=-1", "currency=EUR&payout_currency=x"]:
        refused = api.get(f"/api/v1/me/withdrawals/eligibility?{bad}")
        assert refused.status_code == 400, bad
    assert_ledger_sound(world.eu)


def test_card_deposits_go_back_to_cards_so_no_bank_account_is_needed(payments_world):
    from .test_withdrawals import _card_deposit

    profile = _client(payments_world)
    _card_deposit(payments_world, profile, "200")
    api = logged_in(profile)
    data = _eligibility(api)
    assert (data["eligible"], data["card_refundable"]) == (True, "200.00000000")
    fund(wallet_open(profile=profile, currency="EUR"), "50")
    assert [b["code"] for b in _eligibility(api)["blocks"]] == ["bank_account_missing"]
    assert _eligibility(api, "currency=EUR&amount=200")["eligible"] is True


# --- withdrawals: requests ----------------------------------------------------------------


def test_a_cross_currency_withdrawal_is_paid_at_the_quoted_rate(payments_world):
    fx_rate_record(base="EUR", quote="USD", rate="1.10", source="ECB")
    profile = _client(payments_world)
    fund(wallet_open(profile=profile, currency="EUR"), "1000")
    account = _bank(payments_world, profile)
    api = logged_in(profile)
    data = _eligibility(api, "currency=EUR&payout_currency=USD&amount=500.00")
    assert data["eligible"] is True
    # 1.10 less the entity's 50 bps markup.
    assert (data["quote"]["rate"], data["quote"]["mid"]) == ("1.0945000000", "1.1000000000")
    body = {
        "amount": "500.00",
        "currency": "EUR",
        "payout_currency": "USD",
        "bank_account": account.pk,
        "quoted_rate": data["quote"]["rate"],
    }
    made = api.post(
        "/api/v1/me/withdrawals", body, format="json", headers={"Idempotency-Key": "fx"}
    )
    assert made.status_code == 201, made.json()
    withdrawal = made.json()
    assert (withdrawal["fx_rate"], withdrawal["status"]) == ("1.0945000000", "approved")
    assert [
        (leg["destination"], leg["amount"], leg["payout_amount"]) for leg in withdrawal["legs"]
    ] == [("bank", "500.00000000", "547.25000000")]
    again = api.post(
        "/api/v1/me/withdrawals", body, format="json", headers={"Idempotency-Key": "fx"}
    )
    assert (again.status_code, again.json()["id"]) == (201, withdrawal["id"])
    other = api.post(
        "/api/v1/me/withdrawals",
        {**body, "amount": "400.00"},
        format="json",
        headers={"Idempotency-Key": "fx"},
    )
    assert (other.status_code, other.json()["code"]) == (409, "idempotency_key_reused")
    detail = api.get(f"/api/v1/me/withdrawals/{withdrawal['id']}").json()
    assert detail == withdrawal
    wallet = LedgerAccount.objects.unscoped().get(profile=profile, currency="EUR")
    assert (wallet.balance, wallet.held) == (Decimal("1000"), Decimal("500"))
    assert Withdrawal.objects.unscoped().count() == 1
    assert_ledger_sound(payments_world.eu)


def test_a_rate_that_moved_after_the_quote_is_refused_with_the_new_rate(payments_world):
    fx_rate_record(base="EUR", quote="USD", rate="1.10", source="ECB")
    profile = _client(payments_world)
    fund(wallet_open(profile=profile, currency="EUR"), "1000")
    _bank(payments_world, profile)
    api = logged_in(profile)
    quoted = _eligibility(api, "currency=EUR&payout_currency=USD")["quote"]["rate"]
    fx_rate_record(
        base="EUR", quote="USD", rate="1.20", source="ECB", as_of=timezone.now() + timedelta(1)
    )
    refused = api.post(
        "/api/v1/me/withdrawals",
        {"amount": "500.00", "currency": "EUR", "payout_currency": "USD", "quoted_rate": quoted},
        format="json",
        headers={"Idempotency-Key": "moved"},
    )
    assert (refused.status_code, refused.json()["code"], refused.json()["rate"]) == (
        409,
        "rate_changed",
        "1.1940000000",
    )
    assert not Withdrawal.objects.unscoped().exists()
    assert not Hold.objects.unscoped().exists()
    assert_ledger_sound(payments_world.eu)


@pytest.mark.parametrize(
    ("body", "status", "code"),
    [
        ({"amount": "10"}, 400, "invalid"),  # no currency
        ({"amount": 10, "currency": "EUR"}, 400, "invalid"),
        ({"amount": "0.001", "currency": "EUR"}, 400, "amount_invalid"),
        ({"amount": "5000.00", "currency": "EUR"}, 422, "insufficient_funds"),
        ({"amount": "10.00", "currency": "USD"}, 422, "wallet_not_found"),
        ({"amount": "10.00", "currency": "EUR", "bank_account": "x"}, 400, "invalid"),
        ({"amount": "10.00", "currency": "EUR", "payout_currency": "GBP"}, 422, "no_route"),
        ({"amount": "10.00", "currency": "EUR", "payout_currency": "USD"}, 400, "fx_rate_missing"),
    ],
)
def test_bad_withdrawal_requests_get_codes_and_hold_nothing(payments_world, body, status, code):
    profile = _client(payments_world)
    fund(wallet_open(profile=profile, currency="EUR"), "100")
    _bank(payments_world, profile)
    response = logged_in(profile).post(
        "/api/v1/me/withdrawals", body, format="json", headers={"Idempotency-Key": "bad"}
    )
    assert (response.status_code, response.json()["code"]) == (status, code)
    assert not Withdrawal.objects.unscoped().exists()
    assert not Hold.objects.unscoped().exists()
    assert_ledger_sound(payments_world.eu)


def test_a_blocked_client_is_refused_with_every_reason(payments_world):
    profile = _client(payments_world)
    fund(wallet_open(profile=profile, currency="EUR"), "100")
    KycFile.objects.unscoped().filter(profile=profile).update(
        earliest_withdrawal_at=timezone.now() + timedelta(hours=3)
    )
    response = logged_in(profile).post(
        "/api/v1/me/withdrawals",
        {"amount": "10.00", "currency": "EUR"},
        format="json",
        headers={"Idempotency-Key": "blocked"},
    )
    assert (response.status_code, response.json()["code"], response.json()["reasons"]) == (
        422,
        "withdrawal_blocked",
        ["cooling_off"],
    )
    assert not Hold.objects.unscoped().exists()


def test_a_rejected_withdrawal_is_announced_and_the_money_is_back(payments_world):
    profile = _client(payments_world)
    fund(wallet_open(profile=profile, currency="EUR"), "5000")
    _bank(payments_world, profile)
    made = logged_in(profile).post(
        "/api/v1/me/withdrawals",
        {"amount": "2000.00", "currency": "EUR"},
        format="json",
        headers={"Idempotency-Key": "big"},
    )
    assert made.json()["status"] == "pending_approval"
    withdrawal = Withdrawal.objects.unscoped().get(pk=made.json()["id"])
    withdrawal_reject(actor=payments_world.eu_finance, withdrawal=withdrawal, reason="no source")
    event = Event.objects.get(type="payments.withdrawal_rejected")
    assert (event.entity_id, event.profile_id, event.person_id) == (
        profile.entity_id,
        profile.pk,
        profile.person_id,
    )
    assert event.payload == {
        "withdrawal_id": withdrawal.pk,
        "amount": "2000.00000000",
        "currency": "EUR",
        "reason_code": "rejected_by_staff",
        "reason": "no source",
    }
    wallet = LedgerAccount.objects.unscoped().get(profile=profile, currency="EUR")
    assert (wallet.balance, wallet.held) == (Decimal("5000"), Decimal("0"))
    assert_ledger_sound(payments_world.eu)


# --- bank accounts ------------------------------------------------------------------------


def test_my_bank_accounts_in_my_own_name(payments_world):
    profile = _client(payments_world)
    api = logged_in(profile)
    made = api.post(
        "/api/v1/me/bank-accounts",
        {"iban": "DE89 3704 0044 0532 0130 00", "holder": "Ivan Petrov"},
        format="json",
    )
    assert made.status_code == 201, made.json()
    assert {k: made.json()[k] for k in ("iban", "bic", "holder", "verified")} == {
        "iban": "DE89…3000",
        "bic": "COBADEFFXXX",
        "holder": "Ivan Petrov",
        "verified": False,
    }
    listed = api.get("/api/v1/me/bank-accounts").json()["results"]
    assert [row["id"] for row in listed] == [made.json()["id"]]
    assert api.get(f"/api/v1/me/bank-accounts/{made.json()['id']}").json() == made.json()
    again = api.post(
        "/api/v1/me/bank-accounts", {"iban": IBAN_OK, "holder": "Ivan Petrov"}, format="json"
    )
    assert (again.status_code, again.json()["code"]) == (409, "bank_account_exists")
    someone = api.post(
        "/api/v1/me/bank-accounts", {"iban": OTHER_IBAN, "holder": "Olga Nowak"}, format="json"
    )
    assert (someone.status_code, someone.json()["code"], someone.json()["fields"]) == (
        400,
        "bank_account_invalid",
        {"holder": "holder_not_client"},
    )
    bad = api.post(
        "/api/v1/me/bank-accounts",
        {"iban": "DE00123", "bic": "NOTABIC", "holder": "Ivan Petrov"},
        format="json",
    )
    assert bad.json()["fields"] == {"iban": "iban_invalid", "bic": "bic_invalid"}
    missing = api.post("/api/v1/me/bank-accounts", {"iban": IBAN_OK}, format="json")
    assert (missing.status_code, missing.json()["code"]) == (400, "invalid")
    assert BankAccount.objects.unscoped().count() == 1
    # Verifying is the broker's, not mine.
    refused = api.post(f"/api/v1/me/bank-accounts/{made.json()['id']}/verify", {}, format="json")
    assert refused.status_code == 404
