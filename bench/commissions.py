"""IB commission batch: hierarchy, plans and deals in a benchmark database, the batch, a rerun.

    make bench-commissions ARGS="--deals 1000000 --ibs 250 --tiers 4"

A benchmark database (dropped and recreated on the server of DATABASE_URL; the main database
is never touched) gets one entity, `--ibs` IBs in a tree at least `--tiers` deep, one plan
with a `--tiers`-level split, clients attributed round-robin to the IBs, and `--deals` imported
deals loaded with INSERT ... SELECT generate_series: half opening legs, half closing deals, a
share of them scalps below the minimum holding time. Then:

- naive: a per-deal Python loop (ORM reads of attribution, plan, rate, ancestors and opening
  leg, one INSERT per line) over a sample of the deals, rolled back;
- the batch (`commission_batch_run`: set-based lines, then payouts through the ledger);
- a full rerun over every deal, which must create nothing and change nothing.

Prints one JSON line last: deals, ibs, tiers, seconds, deals_per_s, lines, payout_total,
rerun_new_lines, rerun_identical, naive_deals_per_s, speedup.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import time
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "bench"))

from common import bench_profiles, database_recreate, database_url  # noqa: E402 - bench/

DEFAULT_DATABASE = "brokercrm_bench_commissions"
START = datetime(2026, 1, 1, tzinfo=UTC)
MIN_HOLDING = 60


def say(message: str) -> None:
    print(message, file=sys.stderr, flush=True)


def tier_split(tiers: int) -> list[Decimal]:
    rest = [Decimal(20) / (2**i) for i in range(tiers - 1)]
    return [Decimal(100) - sum(rest, Decimal(0)), *rest]


def world_create(*, ibs: int, tiers: int, clients: int) -> dict[str, Any]:
    from brokercrm.gate import SYSTEM
    from entities.models import Brand, LegalEntity
    from ib.models import IbAssignment, IbProgramme
    from ib.services import (
        ib_parent_set,
        ib_partner_create,
        rebate_plan_create,
        rebate_plan_publish,
    )
    from platforms.models import TradingAccount, TradingServer

    entity = LegalEntity.objects.create(
        code="BENCH",
        legal_name="Bench Markets Ltd",
        regulator="CySEC",
        licence_number="BENCH-0001",
        jurisdiction="CY",
        base_currency="USD",
        wallet_currencies=["USD"],
    )
    brand = Brand.objects.create(entity=entity, code="bench", name="Bench", domain="bench.test")
    server = TradingServer.objects.create(
        entity=entity, name="Bench", kind="mt5", base_url="http://127.0.0.1:9", server_name="B"
    )
    IbProgramme.objects.create(entity=entity, max_depth=tiers)
    profiles = bench_profiles(entity=entity, brand=brand, count=ibs + clients, label="P")
    plan = rebate_plan_create(actor=SYSTEM, entity=entity, name="Bench", currency="USD")
    rebate_plan_publish(
        actor=SYSTEM,
        plan=plan,
        valid_from=datetime(2020, 1, 1, tzinfo=UTC),
        rates=[
            {"symbols": [], "amount_per_lot": "5"},
            {"symbols": ["XAUUSD"], "amount_per_lot": "12.5"},
        ],
        tier_split=tier_split(tiers),
        per_trade_ceiling="250",
        min_holding_seconds=MIN_HOLDING,
    )
    partners = [
        ib_partner_create(actor=SYSTEM, profile=profile, name=f"IB {n}", plan=plan)
        for n, profile in enumerate(profiles[:ibs])
    ]
    # A ternary tree: deep enough for every tier from a few hundred IBs.
    for n, partner in enumerate(partners[1:], start=1):
        ib_parent_set(actor=SYSTEM, ib=partner, parent=partners[(n - 1) // 3], valid_from=START)
    client_profiles = profiles[ibs:]
    IbAssignment.objects.bulk_create(
        [
            IbAssignment(
                entity=entity,
                profile=profile,
                ib=partners[n % ibs],
                valid_from=datetime(2020, 1, 1, tzinfo=UTC),
                source="manager",
            )
            for n, profile in enumerate(client_profiles)
        ],
        batch_size=5_000,
    )
    TradingAccount.objects.bulk_create(
        [
            TradingAccount(
                entity=entity,
                profile=profile,
                server=server,
                login=100_000 + n,
                account_type="standard",
                group="real\\standard",
                currency="USD",
                status="enabled",
            )
            for n, profile in enumerate(client_profiles)
        ],
        batch_size=5_000,
    )
    return {"entity": entity, "server": server}


# Trade k (1-based) of account k % clients: an opening leg and, held 1 h (or 30 s for every
# 20th trade: a scalp), its closing deal. Volumes 0.01 .. 5.00 lots; every 7th trade is gold.
DEALS_SQL = """
INSERT INTO platforms_deal (entity_id, server_id, ticket, login, account_id, kind, entry,
    symbol, volume, price, profit, commission, swap, comment, time, position, imported_at)
SELECT %(entity)s, %(server)s, 2 * k + leg, 100000 + k %% %(clients)s,
       a.first_id + k %% %(clients)s,
       'buy', CASE WHEN leg = 0 THEN 'in' ELSE 'out' END,
       CASE WHEN k %% 7 = 0 THEN 'XAUUSD' ELSE 'EURUSD' END,
       ((k %% 500) + 1) / 100.0, 1.1, 0, 0, 0, '',
       %(start)s::timestamptz + (k * interval '2 seconds')
         + CASE WHEN leg = 1 THEN CASE WHEN k %% 20 = 0 THEN interval '30 seconds'
                                        ELSE interval '1 hour' END
                ELSE interval '0' END,
       k, now()
FROM generate_series(1, %(trades)s) AS k, (VALUES (0), (1)) AS legs(leg),
     (SELECT MIN(id) AS first_id FROM platforms_tradingaccount) a
"""


def deals_load(*, world: dict[str, Any], trades: int, clients: int) -> None:
    from django.db import connection

    with connection.cursor() as cursor:
        cursor.execute(
            DEALS_SQL,
            {
                "entity": world["entity"].pk,
                "server": world["server"].pk,
                "clients": clients,
                "start": START,
                "trades": trades,
            },
        )
        cursor.execute("ANALYZE platforms_deal")


def naive_sample(sample: int) -> float:
    """The straightforward per-deal loop over `sample` deals; rolled back. Deals per second."""
    from django.db import transaction
    from django.db.models import Q

    from ib.models import (
        CommissionLine,
        IbAssignment,
        IbClosure,
        IbPlanPeriod,
        IbProgramme,
        RebatePlanVersion,
    )
    from platforms.models import Deal

    class Rollback(Exception):
        pass

    deals = list(Deal.objects.unscoped().select_related("account").order_by("id")[:sample])
    started = time.perf_counter()
    try:
        with transaction.atomic():
            for deal in deals:
                if deal.entry != "out" or deal.account is None:
                    continue
                assignment = (
                    IbAssignment.objects.unscoped()
                    .filter(profile_id=deal.account.profile_id, valid_from__lte=deal.time)
                    .filter(Q(valid_to__isnull=True) | Q(valid_to__gt=deal.time))
                    .select_related("ib")
                    .first()
                )
                if assignment is None:
                    continue
                period = (
                    IbPlanPeriod.objects.unscoped()
                    .filter(ib_id=assignment.ib_id, valid_from__lte=deal.time)
                    .filter(Q(valid_to__isnull=True) | Q(valid_to__gt=deal.time))
                    .first()
                )
                if period is None:
                    continue
                version = (
                    RebatePlanVersion.objects.unscoped()
                    .filter(plan_id=period.plan_id, valid_from__lte=deal.time)
                    .filter(Q(valid_to__isnull=True) | Q(valid_to__gt=deal.time))
                    .filter(corrected_by__isnull=True)
                    .first()
                )
                if version is None:
                    continue
                rates = list(version.rates.unscoped().all())
                specific = [r for r in rates if deal.symbol in r.symbols]
                rate = (specific or [r for r in rates if not r.symbols])[0]
                opening = (
                    Deal.objects.unscoped()
                    .filter(server_id=deal.server_id, position=deal.position, entry="in")
                    .order_by("time")
                    .first()
                )
                if opening and (deal.time - opening.time) < timedelta(
                    seconds=version.min_holding_seconds
                ):
                    continue
                depth = (
                    IbProgramme.objects.unscoped()
                    .filter(entity_id=deal.entity_id)
                    .values_list("max_depth", flat=True)
                    .first()
                    or 3
                )
                total = rate.amount_per_lot * deal.volume
                if version.per_trade_ceiling is not None:
                    total = min(total, version.per_trade_ceiling)
                ancestors = (
                    IbClosure.objects.unscoped()
                    .filter(ib_id=assignment.ib_id, valid_from__lte=deal.time)
                    .filter(Q(valid_to__isnull=True) | Q(valid_to__gt=deal.time))
                    .order_by("depth")
                )
                for row in ancestors:
                    if row.depth >= min(depth, len(version.tier_split)):
                        break
                    CommissionLine.objects.unscoped().create(
                        entity_id=deal.entity_id,
                        deal=deal,
                        ib_id=row.ancestor_id,
                        tier=row.depth,
                        kind="commission",
                        deal_time=deal.time,
                        lots=deal.volume,
                        amount=(total * version.tier_split[row.depth] / 100).quantize(
                            Decimal("0.00000001")
                        ),
                        currency=version.plan.currency,
                        plan_version=version,
                        status="computed" if opening else "delayed",
                    )
            elapsed = time.perf_counter() - started
            raise Rollback
    except Rollback:
        pass
    return len(deals) / elapsed


def lines_fingerprint() -> tuple[Any, ...]:
    from django.db import connection

    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT COUNT(*), SUM(amount), SUM(paid_amount), COUNT(*) FILTER (WHERE status='paid'),"
            " (SELECT SUM(balance) FROM wallets_ledgeraccount WHERE kind = 'client_wallet'),"
            " (SELECT COUNT(*) FROM wallets_journalentry)"
            " FROM ib_commissionline"
        )
        return tuple(cursor.fetchone())


def benchmark(args: argparse.Namespace) -> dict[str, Any]:
    import django

    django.setup()
    from django.core.management import call_command

    from ib.services import commission_batch_run
    from wallets.selectors import ledger_imbalance

    started = time.perf_counter()
    call_command("migrate", verbosity=0, interactive=False)
    say(f"migrated in {time.perf_counter() - started:.1f} s")
    clients = max(args.ibs * 20, 1000)
    world = world_create(ibs=args.ibs, tiers=args.tiers, clients=clients)
    say(f"world: {args.ibs} IBs, {clients} clients in {time.perf_counter() - started:.1f} s")
    trades = args.deals // 2
    deals_load(world=world, trades=trades, clients=clients)
    deals = trades * 2
    say(f"loaded {deals:,} deals in {time.perf_counter() - started:.1f} s")
    naive = naive_sample(args.sample)
    say(f"naive: {naive:,.0f} deals/s on {args.sample} deals")
    started = time.perf_counter()
    run = commission_batch_run()
    seconds = time.perf_counter() - started
    say(f"batch: {run.lines_created:,} lines, {run.payouts} payouts in {seconds:.1f} s")
    before = lines_fingerprint()
    rerun = commission_batch_run(full=True)
    after = lines_fingerprint()
    say(f"rerun: {rerun.lines_created} new lines, {rerun.payouts} payouts")
    assert ledger_imbalance() == {}
    return {
        "deals": deals,
        "ibs": args.ibs,
        "tiers": args.tiers,
        "seconds": round(seconds, 2),
        "deals_per_s": round(deals / seconds),
        "lines": run.lines_created,
        "payout_total": str(run.payout_total),
        "rerun_new_lines": rerun.lines_created,
        "rerun_identical": before == after and rerun.payouts == 0,
        "naive_deals_per_s": round(naive),
        "speedup": round(deals / seconds / naive, 1),
    }


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--deals", type=int, default=1_000_000)
    parser.add_argument("--ibs", type=int, default=250)
    parser.add_argument("--tiers", type=int, default=4)
    parser.add_argument("--sample", type=int, default=4_000, help="deals in the naive loop")
    parser.add_argument("--database", default=DEFAULT_DATABASE)
    parser.add_argument("--keep", action="store_true", help="keep the benchmark database")
    args = parser.parse_args()
    base_url = os.environ.get("DATABASE_URL", "")
    if not base_url:
        say("DATABASE_URL is not set: run through `make bench-commissions`")
        return 2
    database_recreate(base_url, args.database)
    os.environ["DATABASE_URL"] = database_url(base_url, args.database)
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "brokercrm.settings")
    try:
        result = benchmark(args)
    finally:
        from django.db import connections

        connections.close_all()
        if not args.keep:
            database_recreate(base_url, args.database, drop_only=True)
    print(json.dumps(result), flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
