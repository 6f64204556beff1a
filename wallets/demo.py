"""Demo wallets of one client: a funded wallet in the entity's base currency, a second one
in USD, and the published EUR/USD rate a transfer between them is quoted at. Adds only what
is missing (the deposit is keyed by the profile)."""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from brokercrm.gate import system

from .models import FxRate, LedgerAccount
from .services import JournalSpec, Line, fx_rate_record, journal_post, system_account, wallet_open

DEMO_RATES = [("EUR", "USD", "1.0850"), ("GBP", "USD", "1.2700"), ("EUR", "GBP", "0.8550")]


@dataclass(frozen=True)
class ClientWallets:
    base: LedgerAccount
    usd: LedgerAccount


def seed_rates() -> None:
    for base, quote, rate in DEMO_RATES:
        if not FxRate.objects.filter(base=base, quote=quote).exists():
            fx_rate_record(base=base, quote=quote, rate=rate, source="demo")


def seed_client_wallets(*, profile: Any, deposit: str = "5000.00") -> ClientWallets:
    """The client's base-currency wallet with a demo deposit, and a USD wallet."""
    seed_rates()
    base = wallet_open(profile=profile, currency=profile.entity.base_currency)
    usd = wallet_open(profile=profile, currency="USD")
    clearing = system_account(
        entity=profile.entity_id, kind=LedgerAccount.Kind.PSP_CLEARING, currency=base.currency
    )
    amount = Decimal(deposit)
    journal_post(
        actor=system("seed_demo"),
        entity=profile.entity_id,
        spec=JournalSpec(
            type="deposit",
            idempotency_key=f"demo:deposit:{profile.pk}",
            lines=[Line(clearing, -amount), Line(base, amount)],
            reference="demo deposit",
        ),
    )
    base.refresh_from_db()
    return ClientWallets(base=base, usd=usd)
