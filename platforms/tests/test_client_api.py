"""The client's own trading and transfers through `/api/v1/me/...` with the client token:
account types, demo and live accounts, deals, quoted transfers between wallets and trading
accounts (executed at the quoted rate), margin calls announced once. Against the trading
simulator served from a thread of the test process (the real connectors over HTTP)."""

from __future__ import annotations

from collections.abc import Iterator
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
from rest_framework.test import APIClient

from brokercrm.accounts.tests.factories import CLIENT_PASSWORD, client_login
from brokercrm.events.models import Event
from brokercrm.simulators import start_in_thread
from identity.logins import client_token_obtain
from platforms.models import TradingAccount, TradingEvent, TradingTransfer, TransferQuote
from platforms.services import trading_feed_poll
from platforms.simulator.__main__ import build_app
from platforms.simulator.api_common import Faults, Simulator
from platforms.simulator.config import load_servers
from platforms.simulator.store import Store
from wallets.models import JournalEntry, LedgerAccount
from wallets.services import fx_rate_record, wallet_open
from wallets.tests.factories import assert_ledger_sound, fund

from .factories import client_of, sim_admin, trading_server


@pytest.fixture(scope="module")
def sim_url(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """The trading simulator in a thread of this process: no child process to start."""
    store = Store(Path(tmp_path_factory.mktemp("sim")) / "sim.sqlite3", seed=42)
    for server in load_servers(None):
        store.ensure_server(server)
    url, stop = start_in_thread(build_app(Simulator(store=store, faults=Faults(), traders=0)))
    yield url
    stop()
    store.close()


@pytest.fixture
def eu_server(world: Any, sim_url: str) -> Any:
    return trading_server(world.eu, "mt5", sim_url)


def logged_in(profile: Any) -> APIClient:
    client_login(profile)
    token = client_token_obtain(brand=profile.brand, email=profile.email, password=CLIENT_PASSWORD)
    api = APIClient()
    api.credentials(HTTP_AUTHORIZATION=f"Token {token.key}")
    return api


@pytest.fixture
def me(world: Any, eu_server: Any) -> Any:
    """An approved EU client with EUR 1,000 and an empty USD wallet, and its API client."""
    profile = client_of(world.eu_brand)
    eur = wallet_open(profile=profile, currency="EUR")
    usd = wallet_open(profile=profile, currency="USD")
    fund(eur, "1000.00")
    fx_rate_record(base="EUR", quote="USD", rate="1.1000", source="test")

    class Me:
        pass

    me = Me()
    me.profile, me.eur, me.usd, me.api = profile, eur, usd, logged_in(profile)
    return me


def open_live(me: Any) -> dict[str, Any]:
    answer = me.api.post(
        "/api/v1/me/trading-accounts",
        {"type": "standard", "kind": "live", "currency": "USD"},
        format="json",
    )
    assert answer.status_code == 201, answer.content
    return answer.json()


def quote(me: Any, source: tuple[str, int], to: tuple[str, int], amount: str) -> Any:
    return me.api.post(
        "/api/v1/me/transfers/quote",
        {
            "from": {"kind": source[0], "id": source[1]},
            "to": {"kind": to[0], "id": to[1]},
            "amount": amount,
        },
        format="json",
    )


def confirm(me: Any, quote_id: str, key: str) -> Any:
    return me.api.post(
        "/api/v1/me/transfers", {"quote_id": quote_id}, format="json", HTTP_IDEMPOTENCY_KEY=key
    )


def balance(wallet: LedgerAccount) -> Decimal:
    return LedgerAccount.objects.unscoped().get(pk=wallet.pk).balance


# --- account types and accounts ------------------------------------------------------------


def test_account_types_are_the_entitys_group_mappings_with_the_groups_leverage(me, eu_server):
    answer = me.api.get("/api/v1/me/account-types")
    assert answer.status_code == 200
    assert [(t["type"], t["kind"], t["currency"], t["platform"]) for t in answer.json()] == [
        ("demo", "demo", "USD", "mt5"),
        ("pro", "live", "USD", "mt5"),
        ("standard", "live", "USD", "mt5"),
    ]
    assert all(isinstance(t["leverage"], int) and t["leverage"] > 0 for t in answer.json())
    assert {t["server_id"] for t in answer.json()} == {eu_server.pk}


def test_a_client_opens_live_and_demo_accounts_and_reads_them(me):
    live = open_live(me)
    demo = me.api.post(
        "/api/v1/me/trading-accounts",
        {"type": "demo", "kind": "demo", "currency": "usd"},
        format="json",
    )
    assert demo.status_code == 201, demo.content
    assert (live["kind"], live["status"], live["server"]) == ("live", "enabled", "EU-MT5-Live")
    assert (demo.json()["kind"], demo.json()["type"]) == ("demo", "demo")
    assert live["login"]
    assert live["balance"] == "0.00000000"
    listed = me.api.get("/api/v1/me/trading-accounts").json()
    assert [a["id"] for a in listed] == [live["id"], demo.json()["id"]]
    one = me.api.get(f"/api/v1/me/trading-accounts/{live['id']}").json()
    assert one == live


def test_live_account_refused_before_kyc_approval_demo_allowed(world, eu_server):
    profile = client_of(world.eu_brand, approved=False)
    api = logged_in(profile)
    live = api.post(
        "/api/v1/me/trading-accounts",
        {"type": "standard", "kind": "live", "currency": "USD"},
        format="json",
    )
    assert (live.status_code, live.json()["code"]) == (409, "kyc_not_approved")
    assert not TradingAccount.objects.unscoped().filter(profile=profile).exists()
    demo = api.post(
        "/api/v1/me/trading-accounts",
        {"type": "demo", "kind": "demo", "currency": "USD"},
        format="json",
    )
    assert demo.status_code == 201, demo.content


@pytest.mark.parametrize(
    ("body", "code"),
    [
        ({"type": "demo", "kind": "live", "currency": "USD"}, "account_kind_mismatch"),
        ({"type": "standard", "kind": "demo", "currency": "USD"}, "account_kind_mismatch"),
        ({"type": "gold", "kind": "live", "currency": "USD"}, "invalid"),
        ({"type": "standard", "kind": "live", "currency": "JPY"}, "no_group_mapping"),
        ({"type": "standard", "kind": "live"}, "invalid"),
        ({"type": "standard", "kind": "live", "currency": "USD", "server": 999}, "server_unknown"),
        ({"type": "standard", "kind": "live", "currency": "USD", "leverage": 0}, "invalid"),
    ],
)
def test_bad_account_requests_answer_400_and_open_nothing(me, body, code):
    answer = me.api.post("/api/v1/me/trading-accounts", body, format="json")
    assert (answer.status_code, answer.json()["code"]) == (400, code)
    assert not TradingAccount.objects.unscoped().filter(profile=me.profile).exists()


def test_deals_of_my_account_are_listed_newest_first_and_paginated(me, sim_url):
    live = open_live(me)
    account = TradingAccount.objects.unscoped().get(pk=live["id"])
    fund_account(me, account, "500.00")
    for side in ("buy", "sell"):
        sim_admin(
            sim_url,
            "positions",
            {
                "server": "EU-MT5-Live",
                "login": account.login,
                "symbol": "EURUSD",
                "side": side,
                "volume": 0.01,
            },
        )
    trading_feed_poll(server_id=account.server_id)
    answer = me.api.get(f"/api/v1/me/trading-accounts/{live['id']}/deals", {"page_size": 2})
    assert answer.status_code == 200, answer.content
    body = answer.json()
    assert body["count"] == 3  # the deposit's balance deal and two trades
    assert [d["kind"] for d in body["results"]] == ["sell", "buy"]
    second = me.api.get(
        f"/api/v1/me/trading-accounts/{live['id']}/deals", {"page": 2, "page_size": 2}
    ).json()
    assert [d["kind"] for d in second["results"]] == ["balance"]


def fund_account(me: Any, account: TradingAccount, amount: str) -> dict[str, Any]:
    """EUR → USD wallet at the quoted rate, then USD wallet → the trading account."""
    needed = Decimal(amount)
    if balance(me.usd) < needed:
        eur_needed = (needed / Decimal("1.1") + 1).quantize(Decimal("0.01"))
        fx = quote(me, ("wallet", me.eur.pk), ("wallet", me.usd.pk), str(eur_needed)).json()
        assert confirm(me, fx["quote_id"], f"fx-{account.pk}").status_code == 201
    q = quote(me, ("wallet", me.usd.pk), ("trading_account", account.pk), amount)
    assert q.status_code == 201, q.content
    done = confirm(me, q.json()["quote_id"], f"fund-{account.pk}")
    assert done.status_code == 201, done.content
    return done.json()


# --- transfers --------------------------------------------------------------------------------


def test_cross_currency_transfer_executes_at_the_quoted_rate(world, me):
    q = quote(me, ("wallet", me.eur.pk), ("wallet", me.usd.pk), "100.00")
    assert q.status_code == 201, q.content
    shown = q.json()
    assert (shown["from_amount"], shown["from_currency"]) == ("100.00000000", "EUR")
    assert (shown["to_amount"], shown["to_currency"]) == ("110.00000000", "USD")
    assert Decimal(shown["rate"]) == Decimal("1.1")
    assert shown["from"] == {"kind": "wallet", "id": me.eur.pk}
    # The published rate moves before the client confirms: the quoted one is used.
    fx_rate_record(base="EUR", quote="USD", rate="1.3000", source="test")
    done = confirm(me, shown["quote_id"], "k-1")
    assert done.status_code == 201, done.content
    assert done.json()["status"] == "completed"
    assert (balance(me.eur), balance(me.usd)) == (Decimal("900"), Decimal("110"))
    journal = JournalEntry.objects.unscoped().get(pk=done.json()["journal_id"])
    assert journal.metadata["fx"]["rate"] == "1.1000000000"
    # The same key again: the first result, nothing moves twice.
    again = confirm(me, shown["quote_id"], "k-1")
    assert (again.status_code, again.json()["journal_id"]) == (201, journal.pk)
    assert balance(me.eur) == Decimal("900")
    # The wallets as the client reads them.
    wallets = me.api.get("/api/v1/me/wallets").json()
    assert [(w["currency"], w["balance"], w["available"]) for w in wallets] == [
        ("EUR", "900.00000000", "900.00000000"),
        ("USD", "110.00000000", "110.00000000"),
    ]
    assert_ledger_sound(world.eu)


def test_a_key_reused_for_another_quote_or_a_quote_under_another_key_is_refused(world, me):
    first = quote(me, ("wallet", me.eur.pk), ("wallet", me.usd.pk), "10.00").json()
    second = quote(me, ("wallet", me.eur.pk), ("wallet", me.usd.pk), "20.00").json()
    assert confirm(me, first["quote_id"], "k-1").status_code == 201
    reused = confirm(me, second["quote_id"], "k-1")
    assert (reused.status_code, reused.json()["code"]) == (409, "idempotency_key_reused")
    used = confirm(me, first["quote_id"], "k-2")
    assert (used.status_code, used.json()["code"]) == (409, "quote_used")
    assert balance(me.eur) == Decimal("990")
    assert_ledger_sound(world.eu)


def test_an_expired_quote_is_refused_and_moves_nothing(me, settings):
    settings.TRANSFER_QUOTE_SECONDS = 0
    shown = quote(me, ("wallet", me.eur.pk), ("wallet", me.usd.pk), "10.00").json()
    answer = confirm(me, shown["quote_id"], "k-1")
    assert (answer.status_code, answer.json()["code"]) == (400, "quote_expired")
    assert balance(me.eur) == Decimal("1000")
    assert TransferQuote.objects.unscoped().get(token=shown["quote_id"]).idempotency_key == ""


@pytest.mark.parametrize(
    ("quote_id", "status", "code"),
    [
        ("not-a-quote", 400, "quote_invalid"),
        ("00000000-0000-4000-8000-000000000000", 404, "quote_not_found"),
    ],
)
def test_a_forged_quote_id_is_refused(me, quote_id, status, code):
    answer = confirm(me, quote_id, "k-1")
    assert (answer.status_code, answer.json()["code"]) == (status, code)
    assert balance(me.eur) == Decimal("1000")


def test_a_transfer_needs_an_idempotency_key(me):
    shown = quote(me, ("wallet", me.eur.pk), ("wallet", me.usd.pk), "10.00").json()
    answer = me.api.post("/api/v1/me/transfers", {"quote_id": shown["quote_id"]}, format="json")
    assert (answer.status_code, answer.json()["code"]) == (400, "idempotency_key_invalid")


def test_insufficient_funds_are_refused_at_quote_and_at_confirmation(world, me):
    too_much = quote(me, ("wallet", me.eur.pk), ("wallet", me.usd.pk), "1000.01")
    assert (too_much.status_code, too_much.json()["code"]) == (409, "insufficient_funds")
    shown = quote(me, ("wallet", me.eur.pk), ("wallet", me.usd.pk), "800.00").json()
    other = quote(me, ("wallet", me.eur.pk), ("wallet", me.usd.pk), "800.00").json()
    assert confirm(me, shown["quote_id"], "k-1").status_code == 201
    answer = confirm(me, other["quote_id"], "k-2")
    assert (answer.status_code, answer.json()["code"]) == (409, "insufficient_funds")
    assert balance(me.eur) == Decimal("200")
    # Refused before anything moved: the quote is not spent and the key is free.
    assert TransferQuote.objects.unscoped().get(token=other["quote_id"]).idempotency_key == ""
    assert_ledger_sound(world.eu)


def test_a_closed_wallet_takes_no_money_in(me):
    LedgerAccount.objects.unscoped().filter(pk=me.usd.pk).update(closed_at="2026-01-01T00:00Z")
    answer = quote(me, ("wallet", me.eur.pk), ("wallet", me.usd.pk), "10.00")
    assert (answer.status_code, answer.json()["code"]) == (409, "wallet_closed")
    assert me.api.get(f"/api/v1/me/wallets/{me.usd.pk}").json()["status"] == "closed"


@pytest.mark.parametrize(
    ("amount", "code"),
    [("0", "amount_invalid"), ("1.001", "amount_invalid"), (10, "invalid"), ("-1", "invalid")],
)
def test_bad_amounts_are_refused(me, amount, code):
    answer = me.api.post(
        "/api/v1/me/transfers/quote",
        {
            "from": {"kind": "wallet", "id": me.eur.pk},
            "to": {"kind": "wallet", "id": me.usd.pk},
            "amount": amount,
        },
        format="json",
    )
    assert (answer.status_code, answer.json()["code"]) == (400, code)
    assert not TransferQuote.objects.unscoped().exists()


def test_same_wallet_and_bad_endpoints_are_refused(me):
    same = quote(me, ("wallet", me.eur.pk), ("wallet", me.eur.pk), "1.00")
    assert (same.status_code, same.json()["code"]) == (400, "same_wallet")
    bad = me.api.post(
        "/api/v1/me/transfers/quote",
        {"from": {"kind": "bank", "id": 1}, "to": {"kind": "wallet"}, "amount": "1.00"},
        format="json",
    )
    assert bad.status_code == 400


def test_wallet_to_trading_account_and_back(world, me):
    live = open_live(me)
    account = TradingAccount.objects.unscoped().get(pk=live["id"])
    deposit = fund_account(me, account, "300.00")
    assert (deposit["status"], deposit["kind"]) == ("completed", "wallet_to_account")
    assert Decimal(me.api.get(f"/api/v1/me/trading-accounts/{account.pk}").json()["balance"]) == (
        Decimal("300")
    )
    back = quote(me, ("trading_account", account.pk), ("wallet", me.usd.pk), "120.50")
    assert back.status_code == 201, back.content
    assert Decimal(back.json()["rate"]) == Decimal(1)
    done = confirm(me, back.json()["quote_id"], "back-1")
    assert done.status_code == 201, done.content
    transfer = TradingTransfer.objects.unscoped().get(pk=done.json()["trading_transfer_id"])
    assert (transfer.direction, transfer.status, transfer.amount) == (
        "withdrawal",
        "completed",
        Decimal("120.50"),
    )
    usd_before_back = balance(me.usd)
    assert confirm(me, back.json()["quote_id"], "back-1").status_code == 201  # repeat
    assert balance(me.usd) == usd_before_back
    account.refresh_from_db()
    assert account.balance == Decimal("179.50")
    assert_ledger_sound(world.eu)


def test_a_withdrawal_the_server_refuses_is_recorded_and_answers_409(world, me):
    live = open_live(me)
    account = TradingAccount.objects.unscoped().get(pk=live["id"])
    fund_account(me, account, "50.00")
    shown = quote(me, ("trading_account", account.pk), ("wallet", me.usd.pk), "80.00").json()
    usd = balance(me.usd)
    answer = confirm(me, shown["quote_id"], "wd-1")
    assert (answer.status_code, answer.json()["code"]) == (409, "transfer_refused")
    assert answer.json()["transfer"]["status"] == "failed"
    assert confirm(me, shown["quote_id"], "wd-1").json()["code"] == "transfer_refused"
    assert balance(me.usd) == usd
    assert_ledger_sound(world.eu)


def test_a_trading_account_is_funded_from_a_wallet_in_another_currency_at_the_quoted_rate(
    world, me
):
    live = open_live(me)
    shown = quote(me, ("wallet", me.eur.pk), ("trading_account", live["id"]), "100.01").json()
    # EUR 100.01 at 1.1 buys USD 110.011: the server takes cents, the fraction stays in USD.
    assert (shown["kind"], shown["from_amount"], shown["to_amount"]) == (
        "wallet_to_account",
        "100.01000000",
        "110.01000000",
    )
    assert Decimal(shown["rate"]) == Decimal("1.1")
    fx_rate_record(base="EUR", quote="USD", rate="1.3000", source="test")  # moves: not used
    done = confirm(me, shown["quote_id"], "x-1")
    assert done.status_code == 201, done.content
    assert done.json()["status"] == "completed"
    account = TradingAccount.objects.unscoped().get(pk=live["id"])
    assert account.balance == Decimal("110.01")
    assert (balance(me.eur), balance(me.usd)) == (Decimal("899.99"), Decimal("0.001"))
    conversion = JournalEntry.objects.unscoped().get(pk=done.json()["conversion_journal_id"])
    assert conversion.metadata["fx"]["rate"] == "1.1000000000"
    assert done.json()["journal_id"] != conversion.pk  # the funding of the account
    again = confirm(me, shown["quote_id"], "x-1")
    assert (again.status_code, again.json()["conversion_journal_id"]) == (201, conversion.pk)
    assert (balance(me.eur), account.balance) == (Decimal("899.99"), Decimal("110.01"))
    assert_ledger_sound(world.eu)


def test_money_comes_back_from_a_trading_account_into_a_wallet_in_another_currency(world, me):
    live = open_live(me)
    fund_account(me, TradingAccount.objects.unscoped().get(pk=live["id"]), "220.00")
    eur, usd = balance(me.eur), balance(me.usd)
    fx_rate_record(base="USD", quote="EUR", rate="0.9000", source="test")
    shown = quote(me, ("trading_account", live["id"]), ("wallet", me.eur.pk), "100.00").json()
    assert (shown["kind"], shown["to_amount"], shown["to_currency"]) == (
        "account_to_wallet",
        "90.00000000",
        "EUR",
    )
    done = confirm(me, shown["quote_id"], "back-x")
    assert done.status_code == 201, done.content
    assert done.json()["status"] == "completed"
    assert (balance(me.eur), balance(me.usd)) == (eur + Decimal("90"), usd)
    assert TradingAccount.objects.unscoped().get(pk=live["id"]).balance == Decimal("120.00")
    assert_ledger_sound(world.eu)


def test_a_converted_deposit_the_server_refuses_leaves_nothing_converted(world, me):
    live = open_live(me)
    TradingAccount.objects.unscoped().filter(pk=live["id"]).update(login=999_999_999)
    shown = quote(me, ("wallet", me.eur.pk), ("trading_account", live["id"]), "50.00").json()
    answer = confirm(me, shown["quote_id"], "x-refused")
    assert (answer.status_code, answer.json()["code"]) == (409, "transfer_refused")
    assert answer.json()["transfer"]["status"] == "reversed"
    assert (balance(me.eur), balance(me.usd)) == (Decimal("1000"), Decimal("0"))
    again = confirm(me, shown["quote_id"], "x-refused")
    assert again.status_code == 409
    assert (balance(me.eur), balance(me.usd)) == (Decimal("1000"), Decimal("0"))
    assert_ledger_sound(world.eu)


def test_an_account_in_a_currency_without_wallets_and_a_demo_account_are_refused(world, me):
    live = open_live(me)
    TradingAccount.objects.unscoped().filter(pk=live["id"]).update(currency="JPY")
    cross = quote(me, ("wallet", me.eur.pk), ("trading_account", live["id"]), "10.00")
    assert (cross.status_code, cross.json()["code"]) == (400, "currency_mismatch")
    demo = me.api.post(
        "/api/v1/me/trading-accounts",
        {"type": "demo", "kind": "demo", "currency": "USD"},
        format="json",
    ).json()
    answer = quote(me, ("wallet", me.usd.pk), ("trading_account", demo["id"]), "1.00")
    assert (answer.status_code, answer.json()["code"]) == (400, "demo_account")


def test_a_blocked_trading_account_takes_no_deposit(me):
    live = open_live(me)
    TradingAccount.objects.unscoped().filter(pk=live["id"]).update(status="disabled")
    answer = quote(me, ("wallet", me.usd.pk), ("trading_account", live["id"]), "1.00")
    assert (answer.status_code, answer.json()["code"]) == (409, "account_not_active")


# --- another client's ids, staff and anonymous -------------------------------------------------


def test_another_clients_wallets_accounts_and_quotes_answer_404(world, me):
    other = client_of(world.eu_brand)
    other_wallet = wallet_open(profile=other, currency="EUR")
    fund(other_wallet, "50.00")
    other_api = logged_in(other)
    theirs = other_api.post(
        "/api/v1/me/trading-accounts",
        {"type": "demo", "kind": "demo", "currency": "USD"},
        format="json",
    ).json()
    their_quote = other_api.post(
        "/api/v1/me/transfers/quote",
        {
            "from": {"kind": "wallet", "id": other_wallet.pk},
            "to": {"kind": "wallet", "id": wallet_open(profile=other, currency="USD").pk},
            "amount": "5.00",
        },
        format="json",
    ).json()
    api = me.api
    for path, code in (
        (f"/api/v1/me/trading-accounts/{theirs['id']}", "trading_account_not_found"),
        (f"/api/v1/me/trading-accounts/{theirs['id']}/deals", "trading_account_not_found"),
        (f"/api/v1/me/wallets/{other_wallet.pk}", "wallet_not_found"),
        (f"/api/v1/me/wallets/{other_wallet.pk}/statement", "wallet_not_found"),
    ):
        answer = api.get(path)
        assert (answer.status_code, answer.json()["code"]) == (404, code), path
    for source, to, code in (
        (("wallet", other_wallet.pk), ("wallet", me.usd.pk), "wallet_not_found"),
        (("wallet", me.eur.pk), ("wallet", other_wallet.pk), "wallet_not_found"),
        (("wallet", me.usd.pk), ("trading_account", theirs["id"]), "trading_account_not_found"),
    ):
        answer = quote(me, source, to, "1.00")
        assert (answer.status_code, answer.json()["code"]) == (404, code)
    stolen = confirm(me, their_quote["quote_id"], "k-steal")
    assert (stolen.status_code, stolen.json()["code"]) == (404, "quote_not_found")
    assert balance(other_wallet) == Decimal("50")
    assert api.get("/api/v1/me/trading-accounts").json() == []


@pytest.mark.parametrize(
    "path",
    ["/api/v1/me/account-types", "/api/v1/me/trading-accounts", "/api/v1/me/wallets"],
)
def test_staff_get_403_and_anonymous_401(world, eu_server, path):
    staff = APIClient()
    staff.force_authenticate(world.eu_compliance)
    assert staff.get(path).status_code == 403
    assert APIClient().get(path).status_code == 401


def test_staff_and_anonymous_cannot_quote_or_confirm(world, me):
    staff = APIClient()
    staff.force_authenticate(world.superuser)
    body = {
        "from": {"kind": "wallet", "id": me.eur.pk},
        "to": {"kind": "wallet", "id": me.usd.pk},
        "amount": "1.00",
    }
    assert staff.post("/api/v1/me/transfers/quote", body, format="json").status_code == 403
    assert APIClient().post("/api/v1/me/transfers/quote", body, format="json").status_code == 401
    assert (
        APIClient()
        .post("/api/v1/me/transfers", {"quote_id": "x"}, format="json", HTTP_IDEMPOTENCY_KEY="k")
        .status_code
        == 401
    )
    assert not TransferQuote.objects.unscoped().exists()


# --- margin call ------------------------------------------------------------------------------


def test_a_margin_call_is_announced_once_per_episode(world, me, sim_url):
    live = open_live(me)
    account = TradingAccount.objects.unscoped().get(pk=live["id"])
    fund_account(me, account, "1000.00")
    sim_admin(
        sim_url,
        "positions",
        {
            "server": "EU-MT5-Live",
            "login": account.login,
            "symbol": "EURUSD",
            "side": "buy",
            "volume": 0.25,
        },
    )
    trading_feed_poll(server_id=account.server_id)
    sim_admin(sim_url, "shock", {"symbol": "EURUSD", "percent": -1})
    trading_feed_poll(server_id=account.server_id)
    trading_feed_poll(server_id=account.server_id)  # polled again: nothing new
    announced = Event.objects.filter(type="platforms.margin_call", profile_id=me.profile.pk)
    assert announced.count() == 1
    event = announced.get()
    assert event.payload["account_id"] == account.pk
    assert event.payload["login"] == account.login
    assert event.payload["currency"] == "USD"
    assert Decimal(str(event.payload["margin_level"])) < 100
    assert event.person_id == me.profile.person_id
    # Still in the zone after a further fall: the same episode, no second announcement.
    sim_admin(sim_url, "shock", {"symbol": "EURUSD", "percent": -0.1})
    trading_feed_poll(server_id=account.server_id)
    assert announced.count() == 1
    assert TradingEvent.objects.unscoped().filter(account=account, kind="margin_call").count() == 1
    # Sim shocks move the shared market: put it back for the other tests.
    sim_admin(sim_url, "shock", {"symbol": "EURUSD", "percent": 1.1})


# --- both connectors against the simulator process --------------------------------------------


def test_wallet_to_account_and_back_through_the_api_on_each_connector(desk):
    """EU on MT5, UK on MT4 (the `desk` fixture), against the simulator's own process."""
    profile = client_of(desk.brand)
    usd = wallet_open(profile=profile, currency="USD")
    fund(usd, "500.00")
    me = type("Me", (), {"api": logged_in(profile)})()
    live = open_live(me)
    there = quote(me, ("wallet", usd.pk), ("trading_account", live["id"]), "200.00").json()
    assert confirm(me, there["quote_id"], "there").json()["status"] == "completed"
    back = quote(me, ("trading_account", live["id"]), ("wallet", usd.pk), "75.25").json()
    assert confirm(me, back["quote_id"], "back").json()["status"] == "completed"
    account = TradingAccount.objects.unscoped().get(pk=live["id"])
    assert desk.platform.user_get(account.login).balance == Decimal("124.75")
    assert balance(usd) == Decimal("375.25")
    assert_ledger_sound(desk.entity)


def test_a_deposit_the_wallet_no_longer_covers_is_refused_and_the_quote_stays_unused(world, me):
    live = open_live(me)
    fund(me.usd, "100.00")
    deposit = quote(me, ("wallet", me.usd.pk), ("trading_account", live["id"]), "100.00").json()
    spend = quote(me, ("wallet", me.usd.pk), ("wallet", me.eur.pk), "60.00").json()
    assert confirm(me, spend["quote_id"], "spend").status_code == 201
    answer = confirm(me, deposit["quote_id"], "dep")
    assert (answer.status_code, answer.json()["code"]) == (409, "insufficient_funds")
    assert not TradingTransfer.objects.unscoped().filter(account_id=live["id"]).exists()
    assert TransferQuote.objects.unscoped().get(token=deposit["quote_id"]).idempotency_key == ""
    assert balance(me.usd) == Decimal("40")
    assert_ledger_sound(world.eu)


def test_opening_an_account_again_with_the_same_key_returns_it(me):
    body = {"type": "demo", "kind": "demo", "currency": "USD"}
    first = me.api.post(
        "/api/v1/me/trading-accounts", body, format="json", HTTP_IDEMPOTENCY_KEY="a1"
    )
    again = me.api.post(
        "/api/v1/me/trading-accounts", body, format="json", HTTP_IDEMPOTENCY_KEY="a1"
    )
    assert first.status_code == 201, first.content
    assert again.json()["id"] == first.json()["id"]
    other = me.api.post(
        "/api/v1/me/trading-accounts",
        {"type": "pro", "kind": "live", "currency": "USD"},
        format="json",
        HTTP_IDEMPOTENCY_KEY="a1",
    )
    assert (other.status_code, other.json()["code"]) == (409, "idempotency_key_reused")
    assert TradingAccount.objects.unscoped().filter(profile=me.profile).count() == 1
