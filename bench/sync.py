"""Sync benchmark: one full reconcile of many trading accounts against the simulator.

    make bench-sync ARGS="--accounts 100000"

Starts the trading-server simulator (its own process, state in a temporary folder, no market
ticks and no simulated traders), loads --accounts funded logins into one of its servers
(`/admin/bulk-users`) and the same accounts into the CRM (one client profile with an approved
KYC file per --accounts-per-client accounts), then:

- unchanged pass: a full reconcile while the CRM already matches the server (it must write
  nothing);
- changes about --fraction of the accounts on the server (`/admin/bulk-change`: balance and
  equity, or rights), which the simulator reports login by login;
- full_sync: `platforms.services.trading_server_reconcile`, timed: pages of --page-size
  accounts, compared in memory, only the changed rows written (`bulk_update`), drift check
  included; then every CRM row is compared with the server;
- naive: the CRM rows are put back as they were before the changes, and the same pass is
  timed as the straightforward implementation: the same pages, one `update_or_create` per
  account; its result is compared with the server too.

Prints one JSON line last: accounts, changed, full_sync_s, rows_written, naive_s, speedup,
and the checks (rows_written_ok, mismatches, naive_mismatches, ...). Progress goes to stderr.
The database (brokercrm_bench_sync unless --database) lives on the server of DATABASE_URL,
is dropped and recreated at the start and dropped at the end unless --keep.
"""

from __future__ import annotations

import argparse
import cProfile
import io
import json
import os
import pstats
import re
import sys
import tempfile
import time
from collections.abc import Sequence
from dataclasses import dataclass
from decimal import Decimal
from pathlib import Path
from urllib.parse import urlparse

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "bench"))

from common import bench_profiles, database_recreate, database_url  # noqa: E402 - bench/

DEFAULT_DATABASE = "brokercrm_bench_sync"
ENTITY_CODE = "BENCH"
BALANCE = Decimal("1000.00")
SERVERS = {
    "mt5": ("EU-MT5-Live", "real\\eu\\std-usd"),
    "mt4": ("SC-MT4-Live", "sc-std-usd"),
}


def say(message: str) -> None:
    print(f"[bench-sync] {message}", file=sys.stderr, flush=True)


# --- the world ------------------------------------------------------------------------------------


@dataclass
class World:
    server_id: int
    first_login: int
    accounts: int
    leverage: int
    seconds: float


def world_create(*, sim_url: str, kind: str, accounts: int, per_client: int) -> World:
    """The entity, its server and group mapping, the logins on the simulator and the same
    accounts in the CRM, exactly as the server holds them."""
    from django.utils import timezone

    from brokercrm.httpjson import json_request
    from entities.models import Brand, LegalEntity
    from kyc.models import KycFile
    from platforms.models import GroupMapping, TradingAccount, TradingServer
    from platforms.services import server_connector

    started = time.perf_counter()
    server_name, group = SERVERS[kind]
    loaded = json_request(
        "POST",
        f"{sim_url}/admin/bulk-users",
        body={"server": server_name, "count": accounts, "group": group, "balance": str(BALANCE)},
        timeout=600,
    ).body
    first = int(loaded["first_login"])
    entity = LegalEntity.objects.create(
        code=ENTITY_CODE,
        legal_name="Bench Markets Ltd",
        regulator="CySEC",
        licence_number="BENCH-0001",
        jurisdiction="CY",
        base_currency="USD",
        wallet_currencies=["USD"],
    )
    brand = Brand.objects.create(entity=entity, code="bench", name="Bench", domain="bench.test")
    server = TradingServer.objects.create(
        entity=entity,
        name="Bench server",
        kind=kind,
        base_url=sim_url,
        server_name=server_name,
        timeout_seconds=60,
    )
    GroupMapping.objects.create(
        entity=entity, server=server, account_type="standard", currency="USD", group=group
    )
    leverage = next(g.leverage for g in server_connector(server).groups() if g.name == group)
    clients = -(-accounts // per_client)
    profiles = bench_profiles(entity=entity, brand=brand, count=clients)
    KycFile.objects.bulk_create(
        [
            KycFile(entity=entity, profile=profile, status=KycFile.Status.APPROVED)
            for profile in profiles
        ],
        batch_size=5_000,
    )
    now = timezone.now()
    TradingAccount.objects.bulk_create(
        (
            TradingAccount(
                entity=entity,
                profile=profiles[n // per_client],
                server=server,
                login=first + n,
                account_type="standard",
                group=group,
                currency="USD",
                leverage=leverage,
                status=TradingAccount.Status.ENABLED,
                server_rights="enabled",
                rights_pushed_at=now,
                balance=BALANCE,
                equity=BALANCE,
                free_margin=BALANCE,
                synced_at=now,
            )
            for n in range(accounts)
        ),
        batch_size=5_000,
    )
    return World(server.pk, first, accounts, leverage, time.perf_counter() - started)


def reset_accounts(world: World) -> None:
    """Every CRM row back to what the server held before the changes."""
    from platforms.models import ControlFailure, TradingAccount

    TradingAccount.objects.unscoped().filter(server_id=world.server_id).update(
        server_rights="enabled", balance=BALANCE, equity=BALANCE, free_margin=BALANCE
    )
    ControlFailure.objects.unscoped().all().delete()


# --- the two implementations --------------------------------------------------------------------


def naive_reconcile(world: World, page_size: int) -> int:
    """What a first implementation does: page through the server and update_or_create each
    account with everything the server says."""
    from django.utils import timezone

    from platforms.models import TradingAccount, TradingServer
    from platforms.services import server_connector

    server = TradingServer.objects.unscoped().get(pk=world.server_id)
    platform = server_connector(server)
    cursor: str | None = None
    written = 0
    while True:
        page = platform.accounts_page(cursor, page_size)
        for remote in page.items:
            TradingAccount.objects.unscoped().update_or_create(
                server=server,
                login=remote.login,
                defaults={
                    "group": remote.group,
                    "leverage": remote.leverage,
                    "server_rights": remote.rights,
                    "balance": remote.balance,
                    "credit": remote.credit,
                    "equity": remote.equity,
                    "margin": remote.margin,
                    "free_margin": remote.free_margin,
                    "margin_level": remote.margin_level,
                    "synced_at": timezone.now(),
                },
            )
            written += 1
        if page.next_cursor is None:
            return written
        cursor = page.next_cursor


def mismatches(world: World, page_size: int) -> int:
    """CRM rows that differ from the server's accounts (0 when a pass did its job)."""
    from platforms.models import TradingAccount, TradingServer
    from platforms.services import server_connector
    from platforms.services.sync import ACCOUNT_FIELDS, _remote_row

    server = TradingServer.objects.unscoped().get(pk=world.server_id)
    platform = server_connector(server)
    stored = {
        row[0]: tuple(row[1:])
        for row in TradingAccount.objects.unscoped()
        .filter(server=server)
        .values_list("login", *ACCOUNT_FIELDS)
        .iterator(chunk_size=10_000)
    }
    cursor: str | None = None
    wrong = 0
    while True:
        page = platform.accounts_page(cursor, page_size)
        wrong += sum(stored.get(remote.login) != _remote_row(remote) for remote in page.items)
        if page.next_cursor is None:
            return wrong
        cursor = page.next_cursor


# --- the run --------------------------------------------------------------------------------------


def parse_args(argv: Sequence[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="bench/sync.py", description=__doc__.split("\n")[0])
    parser.add_argument("--accounts", type=int, default=10_000)
    parser.add_argument("--fraction", type=float, default=0.1, help="share changed on the server")
    parser.add_argument("--kind", choices=sorted(SERVERS), default="mt5", help="server flavour")
    parser.add_argument("--page-size", type=int, default=5_000)
    parser.add_argument("--accounts-per-client", type=int, default=10)
    parser.add_argument("--no-naive", action="store_true", help="skip the naive baseline")
    parser.add_argument(
        "--profile", action="store_true", help="cProfile the full reconcile (stderr)"
    )
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--database", default=DEFAULT_DATABASE)
    parser.add_argument("--keep", action="store_true", help="keep the database afterwards")
    args = parser.parse_args(argv)
    if not re.fullmatch(r"[a-z_][a-z0-9_]{0,62}", args.database):
        parser.error("--database must be a plain lower-case PostgreSQL name")
    if not 1 <= args.accounts <= 1_000_000 or not 0 < args.fraction <= 1:
        parser.error("--accounts is from 1 to 1,000,000 and --fraction above 0, at most 1")
    if not 1 <= args.page_size <= 10_000 or args.accounts_per_client < 1:
        parser.error("--page-size is from 1 to 10,000; --accounts-per-client at least 1")
    return args


def main(argv: Sequence[str] | None = None) -> int:
    args = parse_args(argv)
    sys.path.insert(0, str(ROOT))
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "brokercrm.settings")
    os.environ["DEBUG"] = "0"  # DEBUG keeps every query in memory
    base_url = os.environ.get("DATABASE_URL", "")
    if not base_url:
        say("DATABASE_URL is not set: run through `make bench-sync`")
        return 2
    if urlparse(base_url).path.lstrip("/") == args.database:
        say("refusing to use the main database as the benchmark database")
        return 2
    database_recreate(base_url, args.database)
    os.environ["DATABASE_URL"] = database_url(base_url, args.database)
    from brokercrm.simulators import SimulatorProcess

    with tempfile.TemporaryDirectory(prefix="bench-sync-") as folder:
        simulator = SimulatorProcess(
            "platforms.simulator",
            "--state",
            str(Path(folder) / "trading-sim.sqlite3"),
            "--tick-ms",
            "0",
            "--traders",
            "0",
            env={"PYTHONPATH": str(ROOT)},
        ).start()
        try:
            return benchmark(args, simulator.url)
        finally:
            simulator.stop()
            if not args.keep:
                from django.db import connections

                connections.close_all()
                database_recreate(base_url, args.database, drop_only=True)
                say(f"dropped database {args.database}")


def benchmark(args: argparse.Namespace, sim_url: str) -> int:
    import django

    django.setup()
    from django.core.management import call_command

    from brokercrm.httpjson import json_request
    from platforms.services import trading_server_reconcile

    started = time.perf_counter()
    call_command("migrate", verbosity=0, interactive=False)
    say(f"migrated {args.database} in {time.perf_counter() - started:.1f} s")
    world = world_create(
        sim_url=sim_url, kind=args.kind, accounts=args.accounts, per_client=args.accounts_per_client
    )
    say(f"loaded {world.accounts} accounts into the simulator and the CRM in {world.seconds:.1f} s")

    started = time.perf_counter()
    unchanged = trading_server_reconcile(server_id=world.server_id, page_size=args.page_size)
    unchanged_s = time.perf_counter() - started
    say(f"unchanged pass: {unchanged_s:.2f} s, {unchanged.rows_written} rows written")

    changed = json_request(
        "POST",
        f"{sim_url}/admin/bulk-change",
        body={"server": SERVERS[args.kind][0], "fraction": args.fraction, "seed": args.seed},
        timeout=600,
    ).body["count"]
    say(f"changed {changed} accounts on the server")

    profiler = cProfile.Profile() if args.profile else None
    started = time.perf_counter()
    if profiler is not None:
        profiler.enable()
    report = trading_server_reconcile(server_id=world.server_id, page_size=args.page_size)
    full_sync_s = time.perf_counter() - started
    if profiler is not None:
        profiler.disable()
        stats = io.StringIO()
        pstats.Stats(profiler, stream=stats).sort_stats("cumulative").print_stats(30)
        print(stats.getvalue(), file=sys.stderr)
    say(
        f"full reconcile: {full_sync_s:.2f} s, {report.pages} pages, "
        f"{report.rows_written} rows written, {report.drifts} drifts"
    )
    wrong = mismatches(world, args.page_size)
    say(f"after the full reconcile, {wrong} rows differ from the server")

    naive_s = naive_wrong = naive_written = None
    if not args.no_naive:
        reset_accounts(world)
        say(f"reset; before the naive pass {mismatches(world, args.page_size)} rows differ")
        started = time.perf_counter()
        naive_written = naive_reconcile(world, args.page_size)
        naive_s = time.perf_counter() - started
        naive_wrong = mismatches(world, args.page_size)
        say(f"naive pass: {naive_s:.2f} s, {naive_written} rows written, {naive_wrong} differ")

    output = {
        "accounts": args.accounts,
        "changed": changed,
        "full_sync_s": round(full_sync_s, 3),
        "rows_written": report.rows_written,
        "naive_s": round(naive_s, 3) if naive_s is not None else None,
        "speedup": round(naive_s / full_sync_s, 1) if naive_s is not None else None,
        "rows_written_ok": report.rows_written == changed,
        "mismatches": wrong,
        "naive_mismatches": naive_wrong,
        "naive_rows_written": naive_written,
        "unchanged_pass_s": round(unchanged_s, 3),
        "unchanged_rows_written": unchanged.rows_written,
        "drifts_flagged": report.drifts,
        "pages": report.pages,
        "page_size": args.page_size,
        "kind": args.kind,
        "load_s": round(world.seconds, 1),
        "fraction": args.fraction,
        "seed": args.seed,
    }
    print(json.dumps(output), flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
