"""Deposits on the PSP's hosted page, end to end: the client's API call, the payer's browser on
the simulator's pages (card, one-time code), back to the brand, and the credit by the signed
webhook into our live server. The redirect never credits anything; the webhook does."""

from __future__ import annotations

import time
import urllib.parse
from datetime import timedelta
from decimal import Decimal

import pytest
import time_machine
from django.utils import timezone

from brokercrm.events.models import Event
from brokercrm.httpjson import json_request
from payments.models import Deposit, DepositAttempt
from payments.services import deposits_stuck_resolve
from payments.simulator.payer import browser, pay
from wallets.models import LedgerAccount
from wallets.tests.factories import assert_ledger_sound

from .conftest import CARD_HARD, CARD_OK, configure_simulator
from .test_self_service import _client, logged_in

RETURN = "https://brand.example.com/deposit/back?session=s1"
BODY = {"amount": "100.00", "currency": "EUR", "method": "card", "return_url": RETURN}


def settled(deposit_id: int, *, timeout: float = 15) -> Deposit:
    deadline = time.monotonic() + timeout
    while True:
        deposit = Deposit.objects.unscoped().get(pk=deposit_id)
        if deposit.status != Deposit.Status.AWAITING_PAYER or time.monotonic() > deadline:
            return deposit
        time.sleep(0.1)


@pytest.fixture
def hosted(payments_world, psp_simulator, live_server, eager_tasks):
    configure_simulator(payments_world, psp_simulator, live_server.url)
    return payments_world


def _start(api, key: str = "hosted-1", **change):
    response = api.post(
        "/api/v1/me/deposits", {**BODY, **change}, format="json", headers={"Idempotency-Key": key}
    )
    assert response.status_code == 201, response.json()
    return response.json()


@pytest.mark.django_db(transaction=True)
def test_a_card_deposit_on_the_hosted_page_is_credited_by_the_webhook(hosted, psp_simulator):
    profile = _client(hosted)
    api = logged_in(profile)
    deposit = _start(api)
    assert deposit["status"] == "awaiting_payer"
    assert deposit["redirect_url"].startswith(f"{psp_simulator.url}/pay/chk_")
    assert (deposit["credited_amount"], deposit["reference"]) == (None, f"dep{deposit['id']}-1")
    # The same request again: the same deposit and page; another body under the key: refused.
    again = _start(api)
    assert (again["id"], again["redirect_url"]) == (deposit["id"], deposit["redirect_url"])
    reused = api.post(
        "/api/v1/me/deposits",
        {**BODY, "amount": "200.00"},
        format="json",
        headers={"Idempotency-Key": "hosted-1"},
    )
    assert (reused.status_code, reused.json()["code"]) == (409, "idempotency_key_reused")
    # The page is plain HTML of the simulator alone: no scripts, no outside assets.
    status, _, page = browser(deposit["redirect_url"])
    assert status == 200
    assert "<script" not in page
    assert "src=" not in page
    assert "https://" not in page
    assert "100.00 EUR" in page
    back = pay(deposit["redirect_url"], card=CARD_OK, code="123456")
    query = dict(urllib.parse.parse_qsl(urllib.parse.urlsplit(back).query))
    assert back.startswith("https://brand.example.com/deposit/back?")
    assert (query["session"], query["reference"], query["status"]) == (
        "s1",
        f"dep{deposit['id']}-1",
        "approved",
    )
    credited = settled(deposit["id"])
    assert (credited.status, credited.decline_code) == ("credited", "")
    attempt = DepositAttempt.objects.unscoped().get(deposit=credited)
    assert attempt.status == "approved"
    assert attempt.psp_transaction_id.startswith("psp_")
    detail = api.get(f"/api/v1/me/deposits/{deposit['id']}").json()
    assert (detail["status"], detail["credited_amount"], detail["redirect_url"]) == (
        "credited",
        "100.00000000",
        None,
    )
    assert [row["id"] for row in api.get("/api/v1/me/deposits").json()["results"]] == [
        deposit["id"]
    ]
    wallet = LedgerAccount.objects.unscoped().get(profile=profile, currency="EUR")
    assert wallet.balance == Decimal("100")
    event = Event.objects.get(type="payments.deposit_credited")
    assert (event.entity_id, event.profile_id, event.person_id) == (
        profile.entity_id,
        profile.pk,
        profile.person_id,
    )
    assert event.payload == {
        "deposit_id": deposit["id"],
        "amount": "100.00000000",
        "currency": "EUR",
        "wallet_currency": "EUR",
        "credited_amount": "100.00000000",
    }
    # Coming back to the page changes nothing: the payer is sent back again.
    status, location, _ = browser(deposit["redirect_url"])
    assert (status, location) == (303, back)
    time.sleep(0.3)
    assert LedgerAccount.objects.unscoped().get(pk=wallet.pk).balance == Decimal("100")
    assert_ledger_sound(hosted.eu)


@pytest.mark.django_db(transaction=True)
@pytest.mark.parametrize(
    ("card", "code", "decline"),
    [
        (CARD_OK, "000000", "authentication_failed"),  # the one-time code fails
        (CARD_HARD, "123456", "stolen_card"),  # the issuer declines after the code
    ],
)
def test_a_failed_code_or_a_declined_card_declines_the_deposit(hosted, card, code, decline):
    profile = _client(hosted)
    api = logged_in(profile)
    deposit = _start(api)
    back = pay(deposit["redirect_url"], card=card, code=code)
    assert dict(urllib.parse.parse_qsl(urllib.parse.urlsplit(back).query))["status"] == "declined"
    declined = settled(deposit["id"])
    assert (declined.status, declined.decline_code, declined.journal_id) == (
        "declined",
        decline,
        None,
    )
    detail = api.get(f"/api/v1/me/deposits/{deposit['id']}").json()
    assert (detail["status"], detail["decline_code"], detail["credited_amount"]) == (
        "declined",
        decline,
        None,
    )
    assert LedgerAccount.objects.unscoped().get(profile=profile, currency="EUR").balance == 0
    assert not Event.objects.filter(type="payments.deposit_credited").exists()
    assert_ledger_sound(hosted.eu)


@pytest.mark.django_db(transaction=True)
def test_the_payers_return_credits_nothing_without_the_webhook(hosted, psp_simulator):
    profile = _client(hosted)
    api = logged_in(profile)
    deposit = _start(api)
    answer = json_request(
        "POST",
        f"{psp_simulator.url}/admin/merchants/eu-cards-1/faults",
        body={"kind": "drop_webhook", "reference": deposit["reference"]},
    )
    assert answer.status == 201, answer.body
    back = pay(deposit["redirect_url"], card=CARD_OK, code="123456")
    assert "status=approved" in back
    time.sleep(0.5)
    still = Deposit.objects.unscoped().get(pk=deposit["id"])
    assert (still.status, still.journal_id) == ("awaiting_payer", None)
    assert LedgerAccount.objects.unscoped().get(profile=profile, currency="EUR").balance == 0
    assert_ledger_sound(hosted.eu)


@pytest.mark.django_db(transaction=True)
def test_a_bad_card_number_shows_the_form_again(hosted):
    api = logged_in(_client(hosted))
    deposit = _start(api)
    status, _, page = browser(deposit["redirect_url"], {"card_number": "4242424242424241"})
    assert status == 422
    assert "not a valid card number" in page
    status, location, _ = browser(deposit["redirect_url"] + "/3ds", {"code": "123456"})
    assert (status, location) == (303, urllib.parse.urlsplit(deposit["redirect_url"]).path)
    assert Deposit.objects.unscoped().get(pk=deposit["id"]).status == "awaiting_payer"
    assert browser(deposit["redirect_url"].replace("chk_", "chk_x"))[0] == 404


def test_no_page_from_the_psp_fails_the_deposit_with_other_methods(payments_world):
    # No simulator: the PSP's address answers nothing.
    profile = _client(payments_world)
    api = logged_in(profile)
    deposit = _start(api)
    assert (deposit["status"], deposit["decline_code"], deposit["alternatives"]) == (
        "failed",
        "psp_unavailable",
        ["sofort"],
    )
    assert deposit["redirect_url"] is None
    attempt = DepositAttempt.objects.unscoped().get(deposit_id=deposit["id"])
    assert (attempt.status, attempt.decline_code) == ("unknown", "no_answer")
    assert LedgerAccount.objects.unscoped().get(profile=profile, currency="EUR").balance == 0
    assert_ledger_sound(payments_world.eu)


def test_the_simulator_opens_one_page_per_key_and_checks_what_it_is_given(psp_simulator):
    url = f"{psp_simulator.url}/admin/merchants/hosted-only"
    config = {
        "webhook_url": None,
        "webhook_secret": "s",
        "currencies": ["EUR"],
        "methods": ["card"],
    }
    assert json_request("PUT", url, body=config).ok
    create = f"{psp_simulator.url}/v1/merchants/hosted-only/checkouts"
    body = {"reference": "r-1", "amount": "10.00", "currency": "EUR", "return_url": RETURN}
    first = json_request("POST", create, body=body, headers={"Idempotency-Key": "c1"})
    again = json_request("POST", create, body=body, headers={"Idempotency-Key": "c1"})
    assert (first.status, again.status) == (201, 200)
    assert again.body["checkout_id"] == first.body["checkout_id"]
    assert (first.body["status"], first.body["outcome"]) == ("open", None)
    other = json_request(
        "POST", create, body={**body, "amount": "11.00"}, headers={"Idempotency-Key": "c1"}
    )
    assert (other.status, other.body["code"]) == (409, "idempotency_key_reused")
    for change, code in [
        ({"return_url": "ftp://x"}, "invalid_return_url"),
        ({"amount": "1e3"}, "invalid_amount"),
        ({"currency": "GBP"}, "currency_not_supported"),
        ({"method": "bank_wire"}, "method_not_supported"),
        ({"reference": ""}, "invalid_reference"),
    ]:
        refused = json_request(
            "POST", create, body={**body, **change}, headers={"Idempotency-Key": f"bad-{code}"}
        )
        assert (refused.status, refused.body["code"]) == (422, code)
    missing = json_request("POST", create, body=body)
    assert (missing.status, missing.body["code"]) == (400, "idempotency_key_required")
    read = json_request("GET", f"{create}/{first.body['checkout_id']}")
    assert read.body == first.body
    assert json_request("GET", f"{create}/chk_nothing").status == 404


# --- pages the payer walked away from ----------------------------------------------------------


@pytest.mark.django_db(transaction=True)
def test_a_page_the_payer_left_expires_at_the_psp_and_the_deposit_with_it(
    payments_world, psp_simulator, live_server, eager_tasks, settings
):
    configure_simulator(payments_world, psp_simulator, live_server.url, checkout_ttl_s=0.3)
    api = logged_in(_client(payments_world))
    deposit = _start(api)
    # Before the page's life is over (and the margin), the sweep leaves it alone.
    assert deposits_stuck_resolve().expired == 0
    time.sleep(0.5)
    status, _, page = browser(deposit["redirect_url"])
    assert status == 410
    assert "expired" in page
    refused, _, _ = browser(deposit["redirect_url"], {"card_number": CARD_OK})
    assert refused == 410
    settings.PSP_CHECKOUT_MINUTES = 0
    with time_machine.travel(timezone.now() + timedelta(minutes=16)):
        sweep = deposits_stuck_resolve()
    assert (sweep.expired, sweep.authorised) == (1, 0)
    detail = api.get(f"/api/v1/me/deposits/{deposit['id']}").json()
    assert (detail["status"], detail["decline_code"], detail["redirect_url"]) == (
        "expired",
        "payer_abandoned",
        None,
    )
    assert deposits_stuck_resolve(abandoned_after=timedelta(0)).expired == 0  # once
    wallet = Deposit.objects.unscoped().get(pk=deposit["id"]).wallet
    assert LedgerAccount.objects.unscoped().get(pk=wallet.pk).balance == 0
    assert_ledger_sound(payments_world.eu)


@pytest.mark.django_db(transaction=True)
def test_a_page_paid_whose_webhook_was_lost_is_found_authorised_not_expired(hosted, psp_simulator):
    api = logged_in(_client(hosted))
    deposit = _start(api)
    answer = json_request(
        "POST",
        f"{psp_simulator.url}/admin/merchants/eu-cards-1/faults",
        body={"kind": "drop_webhook", "reference": deposit["reference"]},
    )
    assert answer.status == 201, answer.body
    pay(deposit["redirect_url"], card=CARD_OK, code="123456")
    sweep = deposits_stuck_resolve(abandoned_after=timedelta(0))
    assert (sweep.authorised, sweep.expired) == (1, 0)
    assert Deposit.objects.unscoped().get(pk=deposit["id"]).status == "authorised"


@pytest.mark.django_db(transaction=True)
def test_a_payment_after_the_deposit_expired_is_still_credited(hosted, psp_simulator):
    """Our margin was wrong and the page still took the payment: the money is credited."""
    api = logged_in(_client(hosted))
    deposit = _start(api)
    assert deposits_stuck_resolve(abandoned_after=timedelta(0)).expired == 1
    assert Deposit.objects.unscoped().get(pk=deposit["id"]).status == "expired"
    pay(deposit["redirect_url"], card=CARD_OK, code="123456")
    credited = _credited(deposit["id"])
    assert (credited.status, credited.amount) == ("credited", Decimal("100.00"))
    assert LedgerAccount.objects.unscoped().get(pk=credited.wallet_id).balance == Decimal("100")
    assert_ledger_sound(hosted.eu)


def _credited(deposit_id: int, timeout: float = 15) -> Deposit:
    deadline = time.monotonic() + timeout
    while True:
        deposit = Deposit.objects.unscoped().get(pk=deposit_id)
        if deposit.status == "credited" or time.monotonic() > deadline:
            return deposit
        time.sleep(0.1)
