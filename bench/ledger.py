"""Ledger benchmark: wallet-to-wallet transfers through `wallets.services` under concurrent writers.

    make bench-ledger ARGS="--writers 32 --transfers 20000"

Opens --wallets funded client wallets in one entity (plus one hot wallet and a few thin ones),
then runs, from `--writers` concurrent writers (threads with a database connection each, spread
over --processes spawned worker processes with their own Django setup, so that the writers
really compete for the server and the GIL of one process does not serialise them):

- uniform: `journal_post` transfers between random wallets; a share of the requests is sent
  again with the same idempotency key by a writer in another process, at about the same moment;
- naive: the straightforward ORM version of the same transfer (lock, check, create);
- sql ceiling: the same transfer as one SQL statement per call, without Python logic per
  transfer: a tight psycopg loop from the same writers, and pgbench when it is installed;
- hot: `journal_post` where 80 % of the transfers go to or come from one wallet, and the SQL
  ceiling of that;
- batched: `journal_post_batch`, 1,000 journals of two postings per call;
- an overdraft race: every writer tries to drain a few thin wallets at once.

The service, the naive version and the ceiling take turns over --rounds rounds, so that other
work on the machine weighs on all of them alike. Each run also reports the CPU its writers and
their server processes spent per journal (cpu_per_journal), which says where the time goes.
Then it checks the ledger (`ledger_imbalance`, `ledger_reconcile`, wallets below zero
available, keys posted twice, balances that moved by other than the posted transfers) and
prints one JSON line last:

    writers, transfers, tps_uniform, tps_hot, p99_ms, tps_batched, imbalance, overdrafts,
    double_posts, naive_tps_uniform, speedup, sql_ceiling_tps, ratio_to_ceiling, notes, ...

Progress goes to stderr. The database (brokercrm_bench_ledger unless --database) lives on the
server of DATABASE_URL, is dropped and recreated at the start and dropped at the end unless
--keep; the main database is never touched.
"""

# Random numbers here are seeded test data, not secrets.
# ruff: noqa: S311

from __future__ import annotations

import argparse
import cProfile
import io
import json
import math
import multiprocessing
import os
import pstats
import queue
import random
import re
import shutil
import subprocess
import sys
import tempfile
import threading
import time
from collections import defaultdict
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from decimal import Decimal
from pathlib import Path
from typing import TYPE_CHECKING, Any
from urllib.parse import urlparse

if TYPE_CHECKING:
    from multiprocessing.queues import Queue as ProcessQueue
    from multiprocessing.synchronize import Barrier

    from wallets.models import LedgerAccount

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "bench"))

from common import bench_profiles, database_recreate, database_url  # noqa: E402 - bench/

DEFAULT_DATABASE = "brokercrm_bench_ledger"
ENTITY_CODE = "BENCH"
CURRENCY = "EUR"
# Generous enough that no uniform or hot transfer is ever refused (a refusal is cheaper than
# a posting and would flatter the figures): the largest transfer is 10.00 and a wallet sends
# a few dozen per phase.
WALLET_FUNDING = Decimal("100000.00")
HOT_FUNDING = Decimal("1000000000.00")
THIN_FUNDING = Decimal("100.00")
RACE_AMOUNT = Decimal("10.00")
RACE_ATTEMPTS_PER_WALLET = 40
MAX_CENTS = 1_000
# A writer that does not reach the start line in this time has died: fail, do not hang.
BARRIER_TIMEOUT_S = 600.0
OVERDRAFT_CONSTRAINT = "ledgeraccount_wallet_available_not_negative"
IDEMPOTENCY_CONSTRAINT = "journal_idempotency_key_unique"
# The ceiling stores a request hash of the service's width; computing it is client work the
# ceiling by definition does not do.
CEILING_REQUEST_HASH = "0" * 64

# (idempotency key, source account id, target account id, amount). Plain tuples cross the
# process boundary: classes defined in a spawned __main__ do not unpickle in the parent.
Transfer = tuple[str, int, int, Decimal]

# The transfer as one statement: the journal row (idempotent on its key, as the service's is)
# and both postings, in account-id order so that concurrent statements lock wallets in the
# same order. The ledger's triggers and constraints run exactly as they do for the service.
CEILING_SQL = """
WITH journal AS (
    INSERT INTO wallets_journalentry
        (entity_id, type, idempotency_key, request_hash, reference, actor_label, metadata,
         created_at)
    VALUES (%(entity)s, 'transfer', %(key)s, %(hash)s, '', 'system', '{}', now())
    ON CONFLICT (entity_id, idempotency_key) DO NOTHING
    RETURNING id
)
INSERT INTO wallets_posting (entity_id, journal_id, account_id, amount, currency)
SELECT %(entity)s, journal.id, line.account_id, line.amount, %(currency)s
  FROM journal,
       (VALUES (%(source)s::bigint, %(debit)s::numeric),
               (%(target)s::bigint, %(credit)s::numeric)) AS line (account_id, amount)
 ORDER BY line.account_id
RETURNING journal_id
"""

# The same statement for pgbench: random wallets from the contiguous id range of the uniform
# wallets, keys from a sequence.
PGBENCH_SCRIPT = """\\set src :first + random(0, :count - 1)
\\set dst :first + (:src - :first + random(1, :count - 1)) % :count
\\set cents random(1, {max_cents})
WITH journal AS (
    INSERT INTO wallets_journalentry
        (entity_id, type, idempotency_key, request_hash, reference, actor_label, metadata,
         created_at)
    VALUES (:entity, 'transfer', 'pgbench:' || nextval('bench_ledger_pgbench_key'),
            '{request_hash}', '', 'system', '{{}}', now())
    ON CONFLICT (entity_id, idempotency_key) DO NOTHING
    RETURNING id
)
INSERT INTO wallets_posting (entity_id, journal_id, account_id, amount, currency)
SELECT :entity, journal.id, line.account_id, line.amount, '{currency}'
  FROM journal,
       (VALUES (:src::bigint, -(:cents::numeric / 100)),
               (:dst::bigint, :cents::numeric / 100)) AS line (account_id, amount)
 ORDER BY line.account_id;
"""


def say(message: str) -> None:
    print(f"[bench-ledger] {message}", file=sys.stderr, flush=True)


# --- workloads --------------------------------------------------------------------------------


def cents_amount(rng: random.Random) -> Decimal:
    return Decimal(rng.randint(1, MAX_CENTS)).scaleb(-2)


def uniform_transfers(
    rng: random.Random, *, prefix: str, count: int, wallets: Sequence[int]
) -> list[Transfer]:
    transfers: list[Transfer] = []
    for n in range(count):
        source, target = rng.sample(wallets, 2)
        transfers.append((f"{prefix}:{n}", source, target, cents_amount(rng)))
    return transfers


def hot_transfers(
    rng: random.Random,
    *,
    prefix: str,
    count: int,
    wallets: Sequence[int],
    hot: int,
    hot_share: float,
) -> list[Transfer]:
    """`hot_share` of the transfers go from or to `hot` (half each way, so its balance only
    drifts); the rest are uniform."""
    transfers: list[Transfer] = []
    for n in range(count):
        if rng.random() < hot_share:
            other = rng.choice(wallets)
            source, target = (hot, other) if rng.random() < 0.5 else (other, hot)
        else:
            source, target = rng.sample(wallets, 2)
        transfers.append((f"{prefix}:{n}", source, target, cents_amount(rng)))
    return transfers


def deal(
    transfers: Sequence[Transfer],
    *,
    writers: int,
    duplicate_rate: float,
    rng: random.Random,
) -> tuple[list[list[Transfer]], int]:
    """Split the transfers over the writers; repeat a share of them on another writer (in
    another process when there is one) at the same position in its lane, so that the twin
    often arrives while the first request is still in flight. Returns (lanes, repeats)."""
    lanes = [list(transfers[w::writers]) for w in range(writers)]
    # Writers are dealt to processes round-robin (see worker_layout), so w + 1 lives in the
    # next process whenever there is more than one.
    extra: list[list[tuple[int, Transfer]]] = [[] for _ in range(writers)]
    for w, lane in enumerate(lanes):
        for position, transfer in enumerate(lane):
            if rng.random() < duplicate_rate:
                extra[(w + 1) % writers].append((position, transfer))
    for w, inserts in enumerate(extra):
        for position, transfer in sorted(inserts, key=lambda item: item[0], reverse=True):
            lanes[w].insert(position, transfer)
    return lanes, sum(len(inserts) for inserts in extra)


def batches_of(transfers: Sequence[Transfer], size: int) -> list[list[Transfer]]:
    return [list(transfers[start : start + size]) for start in range(0, len(transfers), size)]


# --- the operations each writer times ---------------------------------------------------------


def naive_transfer_factory(entity_id: int) -> Callable[[Transfer], int]:
    """The straightforward correct ORM transfer, for the baseline: in one transaction, look
    the key up, lock both wallets in id order with select_for_update, check the available
    amount in Python, create the journal with the ORM, then its postings. The posting trigger
    moves the balances, as for the service, so nothing updates them by hand. The ledger's
    statement-level trigger refuses an INSERT that leaves a journal unbalanced, so the two
    postings go in one bulk_create; every other step is one ORM query."""
    import hashlib

    from django.db import IntegrityError, transaction

    from brokercrm.idempotency import IdempotencyKeyReused
    from brokercrm.transactions import with_retries
    from wallets.models import JournalEntry, LedgerAccount, Posting
    from wallets.services import InsufficientFunds

    @with_retries()
    def naive_transfer(transfer: Transfer) -> int:
        key, source_id, target_id, amount = transfer
        request_hash = hashlib.sha256(
            json.dumps(
                {
                    "type": "transfer",
                    "source": source_id,
                    "target": target_id,
                    "amount": str(amount),
                },
                sort_keys=True,
            ).encode()
        ).hexdigest()
        try:
            with transaction.atomic(durable=True):
                existing = (
                    JournalEntry.objects.in_entity(entity_id).filter(idempotency_key=key).first()
                )
                if existing is not None:
                    if existing.request_hash != request_hash:
                        raise IdempotencyKeyReused()
                    return existing.pk
                locked = {
                    account.pk: account
                    for account in LedgerAccount.objects.unscoped()
                    .select_for_update()
                    .filter(pk__in=[source_id, target_id])
                    .order_by("pk")
                }
                source = locked[source_id]
                if source.balance - source.held < amount:
                    raise InsufficientFunds()
                journal = JournalEntry.objects.create(
                    entity_id=entity_id,
                    type=JournalEntry.Type.TRANSFER,
                    idempotency_key=key,
                    request_hash=request_hash,
                    actor_label="system",
                )
                Posting.objects.bulk_create(
                    sorted(
                        [
                            Posting(
                                entity_id=entity_id,
                                journal=journal,
                                account=source,
                                amount=-amount,
                                currency=source.currency,
                            ),
                            Posting(
                                entity_id=entity_id,
                                journal=journal,
                                account=locked[target_id],
                                amount=amount,
                                currency=source.currency,
                            ),
                        ],
                        key=lambda posting: posting.account_id,
                    )
                )
                return journal.pk
        except IntegrityError as exc:
            # A twin with the same key committed first: answer with its journal.
            constraint = getattr(getattr(exc.__cause__, "diag", None), "constraint_name", "")
            if constraint != IDEMPOTENCY_CONSTRAINT:
                raise
            existing = JournalEntry.objects.in_entity(entity_id).get(idempotency_key=key)
            if existing.request_hash != request_hash:
                raise IdempotencyKeyReused() from exc
            return existing.pk

    return naive_transfer


@dataclass
class LaneContext:
    entity_id: int
    accounts: dict[int, LedgerAccount]
    barrier: Barrier


def lane_run(phase: str, items: list[Any], context: LaneContext, profile: bool) -> dict[str, Any]:
    """Run one writer's share of a phase on this thread's own connection; time each call."""
    import psycopg
    from django.db import connection

    from wallets.services import (
        InsufficientFunds,
        JournalSpec,
        Line,
        journal_post,
        journal_post_batch,
    )

    accounts = context.accounts
    entity_id = context.entity_id
    # Connect before the start line: connecting is not what is measured.
    connection.ensure_connection()
    answers: list[tuple[str, int | None]] = []
    refused: list[str] = []
    errors: list[str] = []
    latencies: list[float] = []

    def spec_for(transfer: Transfer) -> JournalSpec:
        key, source, target, amount = transfer
        return JournalSpec(
            type="transfer",
            idempotency_key=key,
            lines=[Line(accounts[source], -amount), Line(accounts[target], amount)],
        )

    def service(transfer: Transfer) -> None:
        journal = journal_post(actor=None, entity=entity_id, spec=spec_for(transfer))
        answers.append((transfer[0], journal.pk))

    naive_transfer = naive_transfer_factory(entity_id)

    def naive(transfer: Transfer) -> None:
        answers.append((transfer[0], naive_transfer(transfer)))

    def batched(batch: list[Transfer]) -> None:
        journals = journal_post_batch(
            actor=None, entity=entity_id, specs=[spec_for(transfer) for transfer in batch]
        )
        answers.extend((journal.idempotency_key, journal.pk) for journal in journals)

    # The ceiling talks to the server through the same connection but with psycopg's own
    # server-side-binding cursor (Django's binds on the client), and with prepared statements
    # switched on for the run (Django switches them off for the sake of connection poolers):
    # the best a client can do.
    raw = connection.connection
    prepare_threshold = raw.prepare_threshold
    raw_cursor = None
    if phase == "sql":
        raw.prepare_threshold = 0
        raw_cursor = psycopg.Cursor(raw)

    def sql(transfer: Transfer) -> None:
        assert raw_cursor is not None
        key, source, target, amount = transfer
        raw_cursor.execute(
            CEILING_SQL,
            {
                "entity": entity_id,
                "key": key,
                "hash": CEILING_REQUEST_HASH,
                "currency": CURRENCY,
                "source": source,
                "debit": -amount,
                "target": target,
                "credit": amount,
            },
        )
        row = raw_cursor.fetchone()
        # No row: the key was already posted (by a twin); the statement did nothing.
        answers.append((key, row[0] if row else None))

    operation: Callable[[Any], None] = {
        "service": service,
        "naive": naive,
        "batch": batched,
        "sql": sql,
    }[phase]

    def keys_of(item: Any) -> list[str]:
        return [transfer[0] for transfer in item] if phase == "batch" else [item[0]]

    profiler = cProfile.Profile() if profile else None
    backend_pid = raw.info.backend_pid
    context.barrier.wait(timeout=BARRIER_TIMEOUT_S)
    if profiler is not None:
        profiler.enable()
    started = time.monotonic()
    client_cpu, server_cpu = time.thread_time(), backend_cpu_seconds(backend_pid)
    for item in items:
        before = time.perf_counter()
        try:
            operation(item)
        except InsufficientFunds:
            refused.extend(keys_of(item))
        except psycopg.errors.CheckViolation as exc:
            if exc.diag.constraint_name != OVERDRAFT_CONSTRAINT:
                errors.append(f"{type(exc).__name__}: {exc}")
            refused.extend(keys_of(item))
        except Exception as exc:  # reported, not fatal: the checks below count the damage
            errors.append(f"{type(exc).__name__}: {exc}")
        latencies.append(time.perf_counter() - before)
    finished = time.monotonic()
    client_cpu = time.thread_time() - client_cpu
    server_after = backend_cpu_seconds(backend_pid)
    server_cpu = None if server_cpu is None or server_after is None else server_after - server_cpu
    if raw_cursor is not None:
        raw_cursor.close()
        raw.prepare_threshold = prepare_threshold
    if profiler is not None:
        profiler.disable()
        out = io.StringIO()
        stats = pstats.Stats(profiler, stream=out)
        stats.sort_stats("tottime").print_stats(25)
        stats.sort_stats("cumulative").print_stats(40)
        say(f"profile of one writer, phase {phase}, {len(items)} calls:\n{out.getvalue()}")
    return {
        "items": len(items),
        "started": started,
        "finished": finished,
        "latencies": latencies,
        "answers": answers,
        "refused": refused,
        "errors": errors,
        "client_cpu": client_cpu,
        "server_cpu": server_cpu,
    }


def backend_cpu_seconds(pid: int) -> float | None:
    """CPU time used so far by the server process behind one connection, from /proc (None
    when the server is on another machine): what a transfer costs the server, whatever else
    runs on the machine."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return None
    # Fields after the command name: state is field 3, utime 14, stime 15.
    fields = stat.rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def lane_thread(
    inbox: queue.Queue[tuple[str, list[Any], bool] | None],
    outbox: queue.Queue[dict[str, Any]],
    context: LaneContext,
) -> None:
    from django.db import connections

    try:
        while (command := inbox.get()) is not None:
            phase, items, profile = command
            try:
                outbox.put(lane_run(phase, items, context, profile))
            except Exception as exc:  # the parent stops the run on a lane that failed
                # A lane that fails before the start line would leave every other writer
                # and the parent waiting there: break the barrier so that they all give up.
                context.barrier.abort()
                outbox.put({"fatal": f"{type(exc).__name__}: {exc}"})
    finally:
        connections.close_all()


def get_or_exit(source: Any) -> Any:
    """The next item of a queue; exit this process if the parent has died meanwhile (a
    killed benchmark must not leave workers holding connections)."""
    parent = multiprocessing.parent_process()
    while True:
        try:
            return source.get(timeout=2)
        except queue.Empty:
            if parent is not None and not parent.is_alive():
                os._exit(1)


def worker_process(
    slot: int,
    lanes: int,
    entity_id: int,
    url: str,
    commands: ProcessQueue[Any],
    results: ProcessQueue[Any],
    barrier: Barrier,
) -> None:
    """One worker process: its own Django, `lanes` writer threads with a connection each."""
    sys.path.insert(0, str(ROOT))
    # Said again rather than trusted to the inherited environment: this process must never
    # reach the main database.
    os.environ["DATABASE_URL"] = url
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "brokercrm.settings")
    import django

    django.setup()
    from django.db import connection

    from wallets.models import LedgerAccount

    # The services read only pk, entity_id, currency and kind from these objects; balances
    # are the database's business.
    accounts = {account.pk: account for account in LedgerAccount.objects.in_entity(entity_id).all()}
    connection.close()
    context = LaneContext(entity_id=entity_id, accounts=accounts, barrier=barrier)
    inboxes: list[queue.Queue[tuple[str, list[Any], bool] | None]] = [
        queue.Queue() for _ in range(lanes)
    ]
    outbox: queue.Queue[dict[str, Any]] = queue.Queue()
    threads = [
        threading.Thread(target=lane_thread, args=(inbox, outbox, context), daemon=True)
        for inbox in inboxes
    ]
    for thread in threads:
        thread.start()
    results.put(("ready", slot, None))
    while (command := get_or_exit(commands)) is not None:
        phase, lane_items, profile_first = command
        for index, (inbox, items) in enumerate(zip(inboxes, lane_items, strict=True)):
            inbox.put((phase, items, profile_first and index == 0))
        results.put(("done", slot, [get_or_exit(outbox) for _ in inboxes]))
    for inbox in inboxes:
        inbox.put(None)
    for thread in threads:
        thread.join()


# --- the parent's side of the pool -------------------------------------------------------------


@dataclass
class PhaseOutcome:
    name: str
    requests: int
    elapsed: float
    latencies: list[float]
    posted: dict[str, int]  # idempotency key -> journal id
    conflicting_answers: int  # keys answered with two different journals
    refused: set[str]
    errors: list[str]
    client_cpu: float  # seconds, summed over the writer threads
    server_cpu: float | None  # seconds, summed over their server processes

    @property
    def tps(self) -> float:
        return len(self.posted) / self.elapsed if self.elapsed else 0.0

    def merge(self, other: PhaseOutcome) -> PhaseOutcome:
        """This phase and another round of it, as if they had been one run."""
        posted = {**self.posted, **other.posted}
        return PhaseOutcome(
            name=self.name,
            requests=self.requests + other.requests,
            elapsed=self.elapsed + other.elapsed,
            latencies=self.latencies + other.latencies,
            posted=posted,
            conflicting_answers=self.conflicting_answers + other.conflicting_answers,
            refused=(self.refused | other.refused) - posted.keys(),
            errors=self.errors + other.errors,
            client_cpu=self.client_cpu + other.client_cpu,
            server_cpu=(
                None
                if self.server_cpu is None or other.server_cpu is None
                else self.server_cpu + other.server_cpu
            ),
        )

    def cpu_per_posted(self) -> dict[str, float | None]:
        """Microseconds of CPU per posted journal, in the writers and in their server
        processes: unlike tps, hardly moved by whatever else shares the machine."""
        count = max(1, len(self.posted))
        return {
            "client_us": round(self.client_cpu / count * 1e6),
            "server_us": None if self.server_cpu is None else round(self.server_cpu / count * 1e6),
        }


@dataclass
class Pool:
    processes: list[multiprocessing.process.BaseProcess]
    commands: list[ProcessQueue[Any]]
    results: ProcessQueue[Any]
    barrier: Barrier
    layout: list[list[int]]  # writer indices of each process
    writers: int

    def run(
        self, operation: str, name: str, lanes: list[list[Any]], *, profile: bool = False
    ) -> PhaseOutcome:
        """Every writer runs `operation` ("service", "naive", "sql", "batch") over its lane."""
        assert len(lanes) == self.writers
        for slot, writer_ids in enumerate(self.layout):
            self.commands[slot].put(
                (operation, [lanes[w] for w in writer_ids], profile and slot == 0)
            )
        # The parent is one of the barrier's parties, so no writer starts before every writer
        # is connected and ready.
        self.barrier.wait(timeout=BARRIER_TIMEOUT_S)
        lane_results: list[dict[str, Any]] = []
        for _ in self.layout:
            kind, slot, payload = self.results.get(timeout=86_400)
            assert kind == "done", (kind, slot)
            lane_results.extend(payload)
        fatal = [result["fatal"] for result in lane_results if "fatal" in result]
        if fatal:
            raise RuntimeError(f"phase {name}: a writer failed: {fatal[0]}")
        active = [result for result in lane_results if result["items"]]
        elapsed = max(r["finished"] for r in active) - min(r["started"] for r in active)
        answered: dict[str, set[int]] = defaultdict(set)
        for result in active:
            for key, journal_id in result["answers"]:
                if journal_id is not None:
                    answered[key].add(journal_id)
        return PhaseOutcome(
            name=name,
            requests=sum(len(r["latencies"]) for r in active),
            elapsed=elapsed,
            latencies=[latency for r in active for latency in r["latencies"]],
            posted={key: min(ids) for key, ids in answered.items()},
            conflicting_answers=sum(1 for ids in answered.values() if len(ids) > 1),
            refused={key for r in active for key in r["refused"]} - answered.keys(),
            errors=[error for r in active for error in r["errors"]],
            client_cpu=sum(r["client_cpu"] for r in active),
            server_cpu=(
                None
                if any(r["server_cpu"] is None for r in active)
                else sum(r["server_cpu"] for r in active)
            ),
        )

    def close(self) -> None:
        for command_queue in self.commands:
            command_queue.put(None)
        for process in self.processes:
            process.join(timeout=60)
            if process.is_alive():
                process.terminate()


def worker_layout(writers: int, processes: int) -> list[list[int]]:
    """Writers dealt round-robin to processes: writer w and w + 1 never share a process when
    there are two or more, which is where `deal` puts a repeated request."""
    return [list(range(slot, writers, processes)) for slot in range(processes)]


def pool_start(*, writers: int, processes: int, entity_id: int) -> Pool:
    context = multiprocessing.get_context("spawn")
    layout = worker_layout(writers, processes)
    barrier = context.Barrier(writers + 1)
    results: ProcessQueue[Any] = context.Queue()
    commands: list[ProcessQueue[Any]] = [context.Queue() for _ in layout]
    workers = [
        context.Process(
            target=worker_process,
            args=(
                slot,
                len(writer_ids),
                entity_id,
                os.environ["DATABASE_URL"],
                commands[slot],
                results,
                barrier,
            ),
            daemon=True,
        )
        for slot, writer_ids in enumerate(layout)
    ]
    for process in workers:
        process.start()
    for _ in workers:
        kind, _slot, _ = results.get(timeout=BARRIER_TIMEOUT_S)
        assert kind == "ready"
    return Pool(workers, commands, results, barrier, layout, writers)


# --- the benchmark database ---------------------------------------------------------------------


@dataclass
class World:
    entity_id: int
    wallets: list[int]  # the uniform wallets, contiguous ids
    hot: int
    thin: list[int]
    clearing: int
    funding_journals: int = 0
    seconds: float = 0.0
    extra: dict[str, Any] = field(default_factory=dict)


def world_create(*, wallets: int, thin: int) -> World:
    """One entity, one brand, a person and a client profile per wallet, the wallets (opened by
    `wallet_open`) and their deposits from PSP clearing (posted by `journal_post_batch`)."""
    from entities.models import Brand, LegalEntity
    from wallets.models import LedgerAccount
    from wallets.services import (
        JournalSpec,
        Line,
        journal_post_batch,
        system_account,
        wallet_open,
    )

    started = time.perf_counter()
    entity = LegalEntity.objects.create(
        code=ENTITY_CODE,
        legal_name="Bench Markets Ltd",
        regulator="CySEC",
        licence_number="BENCH-0001",
        jurisdiction="CY",
        base_currency=CURRENCY,
        wallet_currencies=[CURRENCY],
    )
    brand = Brand.objects.create(
        entity=entity, code="bench", name="Bench", domain="bench.example.com"
    )
    # Before the wallets, so that the uniform wallets' ids are one contiguous range (pgbench
    # draws them as first + random offset).
    clearing = system_account(
        entity=entity, kind=LedgerAccount.Kind.PSP_CLEARING, currency=CURRENCY
    )
    total = wallets + 1 + thin
    profiles = bench_profiles(entity=entity, brand=brand, count=total)
    opened = [wallet_open(profile=profile, currency=CURRENCY) for profile in profiles]
    uniform, hot, thin_wallets = opened[:wallets], opened[wallets], opened[wallets + 1 :]
    ids = [wallet.pk for wallet in uniform]
    if ids != list(range(ids[0], ids[0] + len(ids))):
        raise RuntimeError("the uniform wallets' ids are not contiguous; pgbench needs them so")
    deposits = (
        [(wallet, WALLET_FUNDING) for wallet in uniform]
        + [(hot, HOT_FUNDING)]
        + [(wallet, THIN_FUNDING) for wallet in thin_wallets]
    )
    journals = 0
    for start in range(0, len(deposits), 1_000):
        chunk = deposits[start : start + 1_000]
        journals += len(
            journal_post_batch(
                actor=None,
                entity=entity,
                specs=[
                    JournalSpec(
                        type="deposit",
                        idempotency_key=f"deposit:{wallet.pk}",
                        lines=[Line(clearing, -amount), Line(wallet, amount)],
                    )
                    for wallet, amount in chunk
                ],
            )
        )
    return World(
        entity_id=entity.pk,
        wallets=ids,
        hot=hot.pk,
        thin=[wallet.pk for wallet in thin_wallets],
        clearing=clearing.pk,
        funding_journals=journals,
        seconds=time.perf_counter() - started,
    )


def balances(entity_id: int) -> dict[int, Decimal]:
    from wallets.models import LedgerAccount

    return dict(
        LedgerAccount.objects.in_entity(entity_id).values_list("pk", "balance").order_by("pk")
    )


def balance_mismatches(
    before: dict[int, Decimal],
    after: dict[int, Decimal],
    transfers: Sequence[Transfer],
    posted: dict[str, int],
) -> int:
    """Accounts whose balance moved by other than the sum of the transfers that were posted
    once each: a repeated request that moved money twice shows up here."""
    expected: dict[int, Decimal] = defaultdict(Decimal)
    for key, source, target, amount in transfers:
        if key in posted:
            expected[source] -= amount
            expected[target] += amount
    return sum(
        1 for pk, balance in after.items() if balance - before.get(pk, Decimal(0)) != expected[pk]
    )


def ledger_checks(entity_id: int) -> dict[str, Any]:
    from django.db import connection

    from wallets.models import LedgerAccount
    from wallets.selectors import ledger_imbalance, ledger_reconcile, trial_balance

    unbalanced = ledger_imbalance()
    with connection.cursor() as cursor:
        # Not possible while the unique index holds; counted, not assumed.
        cursor.execute(
            "SELECT count(*) FROM (SELECT 1 FROM wallets_journalentry"
            " GROUP BY entity_id, idempotency_key HAVING count(*) > 1) AS twice"
        )
        (keys_with_two_journals,) = cursor.fetchone()
        # Every journal of this benchmark has exactly two postings; more would be a journal
        # posted twice into itself.
        cursor.execute(
            "SELECT count(*) FROM (SELECT 1 FROM wallets_posting"
            " GROUP BY journal_id HAVING count(*) <> 2) AS odd"
        )
        (journals_with_odd_postings,) = cursor.fetchone()
    overdrafts = (
        LedgerAccount.objects.in_entity(entity_id)
        .filter(kind=LedgerAccount.Kind.CLIENT_WALLET)
        .extra(where=["balance - held < 0"])
        .count()
    )
    return {
        "imbalance": len(unbalanced),
        "imbalance_total": str(sum((abs(total) for total in unbalanced.values()), Decimal(0))),
        "reconcile": len(ledger_reconcile()),
        "overdrafts": overdrafts,
        "keys_with_two_journals": keys_with_two_journals,
        "journals_with_odd_postings": journals_with_odd_postings,
        "trial_balance_net": {
            currency: str(kinds["net"])
            for currency, kinds in trial_balance(entity=entity_id).items()
        },
    }


# --- pgbench ------------------------------------------------------------------------------------


def pgbench_binary() -> str | None:
    """The pgbench of the embedded server's own PostgreSQL when there is one, else the PATH's."""
    try:
        import pgserver

        bundled = Path(pgserver.__file__).resolve().parent / "pginstall" / "bin" / "pgbench"
        if bundled.exists():
            return str(bundled)
    except ImportError:
        pass
    return shutil.which("pgbench")


def pgbench_run(
    *, binary: str, url: str, writers: int, transfers: int, world: World
) -> dict[str, Any]:
    from django.db import connection

    with connection.cursor() as cursor:
        cursor.execute("CREATE SEQUENCE IF NOT EXISTS bench_ledger_pgbench_key")
    per_client = max(1, math.ceil(transfers / writers))
    with tempfile.TemporaryDirectory(prefix="bench-ledger-") as workdir:
        script = Path(workdir) / "transfer.sql"
        script.write_text(
            PGBENCH_SCRIPT.format(
                max_cents=MAX_CENTS, request_hash=CEILING_REQUEST_HASH, currency=CURRENCY
            )
        )
        command = [
            binary,
            "--no-vacuum",
            "--protocol=prepared",
            f"--client={writers}",
            f"--jobs={min(writers, os.cpu_count() or 1)}",
            f"--transactions={per_client}",
            f"--define=first={world.wallets[0]}",
            f"--define=count={len(world.wallets)}",
            f"--define=entity={world.entity_id}",
            f"--file={script}",
            url,
        ]
        completed = subprocess.run(  # noqa: S603 - our own arguments, no shell
            command, capture_output=True, text=True, timeout=3_600, check=False
        )
    tps = re.search(r"^tps = ([\d.]+)", completed.stdout, re.MULTILINE)
    processed = re.search(r"actually processed: (\d+)", completed.stdout)
    latency = re.search(r"latency average = ([\d.]+) ms", completed.stdout)
    if completed.returncode != 0 or tps is None:
        say(f"pgbench failed ({completed.returncode}): {completed.stderr.strip()[-2000:]}")
    return {
        "tps": float(tps.group(1)) if tps else None,
        "transactions": int(processed.group(1)) if processed else None,
        "latency_avg_ms": float(latency.group(1)) if latency else None,
        "returncode": completed.returncode,
        "binary": binary,
    }


def pgbench_summary(rounds: Sequence[dict[str, Any]]) -> dict[str, Any] | None:
    """Several pgbench rounds as one: transactions over their summed run time."""
    done = [r for r in rounds if r["tps"] and r["transactions"]]
    if not done:
        return rounds[-1] if rounds else None
    transactions = sum(r["transactions"] for r in done)
    seconds = sum(r["transactions"] / r["tps"] for r in done)
    return {
        "tps": round(transactions / seconds, 1),
        "transactions": transactions,
        "rounds": len(rounds),
        "failed_rounds": len(rounds) - len(done),
        "latency_avg_ms": round(
            sum(r["latency_avg_ms"] * r["transactions"] for r in done) / transactions, 3
        ),
        "binary": done[0]["binary"],
    }


# --- main -----------------------------------------------------------------------------------------


def percentile(values: Sequence[float], q: float) -> float:
    """Nearest-rank percentile."""
    ordered = sorted(values)
    if not ordered:
        return 0.0
    return ordered[min(len(ordered) - 1, max(0, math.ceil(q * len(ordered)) - 1))]


def parse_args(argv: Sequence[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="bench/ledger.py", description=__doc__.split("\n")[0])
    parser.add_argument("--writers", type=int, default=8, help="concurrent writers (connections)")
    parser.add_argument("--transfers", type=int, default=2_000, help="transfers per timed run")
    parser.add_argument(
        "--processes",
        type=int,
        default=0,
        help="worker processes the writers are spread over, as threads (default: two per core)",
    )
    parser.add_argument(
        "--rounds",
        type=int,
        default=3,
        help="the service, naive and ceiling runs take turns this many times",
    )
    parser.add_argument("--wallets", type=int, default=1_000, help="funded uniform wallets")
    parser.add_argument("--hot-share", type=float, default=0.8)
    parser.add_argument(
        "--duplicate-rate",
        type=float,
        default=0.05,
        help="share of requests sent again with the same key from another writer",
    )
    parser.add_argument(
        "--naive-transfers", type=int, default=0, help="naive baseline transfers (default: same)"
    )
    parser.add_argument("--batch-size", type=int, default=1_000, help="journals per batch call")
    parser.add_argument(
        "--batch-journals", type=int, default=0, help="journals through batches (default: same)"
    )
    parser.add_argument("--batch-writers", type=int, default=2)
    parser.add_argument("--thin-wallets", type=int, default=10, help="wallets the race drains")
    parser.add_argument("--warmup", type=int, default=20, help="untimed calls per writer")
    parser.add_argument("--no-pgbench", action="store_true", help="skip the pgbench ceiling")
    parser.add_argument(
        "--profile", action="store_true", help="cProfile one writer of the uniform run (stderr)"
    )
    parser.add_argument("--seed", type=int, default=20_261_124)
    parser.add_argument("--database", default=DEFAULT_DATABASE)
    parser.add_argument("--keep", action="store_true", help="keep the database afterwards")
    args = parser.parse_args(argv)
    if not re.fullmatch(r"[a-z_][a-z0-9_]{0,62}", args.database):
        parser.error("--database must be a plain lower-case PostgreSQL name")
    if args.writers < 1 or args.transfers < args.writers or args.wallets < 2:
        parser.error("give at least one writer, one transfer per writer and two wallets")
    if not 0 <= args.hot_share <= 1 or not 0 <= args.duplicate_rate <= 1:
        parser.error("--hot-share and --duplicate-rate are fractions")
    # Two processes per core: each writer is a thread with its own connection, and a thread
    # waiting on the database releases the GIL. One process per writer measured far lower
    # (32 processes on 2 cores: about a third of the 4-process figure), the CPU going to
    # context switches between 64 client and server processes, which is not what a
    # deployment of a few multi-threaded web workers pays.
    args.processes = min(args.processes or 2 * (os.cpu_count() or 1), args.writers)
    if args.rounds < 1 or args.transfers < args.rounds * args.writers:
        parser.error("give at least one round and one transfer per writer and round")
    args.naive_transfers = args.naive_transfers or args.transfers
    args.batch_journals = args.batch_journals or args.transfers
    args.batch_writers = max(1, min(args.batch_writers, args.writers))
    return args


def main(argv: Sequence[str] | None = None) -> int:
    args = parse_args(argv)
    sys.path.insert(0, str(ROOT))
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "brokercrm.settings")
    # DEBUG makes Django keep every query of every connection: not what production runs.
    os.environ["DEBUG"] = "0"
    base_url = os.environ.get("DATABASE_URL", "")
    if not base_url:
        say("DATABASE_URL is not set: run through `make bench-ledger`")
        return 2
    if urlparse(base_url).path.lstrip("/") == args.database:
        say("refusing to use the main database as the benchmark database")
        return 2
    database_recreate(base_url, args.database)
    # Before django.setup(): settings read DATABASE_URL once. Spawned workers inherit it.
    os.environ["DATABASE_URL"] = database_url(base_url, args.database)
    try:
        return benchmark(args)
    finally:
        if not args.keep:
            from django.db import connections

            connections.close_all()
            database_recreate(base_url, args.database, drop_only=True)
            say(f"dropped database {args.database}")


def benchmark(args: argparse.Namespace) -> int:
    import django

    django.setup()
    from django.core.management import call_command
    from django.db import connection

    load_before = os.getloadavg()
    started = time.perf_counter()
    call_command("migrate", verbosity=0, interactive=False)
    say(f"migrated {args.database} in {time.perf_counter() - started:.1f} s")
    world = world_create(wallets=args.wallets, thin=args.thin_wallets)
    say(
        f"opened and funded {len(world.wallets)} wallets (+1 hot, +{len(world.thin)} thin) "
        f"in {world.seconds:.1f} s"
    )
    connection.close()  # idle during the runs; reopened for the checks between them

    rng = random.Random(args.seed)
    started = time.perf_counter()
    pool = pool_start(writers=args.writers, processes=args.processes, entity_id=world.entity_id)
    say(
        f"{args.processes} worker processes with {args.writers} writers ready in "
        f"{time.perf_counter() - started:.1f} s"
    )
    phases: dict[str, PhaseOutcome] = {}
    mismatches: dict[str, int] = defaultdict(int)
    repeats: dict[str, int] = defaultdict(int)
    pgbench_rounds: list[dict[str, Any]] = []
    binary = None if args.no_pgbench else pgbench_binary()

    def lanes_for(
        transfers: list[Transfer], duplicate_rate: float
    ) -> tuple[list[list[Transfer]], int]:
        return deal(transfers, writers=args.writers, duplicate_rate=duplicate_rate, rng=rng)

    def timed(
        operation: str,
        name: str,
        transfers: list[Transfer],
        *,
        duplicates: bool = True,
        profile: bool = False,
    ) -> PhaseOutcome:
        """One timed run; a phase run in several rounds adds up (posted, wall time, ...)."""
        lanes, repeated = lanes_for(transfers, args.duplicate_rate if duplicates else 0.0)
        repeats[name] += repeated
        before = balances(world.entity_id)
        connection.close()
        outcome = pool.run(operation, name, lanes, profile=profile)
        moved = balance_mismatches(before, balances(world.entity_id), transfers, outcome.posted)
        connection.close()
        mismatches[name] += moved
        say(
            f"{name}: {len(outcome.posted):,} posted (+{repeated:,} repeats) in "
            f"{outcome.elapsed:.2f} s = {outcome.tps:,.0f}/s, "
            f"p99 {percentile(outcome.latencies, 0.99) * 1000:.1f} ms, "
            f"refused {len(outcome.refused)}, errors {len(outcome.errors)}, "
            f"balance mismatches {moved}"
        )
        for error in outcome.errors[:3]:
            say(f"  error: {error}")
        phases[name] = phases[name].merge(outcome) if name in phases else outcome
        return outcome

    def shares(total: int) -> list[int]:
        return [
            total // args.rounds + (1 if r < total % args.rounds else 0) for r in range(args.rounds)
        ]

    try:
        # Warm-up: connections, Django's query compilation, psycopg's prepared statements.
        warm = args.warmup * args.writers
        for operation in ("service", "naive", "sql"):
            pool.run(
                operation,
                f"warmup {operation}",
                lanes_for(
                    uniform_transfers(
                        rng, prefix=f"warmup-{operation}", count=warm, wallets=world.wallets
                    ),
                    0.0,
                )[0],
            )
        say(f"warmed up with {warm} transfers of each kind")

        # The service, its naive baseline and the SQL ceiling take turns, round after round,
        # so that other work on the machine weighs on all three alike.
        for index, (count, naive_count) in enumerate(
            zip(shares(args.transfers), shares(args.naive_transfers), strict=True)
        ):
            say(f"round {index + 1}/{args.rounds}: uniform")
            timed(
                "service",
                "uniform",
                uniform_transfers(
                    rng, prefix=f"uniform-{index}", count=count, wallets=world.wallets
                ),
                profile=args.profile and index == 0,
            )
            timed(
                "naive",
                "naive",
                uniform_transfers(
                    rng, prefix=f"naive-{index}", count=naive_count, wallets=world.wallets
                ),
            )
            timed(
                "sql",
                "sql_ceiling",
                uniform_transfers(rng, prefix=f"sql-{index}", count=count, wallets=world.wallets),
            )
            if binary:
                pgbench_rounds.append(
                    pgbench_run(
                        binary=binary,
                        url=os.environ["DATABASE_URL"],
                        writers=args.writers,
                        transfers=count,
                        world=world,
                    )
                )
                say(f"pgbench: {pgbench_rounds[-1]}")
            connection.close()

        for index, count in enumerate(shares(args.transfers)):
            say(f"round {index + 1}/{args.rounds}: hot")
            for operation, name in (("service", "hot"), ("sql", "sql_ceiling_hot")):
                timed(
                    operation,
                    name,
                    hot_transfers(
                        rng,
                        prefix=f"{name}-{index}",
                        count=count,
                        wallets=world.wallets,
                        hot=world.hot,
                        hot_share=args.hot_share,
                    ),
                )

        # Batched: a few writers, each posting whole batches; the batches are dealt to the
        # first writers and the others stand by.
        batch_transfers = uniform_transfers(
            rng, prefix="batch", count=args.batch_journals, wallets=world.wallets
        )
        batch_lanes: list[list[Any]] = [[] for _ in range(args.writers)]
        for index, batch in enumerate(batches_of(batch_transfers, args.batch_size)):
            batch_lanes[index % args.batch_writers].append(batch)
        before = balances(world.entity_id)
        connection.close()
        say(
            f"batch: {len(batch_transfers):,} journals in batches of {args.batch_size} "
            f"from {args.batch_writers} writers"
        )
        batched = pool.run("batch", "batch", batch_lanes)
        mismatches["batch"] = balance_mismatches(
            before, balances(world.entity_id), batch_transfers, batched.posted
        )
        phases["batch"] = batched
        batched_postings_per_s = 2 * len(batched.posted) / batched.elapsed
        say(
            f"batch: {len(batched.posted):,} journals in {batched.elapsed:.2f} s = "
            f"{batched_postings_per_s:,.0f} postings/s, errors {len(batched.errors)}"
        )

        # The overdraft race: every writer at once tries to take RACE_AMOUNT from the thin
        # wallets; exactly funding / amount transfers per wallet may succeed.
        race_transfers = [
            (f"race:{wallet}:{n}", wallet, rng.choice(world.wallets), RACE_AMOUNT)
            for wallet in world.thin
            for n in range(RACE_ATTEMPTS_PER_WALLET)
        ]
        rng.shuffle(race_transfers)
        race = timed("service", "race", race_transfers, duplicates=False)
        thin_left = balances(world.entity_id)
        connection.close()
        race_report = {
            "attempts": len(race_transfers),
            "posted": len(race.posted),
            "expected_posted": len(world.thin) * int(THIN_FUNDING / RACE_AMOUNT),
            "refused": len(race.refused),
            "errors": len(race.errors),
            "thin_balances_left": str(sum((thin_left[pk] for pk in world.thin), Decimal(0))),
        }
        say(f"overdraft race: {race_report}")
    finally:
        pool.close()

    load_after = os.getloadavg()
    say("checking the ledger")
    checks = ledger_checks(world.entity_id)
    uniform, naive, ceiling, hot = (
        phases[name] for name in ("uniform", "naive", "sql_ceiling", "hot")
    )
    conflicting = sum(outcome.conflicting_answers for outcome in phases.values())
    double_posts = (
        checks["keys_with_two_journals"]
        + checks["journals_with_odd_postings"]
        + conflicting
        + sum(mismatches.values())
    )
    errors = {name: len(outcome.errors) for name, outcome in phases.items() if outcome.errors}
    tps_uniform = uniform.tps
    sql_ceiling_psycopg = ceiling.tps
    pgbench = pgbench_summary(pgbench_rounds)
    sql_ceiling_pgbench = pgbench["tps"] if pgbench else None
    sql_ceiling = max(sql_ceiling_psycopg, sql_ceiling_pgbench or 0.0)
    layout = f"{args.writers} writers in {args.processes} processes"
    notes = (
        f"{layout} (spawned, each with its own Django setup and one connection per writer "
        f"thread) on {os.cpu_count()} cores shared with PostgreSQL (1-minute load average "
        f"{load_before[0]:.1f} before the run, {load_after[0]:.1f} after: other work on the "
        f"machine lowers every tps here; cpu_per_journal, the CPU the writers and their "
        f"server processes spent per posted journal, moves much less with it). Transfers "
        f"move 0.01-10.00 {CURRENCY} between random wallets of {len(world.wallets)}, funded "
        f"with {WALLET_FUNDING} each; hot: {args.hot_share:.0%} to or from one wallet. "
        f"uniform, naive and sql_ceiling take turns in {args.rounds} rounds (as do hot and "
        f"sql_ceiling_hot) so that load from elsewhere weighs on them alike; tps = journals "
        f"posted / summed wall time from the common start to the last writer's end. "
        f"{args.duplicate_rate:.0%} of the requests of every per-transfer run were sent again "
        f"with the same key by a writer in another process at about the same moment "
        f"({sum(repeats.values()):,} repeats), counted as requests, not as transfers. p99_ms = "
        f"per-request latency of the uniform run. naive = ORM: key lookup, select_for_update "
        f"of both wallets in id order, Python balance check, JournalEntry.objects.create, the "
        f"two postings in one bulk_create (the ledger's statement trigger refuses a lone "
        f"unbalanced posting), with_retries. sql_ceiling_tps = the better of one INSERT ... "
        f"WITH statement per transfer from a tight psycopg loop on the same writers (prepared, "
        f"{sql_ceiling_psycopg:,.0f}/s) and pgbench --protocol=prepared with as many clients "
        f"({'not run' if sql_ceiling_pgbench is None else f'{sql_ceiling_pgbench:,.0f}/s'}); "
        f"both run the ledger's triggers. tps_batched = postings/s through "
        f"journal_post_batch, {args.batch_size} journals of 2 postings per call, "
        f"{args.batch_writers} writers. double_posts = keys with several journals + keys "
        f"answered with different journals + journals with other than 2 postings + accounts "
        f"whose balance moved by other than the transfers posted."
    )
    output = {
        "writers": args.writers,
        "transfers": args.transfers,
        "tps_uniform": round(tps_uniform, 1),
        "tps_hot": round(hot.tps, 1),
        "p99_ms": round(percentile(uniform.latencies, 0.99) * 1000, 2),
        "tps_batched": round(batched_postings_per_s, 1),
        "imbalance": checks["imbalance"],
        "overdrafts": checks["overdrafts"],
        "double_posts": double_posts,
        "naive_tps_uniform": round(naive.tps, 1),
        "speedup": round(tps_uniform / naive.tps, 2) if naive.tps else None,
        "sql_ceiling_tps": round(sql_ceiling, 1),
        "ratio_to_ceiling": round(tps_uniform / sql_ceiling, 3) if sql_ceiling else None,
        "notes": notes,
        "reconcile": checks["reconcile"],
        "p50_ms": round(percentile(uniform.latencies, 0.5) * 1000, 2),
        "hot_p99_ms": round(percentile(hot.latencies, 0.99) * 1000, 2),
        "naive_p99_ms": round(percentile(naive.latencies, 0.99) * 1000, 2),
        "sql_ceiling_psycopg_tps": round(sql_ceiling_psycopg, 1),
        "sql_ceiling_pgbench_tps": round(sql_ceiling_pgbench, 1) if sql_ceiling_pgbench else None,
        "ratio_to_psycopg_ceiling": (
            round(tps_uniform / sql_ceiling_psycopg, 3) if sql_ceiling_psycopg else None
        ),
        "sql_ceiling_hot_tps": round(phases["sql_ceiling_hot"].tps, 1),
        "batch_p99_ms": round(percentile(batched.latencies, 0.99) * 1000, 1),
        "cpu_per_journal": {name: outcome.cpu_per_posted() for name, outcome in phases.items()},
        "requests_per_s": {
            name: round(outcome.requests / outcome.elapsed, 1) for name, outcome in phases.items()
        },
        "elapsed_s": {name: round(outcome.elapsed, 2) for name, outcome in phases.items()},
        "repeated_requests": dict(repeats),
        "refused": {name: len(outcome.refused) for name, outcome in phases.items()},
        "errors": errors,
        "double_post_checks": {
            "keys_with_two_journals": checks["keys_with_two_journals"],
            "journals_with_odd_postings": checks["journals_with_odd_postings"],
            "keys_answered_with_two_journals": conflicting,
            "balance_mismatches": dict(mismatches),
        },
        "imbalance_total": checks["imbalance_total"],
        "trial_balance_net": checks["trial_balance_net"],
        "overdraft_race": race_report,
        "pgbench": pgbench,
        "load_average": [round(load_before[0], 1), round(load_after[0], 1)],
        "processes": args.processes,
        "rounds": args.rounds,
        "wallets": len(world.wallets),
        "batch_size": args.batch_size,
        "batch_writers": args.batch_writers,
        "seed": args.seed,
    }
    print(json.dumps(output), flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
