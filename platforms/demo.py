"""Demo trading configuration: the EU entity's MT5 server and the offshore (SC) entity's MT4
server, both on the simulator that `make demo` runs, with their group mappings (loaded by
`manage.py seed_demo`); and, for the IB programme (`manage.py seed_ib`), a closed demo trading
account per trading client with a month of deals. Adds only what is missing.

The deals are demo history written straight into `Deal` (the trading simulator's traders only
trade logins created on it at runtime). Their accounts are closed and their logins and tickets
lie below the ranges the simulator hands out, so syncs never meet them."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from typing import Any

from django.conf import settings
from django.core.management.base import CommandError
from django.db import connection, transaction
from django.utils import timezone

from audit.services import audit_record
from identity.demo import demo_profile

from .models import Deal, GroupMapping, TradingAccount, TradingServer
from .selectors import DEAL_IMPORT_LOCK

# entity code → (server name, kind, shown as, [(account type, currency, group)])
DEMO_SERVERS: dict[str, tuple[str, str, str, list[tuple[str, str, str]]]] = {
    "EU": (
        "EU-MT5-Live",
        "mt5",
        "EU live (MT5)",
        [
            ("standard", "EUR", "real\\eu\\std-eur"),
            ("standard", "USD", "real\\eu\\std-usd"),
            ("pro", "USD", "real\\eu\\pro-usd"),
            ("demo", "USD", "demo\\eu\\std-usd"),
        ],
    ),
    "SC": (
        "SC-MT4-Live",
        "mt4",
        "Offshore live (MT4)",
        [
            ("standard", "USD", "sc-std-usd"),
            ("standard", "EUR", "sc-std-eur"),
            ("pro", "USD", "sc-pro-usd"),
            ("demo", "USD", "demo-usd"),
        ],
    ),
}

HISTORY_LABEL = "system:seed_ib"
DEMO_COMMENT = "demo history (seed_ib)"
# entity → (server name, group, currency, first login, first ticket). Below the simulator's
# ranges (logins from 5,000,000 on the MT5 server and 400,000 on the MT4 one, tickets from
# 10,000,000). The currency is the entity's IB plan currency, so no FX rate is needed.
ACCOUNTS = {
    "EU": ("EU-MT5-Live", "real\\eu\\std-eur", "EUR", 4_900_001, 9_000_000),
    "SC": ("SC-MT4-Live", "sc-std-usd", "USD", 390_001, 9_000_000),
}
# Referred clients that trade (the UK entity has no demo server).
TRADERS: list[tuple[str, str]] = [
    ("EU", "lukas.becker@example.de"),
    ("EU", "sofia.rossi@example.it"),
    ("EU", "jan.devries@example.nl"),
    ("SC", "mariana.souza@example.com.br"),
    ("SC", "siti.rahman@example.my"),
]
# Every trader's month: (day, hour, symbol, lots, seconds held, commission per leg). The last
# trade is held under the minimum holding time of the IB plans and earns nothing.
TRADES: list[tuple[int, int, str, str, int, str]] = [
    (3, 9, "EURUSD", "2", 7_200, "0"),
    (6, 14, "XAUUSD", "1", 2_700, "0"),
    (10, 16, "US500", "3", 86_400, "-4.5"),
    (15, 11, "GBPUSD", "1.5", 1_800, "0"),
    (21, 10, "BTCUSD", "0.5", 14_400, "-12"),
    (24, 15, "EURUSD", "5", 30, "0"),
]


def demo_trading_servers(entities: dict[str, Any], *, base_url: str | None = None) -> None:
    """Inside the caller's transaction; every row it adds is audited."""
    base_url = base_url or settings.TRADING_SIMULATOR_URL
    for code, (server_name, kind, name, mappings) in DEMO_SERVERS.items():
        entity = entities.get(code)
        if entity is None:
            continue
        server = TradingServer.objects.in_entity(entity).filter(server_name=server_name).first()
        if server is None:
            server = TradingServer.objects.create(
                entity=entity, name=name, kind=kind, base_url=base_url, server_name=server_name
            )
            _audit(server, {"server": server_name, "kind": kind, "base_url": base_url})
        for account_type, currency, group in mappings:
            exists = (
                GroupMapping.objects.in_entity(entity)
                .filter(server=server, account_type=account_type, currency=currency)
                .exists()
            )
            if not exists:
                mapping = GroupMapping.objects.create(
                    entity=entity,
                    server=server,
                    account_type=account_type,
                    currency=currency,
                    group=group,
                )
                _audit(
                    mapping, {"account_type": account_type, "currency": currency, "group": group}
                )


def _audit(obj: Any, after: dict[str, Any], *, label: str = "system:seed_demo") -> None:
    audit_record(
        actor=None,
        actor_label=label,
        action=f"platforms.{obj._meta.model_name}_created",
        entity=obj.entity_id,
        obj=obj,
        after=after,
        reason="demo data",
    )


def seed_history(*, entities: dict[str, Any], since: dt.datetime) -> int:
    """A closed demo account per trader and its month of deals from `since`; returns the
    deals added. Like an import, it holds the deal-import lock until the caller commits."""
    added = 0
    with transaction.atomic():
        with connection.cursor() as cursor:  # a commission batch's watermark waits for it
            cursor.execute("SELECT pg_advisory_xact_lock_shared(%s)", [DEAL_IMPORT_LOCK])
        for index, (code, email) in enumerate(TRADERS):
            entity = entities[code]
            server_name, group, currency, first_login, first_ticket = ACCOUNTS[code]
            server = TradingServer.objects.in_entity(entity).filter(server_name=server_name).first()
            if server is None:
                raise CommandError(f"No demo server {server_name}: run seed_demo first.")
            account = _account(
                demo_profile(entity, email), server, group, currency, first_login + index
            )
            deals = _deals(account, first_ticket + index * 1_000, since)
            existing = set(
                Deal.objects.in_entity(entity)
                .filter(server=server, ticket__in=[d.ticket for d in deals])
                .values_list("ticket", flat=True)
            )
            fresh = [d for d in deals if d.ticket not in existing]
            Deal.objects.bulk_create(fresh, ignore_conflicts=True)
            added += len(fresh)
    return added


def _deals(account: TradingAccount, first_ticket: int, since: dt.datetime) -> list[Deal]:
    deals = []
    for number, (day, hour, symbol, lots, held, commission) in enumerate(TRADES):
        opened = since + dt.timedelta(days=day, hours=hour)
        ticket = first_ticket + number * 2
        for entry, kind, at, ticket_ in (
            ("in", "buy", opened, ticket),
            ("out", "sell", opened + dt.timedelta(seconds=held), ticket + 1),
        ):
            deals.append(
                Deal(
                    entity_id=account.entity_id,
                    server=account.server,
                    ticket=ticket_,
                    login=account.login,
                    account=account,
                    kind=kind,
                    entry=entry,
                    symbol=symbol,
                    volume=Decimal(lots),
                    price=Decimal("1"),
                    profit=Decimal(0),
                    commission=Decimal(commission),
                    swap=Decimal(0),
                    comment=DEMO_COMMENT,
                    time=at,
                    position=ticket,
                )
            )
    return deals


def _account(
    profile: Any, server: TradingServer, group: str, currency: str, login: int
) -> TradingAccount:
    found = (
        TradingAccount.objects.in_entity(profile.entity_id)
        .filter(server=server, login=login)
        .first()
    )
    if found is not None:
        return found
    account = TradingAccount.objects.create(
        entity_id=profile.entity_id,
        profile=profile,
        server=server,
        login=login,
        account_type="standard",
        group=group,
        currency=currency,
        leverage=30,
        status=TradingAccount.Status.CLOSED,
        status_reason="Demo trading history loaded by seed_ib; not on the trading simulator.",
        status_changed_at=timezone.now(),
    )
    _audit(
        account,
        {"login": login, "server": server.server_name, "status": account.status},
        label=HISTORY_LABEL,
    )
    return account
