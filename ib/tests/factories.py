from __future__ import annotations

import datetime as dt
from decimal import Decimal
from itertools import count
from typing import Any

from brokercrm.gate import SYSTEM
from ib.models import IbPartner, RebatePlan
from ib.services import ib_partner_create, rebate_plan_create, rebate_plan_publish
from platforms.models import Deal, TradingAccount, TradingServer
from platforms.tests.factories import client_of

_tickets = count(1000)
_logins = count(500000)

MONTH = dt.datetime(2026, 3, 1, tzinfo=dt.UTC)


def at(day: int, hour: int = 12, second: int = 0) -> dt.datetime:
    return MONTH.replace(day=day, hour=hour, second=second)


def server_of(entity: Any) -> TradingServer:
    server, _ = TradingServer.objects.unscoped().get_or_create(
        entity=entity,
        name=f"{entity.code} live",
        defaults={
            "kind": "mt5",
            "base_url": "http://127.0.0.1:9",
            "server_name": f"Live-{entity.code}",
        },
    )
    return server


def plan_of(
    entity: Any,
    *,
    per_lot: str = "10",
    split: list[Any] | None = None,
    min_holding: int = 60,
    ceiling: Any = None,
    name: str = "Standard",
) -> RebatePlan:
    plan = rebate_plan_create(actor=SYSTEM, entity=entity, name=name, currency="USD")
    rebate_plan_publish(
        actor=SYSTEM,
        plan=plan,
        valid_from=dt.datetime(2020, 1, 1, tzinfo=dt.UTC),
        rates=[{"symbols": [], "amount_per_lot": per_lot}],
        tier_split=split or [70, 20, 10],
        per_trade_ceiling=ceiling,
        min_holding_seconds=min_holding,
    )
    return plan


def ib_of(brand: Any, plan: RebatePlan | None = None, name: str = "") -> IbPartner:
    return ib_partner_create(
        actor=SYSTEM, profile=client_of(brand, approved=False), name=name, plan=plan
    )


def account_of(profile: Any) -> TradingAccount:
    return TradingAccount.objects.unscoped().create(
        entity_id=profile.entity_id,
        profile=profile,
        server=server_of(profile.entity),
        login=next(_logins),
        account_type="standard",
        group="real\\standard",
        currency="USD",
        status="enabled",
    )


def deal(
    account: TradingAccount,
    *,
    entry: str,
    time: dt.datetime,
    position: int,
    volume: str = "1",
    symbol: str = "EURUSD",
    ticket: int | None = None,
    commission: str = "0",
) -> Deal:
    deal, _ = Deal.objects.unscoped().update_or_create(
        server=account.server,
        ticket=ticket if ticket is not None else next(_tickets),
        defaults={
            "entity_id": account.entity_id,
            "login": account.login,
            "account": account,
            "kind": "buy",
            "entry": entry,
            "symbol": symbol,
            "volume": Decimal(volume),
            "price": Decimal("1.1"),
            "profit": Decimal(0),
            "commission": Decimal(commission),
            "swap": Decimal(0),
            "time": time,
            "position": position,
        },
    )
    return deal


def round_trip(
    account: TradingAccount, *, opened: dt.datetime, held: int = 3600, volume: str = "1"
) -> Deal:
    """Open and close a position; returns the closing deal."""
    position = next(_tickets)
    deal(account, entry="in", time=opened, position=position, volume=volume)
    return deal(
        account,
        entry="out",
        time=opened + dt.timedelta(seconds=held),
        position=position,
        volume=volume,
    )
