"""PSP webhook throughput: signed deliveries fired at the running API from concurrent clients.

`make bench-webhooks ARGS="--webhooks 20000 --duplicates 0.2"`

A benchmark database (dropped and recreated on the server of DATABASE_URL) gets the demo
configuration, a few hundred clients with wallets, and one authorised deposit per webhook. The
API runs under gunicorn as in production; client threads send each `payment.succeeded` event
once, and a share of them again (a PSP's duplicate, re-signed), all shuffled: per_s and p99_ms
are the API's (verify, record, acknowledge). Then the worker's part runs, acting on every
recorded event in batches (process_s, credits_per_s), and the ledger is checked: every deposit
credited exactly once, no wallet holding more than its deposits, every journal balanced.

Prints one JSON line last: webhooks, duplicates, per_s, p99_ms, credits, double_credits,
imbalance.
"""

from __future__ import annotations

import argparse
import http.client
import json
import os
import random
import socket
import sys
import threading
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "bench"))

from common import (  # noqa: E402 - bench/
    database_recreate,
    database_url,
    free_port,
    gunicorn_start,
)

DEFAULT_DATABASE = "brokercrm_bench_webhooks"
SECRET = "bench-webhook-secret"  # noqa: S105 - a throwaway benchmark secret
MERCHANT = "eu-cards-a1"


def say(message: str) -> None:
    print(f"[bench-webhooks] {message}", file=sys.stderr, flush=True)


def _letters(number: int) -> str:
    """A distinct name per client (names may not hold digits)."""
    text = ""
    number += 26 * 26
    while number:
        number, digit = divmod(number, 26)
        text = "abcdefghijklmnopqrstuvwxyz"[digit] + text
    return text.capitalize()


def prepare(webhooks: int, clients: int) -> list[bytes]:
    """Demo configuration, clients with EUR wallets, one authorised deposit per webhook; returns
    the event bodies."""
    from django.core.management import call_command

    from entities.models import Brand, LegalEntity
    from identity.services import RegistrationInput, registration_submit
    from payments.models import Deposit, DepositAttempt, MerchantAccount, PaymentMethod
    from wallets.services import wallet_open

    call_command("migrate", verbosity=0)
    call_command("seed_demo", quiet_logins=True)
    call_command("seed_payments")
    eu = LegalEntity.objects.get(code="EU")
    brand = Brand.objects.unscoped().filter(entity=eu).order_by("pk").first()
    merchant = MerchantAccount.objects.unscoped().get(code=MERCHANT)
    card = PaymentMethod.objects.get(code="card")
    wallets = []
    for i in range(clients):
        result = registration_submit(
            brand=brand,
            data=RegistrationInput(
                given_name=_letters(i),
                family_name="Bench" + _letters(i * 7 + 3).lower(),
                birth_date=f"19{60 + i % 40}-0{1 + i % 9}-1{i % 9}",
                residence_country="DE",
                nationality="DE",
                email=f"bench{i}@example.com",
                phone=f"+49 151 2{3000000 + i:07d}",
                address_line1=f"Benchstrasse {i}",
                city="Berlin",
                postcode="10115",
                document=None,
                ip=f"10.{i // 65536 % 256}.{i // 256 % 256}.{i % 256}",
                device_fingerprint=f"bench-device-{i}",
            ),
        )
        wallets.append(wallet_open(profile=result.profile, currency="EUR"))
    deposits = Deposit.objects.unscoped().bulk_create(
        Deposit(
            entity=eu,
            profile_id=wallets[i % clients].profile_id,
            wallet=wallets[i % clients],
            amount=f"{10 + i % 990}.{i % 100:02d}",
            currency="EUR",
            method=card,
            status="authorised",
            idempotency_key=f"bench-{i}",
            request_hash="bench",
            created_by="bench",
        )
        for i in range(webhooks)
    )
    DepositAttempt.objects.unscoped().bulk_create(
        DepositAttempt(
            entity=eu,
            deposit=deposit,
            merchant_account=merchant,
            number=1,
            reference=f"dep{deposit.pk}-1",
            psp_transaction_id=f"bench-tx-{deposit.pk}",
            status="approved",
        )
        for deposit in deposits
    )
    return [
        json.dumps(
            {
                "id": f"evt-{deposit.pk}",
                "type": "payment.succeeded",
                "created": int(time.time()),
                "data": {
                    "psp_transaction_id": f"bench-tx-{deposit.pk}",
                    "reference": f"dep{deposit.pk}-1",
                    "merchant_account": MERCHANT,
                    "kind": "payment",
                    "amount": str(deposit.amount),
                    "currency": "EUR",
                    "status": "approved",
                },
            },
            separators=(",", ":"),
        ).encode()
        for deposit in deposits
    ]


def fire(port: int, bodies: list[bytes], threads: int) -> tuple[list[float], dict[str, int]]:
    from brokercrm.signing import SIGNATURE_HEADER, webhook_sign

    latencies: list[float] = []
    outcomes: dict[str, int] = {}
    lock = threading.Lock()
    cursor = iter(bodies)

    def run() -> None:
        connection = http.client.HTTPConnection("127.0.0.1", port, timeout=60)
        mine: list[float] = []
        seen: dict[str, int] = {}
        while True:
            with lock:
                body = next(cursor, None)
            if body is None:
                break
            headers = {
                "Content-Type": "application/json",
                SIGNATURE_HEADER: webhook_sign(secret=SECRET, body=body),
            }
            started = time.perf_counter()
            try:
                connection.request("POST", f"/api/v1/webhooks/psp/{MERCHANT}", body, headers)
                response = connection.getresponse()
                payload = response.read()
            except (OSError, http.client.HTTPException):
                connection.close()
                connection = http.client.HTTPConnection("127.0.0.1", port, timeout=60)
                seen["connection_error"] = seen.get("connection_error", 0) + 1
                continue
            mine.append((time.perf_counter() - started) * 1000)
            try:
                outcome = json.loads(payload).get("status") or json.loads(payload).get("code")
            except ValueError:
                outcome = f"http_{response.status}"
            seen[str(outcome)] = seen.get(str(outcome), 0) + 1
            if response.getheader("Connection", "").lower() == "close":
                connection.close()
                connection = http.client.HTTPConnection("127.0.0.1", port, timeout=60)
        with lock:
            latencies.extend(mine)
            for key, value in seen.items():
                outcomes[key] = outcomes.get(key, 0) + value

    workers = [threading.Thread(target=run) for _ in range(threads)]
    for worker in workers:
        worker.start()
    for worker in workers:
        worker.join()
    return latencies, outcomes


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--webhooks", type=int, default=20000)
    parser.add_argument("--duplicates", type=float, default=0.2)
    parser.add_argument("--clients", type=int, default=300, help="client wallets credited")
    parser.add_argument("--threads", type=int, default=32, help="concurrent senders")
    parser.add_argument("--workers", type=int, default=4, help="gunicorn workers")
    parser.add_argument("--database", default=DEFAULT_DATABASE)
    parser.add_argument("--seed", type=int, default=20261124)
    args = parser.parse_args()
    base_url = os.environ.get("DATABASE_URL", "")
    if not base_url:
        say("DATABASE_URL is not set: run through `make bench-webhooks`")
        return 2
    database_recreate(base_url, args.database)
    os.environ["DATABASE_URL"] = database_url(base_url, args.database)
    os.environ["PSP_DEMO_WEBHOOK_SECRET"] = SECRET
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "brokercrm.settings")
    import django

    django.setup()
    server = None
    try:
        started = time.perf_counter()
        bodies = prepare(args.webhooks, args.clients)
        say(f"prepared {len(bodies):,} deposits in {time.perf_counter() - started:.1f} s")
        rng = random.Random(args.seed)  # noqa: S311 - shuffling, not security
        extra = rng.sample(bodies, round(len(bodies) * args.duplicates))
        deliveries = bodies + extra
        rng.shuffle(deliveries)
        port = free_port()
        from django.db import connections

        connections.close_all()
        server = gunicorn_start(
            port=port,
            workers=args.workers,
            env={
                **os.environ,
                "DEBUG": "0",
                "SECURE_SSL_REDIRECT": "0",
                "DATABASE_CONN_MAX_AGE": "600",
            },
            cwd=ROOT,
        )
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            try:
                with socket.create_connection(("127.0.0.1", port), timeout=1):
                    break
            except OSError:
                time.sleep(0.2)
        say(f"firing {len(deliveries):,} deliveries from {args.threads} threads")
        started = time.perf_counter()
        latencies, outcomes = fire(port, deliveries, args.threads)
        elapsed = time.perf_counter() - started
        say(f"outcomes: {outcomes}")
        # The worker's part: act on the recorded events (batched credits), timed on its own.
        from payments.services import psp_webhooks_process

        started = time.perf_counter()
        processed = psp_webhooks_process()
        process_s = time.perf_counter() - started
        say(f"acted on {processed:,} events in {process_s:.1f} s")
    finally:
        if server is not None:
            server.terminate()
            server.wait(timeout=30)
    from django.db.models import Count, Sum

    from payments.models import Deposit
    from wallets.models import JournalEntry, LedgerAccount
    from wallets.selectors import ledger_imbalance

    credits = Deposit.objects.unscoped().filter(journal__isnull=False).count()
    journals = JournalEntry.objects.unscoped().filter(type="deposit", reference__startswith="psp:")
    double = journals.values("reference").annotate(n=Count("id")).filter(n__gt=1).count()
    overcredited = 0
    expected = dict(
        Deposit.objects.unscoped()
        .filter(journal__isnull=False)
        .values_list("wallet_id")
        .annotate(total=Sum("amount"))
    )
    for wallet in LedgerAccount.objects.unscoped().filter(kind="client_wallet"):
        if wallet.balance != expected.get(wallet.pk, 0):
            overcredited += 1
    latencies.sort()
    p99 = latencies[min(len(latencies) - 1, int(len(latencies) * 0.99))] if latencies else 0
    figures = {
        "webhooks": args.webhooks,
        "duplicates": len(extra),
        "per_s": round(len(latencies) / elapsed, 1),
        "p99_ms": round(p99, 2),
        "credits": credits,
        "double_credits": double + overcredited + max(0, journals.count() - credits),
        "imbalance": len(ledger_imbalance()),
        "p50_ms": round(latencies[len(latencies) // 2], 2) if latencies else 0,
        "deliveries": len(deliveries),
        "outcomes": outcomes,
        "gunicorn_workers": args.workers,
        "sender_threads": args.threads,
        "elapsed_s": round(elapsed, 2),
        "processed": processed,
        "process_s": round(process_s, 2),
        "credits_per_s": round(processed / process_s, 1) if process_s else 0,
    }
    connections_close()
    database_recreate(base_url, args.database, drop_only=True)
    print(json.dumps(figures))
    return 0


def connections_close() -> None:
    from django.db import connections

    connections.close_all()


if __name__ == "__main__":
    sys.exit(main())
