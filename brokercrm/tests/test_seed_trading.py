"""`seed_trading`: the demo client's wallets, live and demo accounts, deals and a margin call,
made through the client services against the trading simulator served in this process."""

from __future__ import annotations

import socket
from decimal import Decimal
from io import StringIO

import pytest
from django.core.management import call_command

from brokercrm.events.models import Event
from platforms.models import Deal, TradingAccount, TransferQuote
from wallets.models import LedgerAccount
from wallets.tests.factories import assert_ledger_sound


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


@pytest.mark.django_db(transaction=True)
def test_seed_trading_shows_a_clients_money_and_trading_and_runs_again(settings, tmp_path):
    settings.TRADING_SIMULATOR_URL = f"http://127.0.0.1:{_free_port()}"
    settings.VAR_DIR = tmp_path
    call_command("seed_demo", quiet_logins=True)
    out = StringIO()
    call_command("seed_trading", stdout=out)

    accounts = TradingAccount.objects.unscoped().filter(profile__email="camille.laurent@example.fr")
    assert sorted(accounts.values_list("account_type", "status")) == [
        ("demo", "enabled"),
        ("standard", "enabled"),
    ]
    live = accounts.get(account_type="standard")
    # The deposit, two round trips and the open position.
    assert Deal.objects.unscoped().filter(account=live).count() >= 5
    wallets = LedgerAccount.objects.unscoped().filter(profile=live.profile, kind="client_wallet")
    assert dict(wallets.values_list("currency", "balance")) == {
        "EUR": Decimal("3500"),
        "USD": Decimal("1500") * Decimal("1.085") - Decimal("1000"),
    }
    assert (
        Event.objects.filter(type="platforms.margin_call", profile_id=live.profile_id).count() == 1
    )
    assert "GET  /api/v1/me/wallets" in out.getvalue()
    assert (tmp_path / "trading-sim.sqlite3").exists()

    call_command("seed_trading", stdout=StringIO())  # again: nothing twice
    assert accounts.count() == 2
    assert TransferQuote.objects.unscoped().count() == 2
    assert Event.objects.filter(type="platforms.margin_call").count() == 1
    assert_ledger_sound(live.entity)
