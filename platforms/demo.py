"""Demo trading configuration: the EU entity's MT5 server and the offshore (SC) entity's MT4
server, both on the simulator that `make demo` runs, with their group mappings (loaded by
`manage.py seed_demo`); and, for the IB programme (`manage.py seed_ib`), a closed demo trading
account per trading client with a month of deals. Adds only what is missing.

The deals are demo history written straight into `Deal` (the trading simulator's traders only
trade logins created on it at runtime). Their accounts are closed and their logins and tickets
lie below the ranges the simulator hands out, so syncs never meet them."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from decimal import Decimal
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from django.conf import settings
from django.core.management.base import CommandError
from django.db import connection, transaction
from django.utils import timezone

from audit.services import audit_record
from brokercrm.gate import system
from brokercrm.httpjson import UpstreamError, json_request
from brokercrm.simulators import start_in_thread
from identity.demo import demo_profile

from . import audit_actions as actions
from .models import (
    ControlFailure,
    Deal,
    GroupMapping,
    TradingAccount,
    TradingEvent,
    TradingServer,
    TransferQuote,
)
from .selectors import DEAL_IMPORT_LOCK
from .services import (
    Endpoint,
    trading_account_open,
    trading_feed_poll,
    trading_server_reconcile,
    transfer_execute,
    transfer_quote_create,
)
from .simulator.__main__ import build_app
from .simulator.api_common import Faults, Simulator
from .simulator.config import load_servers
from .simulator.store import Store

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
            _audit(
                server,
                actions.TRADINGSERVER_CREATED,
                {"server": server_name, "kind": kind, "base_url": base_url},
            )
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
                    mapping,
                    actions.GROUPMAPPING_CREATED,
                    {"account_type": account_type, "currency": currency, "group": group},
                )


def _audit(
    obj: Any, action: str, after: dict[str, Any], *, label: str = "system:seed_demo"
) -> None:
    audit_record(
        actor=None,
        actor_label=label,
        action=action,
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
        actions.TRADINGACCOUNT_CREATED,
        {"login": login, "server": server.server_name, "status": account.status},
        label=HISTORY_LABEL,
    )
    return account


# --- one client's trading, through the services a client's API calls use -------------------

CLIENT_LABEL = "seed_trading"


@dataclass
class ClientTrading:
    live: TradingAccount
    demo: TradingAccount
    deals: int
    margin_calls: int


@contextmanager
def trading_simulator(server: TradingServer, state: Path) -> Iterator[str]:
    """The simulator at the server's URL; when nothing answers there (`make demo` starts the
    simulator only after seeding), the simulator is served from this process on that port
    and the demo's state file, so what is created now is there when the real one starts."""
    url = server.base_url.rstrip("/")
    try:
        json_request("GET", f"{url}/health", timeout=2.0)
    except UpstreamError:
        pass
    else:
        yield url
        return
    parsed = urlsplit(url)
    state.parent.mkdir(parents=True, exist_ok=True)
    store = Store(state, seed=42)
    for config in load_servers(None):
        store.ensure_server(config)
    _url, stop = start_in_thread(
        build_app(Simulator(store=store, faults=Faults(), traders=0)),
        host=parsed.hostname or "127.0.0.1",
        port=parsed.port or 80,
    )
    try:
        yield url
    finally:
        stop()
        store.close()


def _sim(url: str, path: str, body: dict[str, Any]) -> Any:
    answer = json_request("POST", f"{url}/admin/{path}", body=body)
    if answer.status != 200:
        raise CommandError(f"The trading simulator refused {path}: {answer.body}")
    return answer.body


def _open(profile: Any, account_type: str) -> TradingAccount:
    return trading_account_open(
        actor=system(CLIENT_LABEL),
        profile=profile,
        account_type=account_type,
        currency="USD",
        idempotency_key=f"demo:{account_type}:{profile.pk}",
    )


def seed_client_trading(*, profile: Any, wallets: Any, state: Path) -> ClientTrading:
    """A live and a demo USD account for the client on its entity's demo server; part of the
    base-currency wallet converted to USD at a quoted rate and moved to the live account;
    a few deals; and one margin call (announced as `platforms.margin_call`). Safe to run
    again: accounts and transfers are keyed by the profile, the margin call made once."""
    actor = system(CLIENT_LABEL)
    server = (
        TradingServer.objects.in_entity(profile.entity_id)
        .filter(active=True)
        .order_by("pk")
        .first()
    )
    if server is None:
        raise CommandError("The client's entity has no trading server: run seed_demo first.")
    with trading_simulator(server, state) as url:
        live, demo = _open(profile, "standard"), _open(profile, "demo")
        for source, target, amount, key in (
            (wallets.base, wallets.usd, "1500.00", "fx"),
            (wallets.usd, live, "1000.00", "fund"),
        ):
            source.refresh_from_db()  # the balance the previous step left
            target.refresh_from_db()
            if (
                not TransferQuote.objects.in_entity(profile.entity_id)
                .filter(idempotency_key=f"demo:{key}:{profile.pk}")
                .exists()
            ):
                quote = transfer_quote_create(
                    actor=actor,
                    source=Endpoint(wallet=source),
                    target=Endpoint(wallet=target)
                    if target is wallets.usd
                    else Endpoint(account=target),
                    amount=amount,
                )
                transfer_execute(
                    actor=actor, quote=quote, idempotency_key=f"demo:{key}:{profile.pk}"
                )
        named = {"server": server.server_name, "login": live.login}
        if not TradingEvent.objects.in_entity(profile.entity_id).filter(account=live).exists():
            for symbol, side in (("GBPUSD", "buy"), ("XAUUSD", "sell")):
                ticket = _sim(
                    url,
                    "positions",
                    {**named, "symbol": symbol, "side": side, "volume": 0.01},
                )["ticket"]
                _sim(url, "positions/close", {"server": server.server_name, "ticket": ticket})
            _sim(url, "positions", {**named, "symbol": "EURUSD", "side": "buy", "volume": 0.25})
            moved = 0.0
            for _ in range(8):  # down in small steps until the account is in the zone
                _sim(url, "shock", {"symbol": "EURUSD", "percent": -0.5})
                moved += 0.5
                trading_feed_poll(server_id=server.pk)
                if TradingEvent.objects.in_entity(profile.entity_id).filter(account=live).exists():
                    break
            _sim(url, "shock", {"symbol": "EURUSD", "percent": moved})
        trading_feed_poll(server_id=server.pk)
        trading_server_reconcile(server_id=server.pk)
        if not ControlFailure.objects.in_entity(profile.entity_id).filter(account=demo).exists():
            # Someone removed the practice login on the server by hand: the next complete
            # reconcile puts it in compliance's queue (a control failure).
            _sim(url, "users/delete", {"server": server.server_name, "login": demo.login})
            trading_server_reconcile(server_id=server.pk)
    return ClientTrading(
        live=TradingAccount.objects.in_entity(profile.entity_id).get(pk=live.pk),
        demo=demo,
        deals=Deal.objects.in_entity(profile.entity_id).filter(account=live).count(),
        margin_calls=TradingEvent.objects.in_entity(profile.entity_id)
        .filter(account=live, kind=TradingEvent.Kind.MARGIN_CALL)
        .count(),
    )
