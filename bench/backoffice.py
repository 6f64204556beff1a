"""Back-office benchmark: the work queue, the dashboard and the client 360 under gunicorn.

    make bench-backoffice ARGS="--clients 1000000 --events 10000"

On a database of its own (`brokercrm_bench_backoffice`, dropped at the end unless `--keep`),
seeded with `seed_demo` (its staff, entities and queues), plus `--clients` client profiles of
the EU entity written in bulk by SQL, `--queue-items` of them with a KYC file in review (so the
queues count over real rows), and one client whose history holds `--events` timeline entries
(half domain events, half audit rows). The EU compliance officer of the demo signs in; each
page is then asked `--requests` times by `--concurrency` threads against gunicorn
(`--web-workers` gthread workers). Each page's queries are counted once in-process on the same
database (the suite checks that the count does not grow with the rows shown). The last line
is one JSON object with `p50_ms`, `p95_ms`, `queries` and `errors` per page.
"""

from __future__ import annotations

import argparse
import io
import json
import os
import signal
import subprocess
import sys
import tempfile
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
    port_open,
)

DEFAULT_DATABASE = "brokercrm_bench_backoffice"
STAFF = "compliance.eu"


def say(message: str) -> None:
    print(message, file=sys.stderr, flush=True)


def percentile(values: list[float], share: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(share * (len(ordered) - 1)))] if ordered else 0.0


def _bulk_clients(cursor: object, *, entity_id: int, brand_id: int, count: int) -> None:
    """Persons and active profiles by generate_series: a million in well under a minute."""
    cursor.execute(  # type: ignore[attr-defined]
        """
        WITH people AS (
            INSERT INTO identity_person (public_id, status, given_name, family_name, birth_date,
                nationality, aml_blocked, aml_block_reason, sanctions_hit, pep, risk_hold,
                risk_level, marketing_email, marketing_sms, marketing_phone, created_at,
                updated_at)
            SELECT gen_random_uuid(), 'active', 'Bench', 'Client' || n,
                DATE '1970-01-01' + (n %% 15000), 'DE', false, '', false, false, false,
                'low', false, false, false, now() - (n %% 900) * interval '1 hour', now()
            FROM generate_series(1, %(count)s) AS n
            RETURNING id, family_name, birth_date, created_at
        )
        INSERT INTO identity_clientprofile (entity_id, person_id, brand_id, status,
            status_reason, agreement_version, given_name, family_name, given_name_latin,
            family_name_latin, birth_date, nationality, residence_country, address_line1,
            address_line2, city, postcode, email, email_canonical, email_verified, phone,
            language, routing_ruleset, device_fingerprint, created_at, updated_at)
        SELECT %(entity)s, id, %(brand)s, 'active', '', '', 'Bench', family_name, 'Bench',
            family_name, birth_date, 'DE', 'DE', '', '', '', '',
            lower(family_name) || '@bench.test', lower(family_name) || '@bench.test', true, '',
            'en', 'bench', '', created_at, created_at
        FROM people
        """,
        {"count": count, "entity": entity_id, "brand": brand_id},
    )


def world_prepare(*, clients: int, queue_items: int, events: int) -> int:
    """Seed the demo world, the bulk clients, the queue rows and the long history; the person
    whose client 360 is timed."""
    from django.core.management import call_command
    from django.db import connection, transaction

    from entities.selectors import brand_by_code

    call_command("migrate", verbosity=0)
    call_command("seed_demo", verbosity=0, stdout=io.StringIO())
    brand = brand_by_code("atlas-markets")
    started = time.perf_counter()
    with transaction.atomic(), connection.cursor() as cursor:
        _bulk_clients(cursor, entity_id=brand.entity_id, brand_id=brand.pk, count=clients)
        say(f"{clients} client profiles in {time.perf_counter() - started:.1f} s")
        cursor.execute(
            """
            INSERT INTO kyc_kycfile (entity_id, profile_id, status, questionnaire, risk_score,
                risk_level, risk_breakdown, edd_triggers, kyc_ruleset, cooling_off_ruleset,
                submitted_at, auto_approved, decision_reason, aml_rejection,
                reverification_required, created_at, updated_at)
            SELECT entity_id, id, 'in_review', '{}', 30, 'medium', '{}', '[]', 'bench', '',
                created_at, false, '', false, false, created_at, created_at
            FROM identity_clientprofile
            WHERE routing_ruleset = 'bench'
              AND id NOT IN (SELECT profile_id FROM kyc_kycfile)
            ORDER BY id LIMIT %s
            """,
            [queue_items],
        )
        cursor.execute(
            "SELECT person_id, id, entity_id FROM identity_clientprofile "
            "WHERE routing_ruleset = 'bench' ORDER BY id LIMIT 1"
        )
        person_id, profile_id, entity_id = cursor.fetchone()
        half = events // 2
        cursor.execute(
            """
            INSERT INTO events_event (type, entity_id, person_id, profile_id, payload,
                actor_label, occurred_at)
            SELECT 'payments.deposit_credited', %(entity)s, %(person)s, %(profile)s, '{}',
                'system', now() - n * interval '7 minutes'
            FROM generate_series(1, %(half)s) AS n
            """,
            {"entity": entity_id, "person": person_id, "profile": profile_id, "half": half},
        )
        cursor.execute("SELECT coalesce(max(seq), 0) FROM audit_auditevent")
        (head,) = cursor.fetchone()
        # Rows of the bench's own: the chain is not what this bench measures.
        cursor.execute(
            """
            INSERT INTO audit_auditevent (seq, created_at, actor_label, action, entity_id,
                object_type, object_id, person_id, reason, request_id, prev_hash, hash)
            SELECT %(head)s + n, now() - n * interval '5 minutes', 'compliance.eu',
                'identity.profile_changed', %(entity)s, 'identity.ClientProfile',
                %(profile)s::text, %(person)s, '', '', md5(n::text) || md5(n::text),
                md5('bench' || n) || md5('chain' || n)
            FROM generate_series(1, %(half)s) AS n
            """,
            {
                "head": head,
                "entity": entity_id,
                "person": person_id,
                "profile": profile_id,
                "half": events - half,
            },
        )
        cursor.execute("ANALYZE")
    say(f"world ready in {time.perf_counter() - started:.1f} s")
    return person_id


def pages_for(person_id: int) -> list[tuple[str, str]]:
    return [
        ("work_queue", "/admin/work/"),
        ("dashboard", "/admin/"),
        ("client_360", f"/admin/clients/{person_id}/"),
        ("timeline", f"/admin/clients/{person_id}/?tab=timeline"),
    ]


def queries_per_page(pages: list[tuple[str, str]]) -> dict[str, int]:
    from django.contrib.auth import get_user_model
    from django.db import connection
    from django.test import Client
    from django.test.utils import CaptureQueriesContext

    client = Client(HTTP_HOST="127.0.0.1")
    client.force_login(get_user_model().objects.get(username=STAFF))
    counted = {}
    for name, path in pages:
        client.get(path, secure=True)  # warm: sessions, counts cached for the sidebar
        with CaptureQueriesContext(connection) as captured:
            status = client.get(path, secure=True).status_code
        counted[name] = len(captured.captured_queries) if status == 200 else -status
    return counted


def session_cookie() -> str:
    from django.contrib.auth import get_user_model
    from django.test import Client

    client = Client(HTTP_HOST="127.0.0.1")
    client.force_login(get_user_model().objects.get(username=STAFF))
    return client.cookies["sessionid"].value


def worker(
    port: int,
    cookie: str,
    jobs: list[tuple[str, str]],
    times: dict[str, list[float]],
    errors: dict[str, int],
    lock: threading.Lock,
) -> None:
    import http.client

    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=60)
    for name, path in jobs:
        began = time.perf_counter()
        try:
            conn.request("GET", path, headers={"Cookie": f"sessionid={cookie}"})
            response = conn.getresponse()
            response.read()
            status = response.status
        except Exception as exc:  # a dropped connection counts as an error
            say(f"{name}: {exc}")
            status = 0
            conn.close()
        elapsed = (time.perf_counter() - began) * 1000
        with lock:
            if status == 200:
                times[name].append(elapsed)
            else:
                errors[name] = errors.get(name, 0) + 1


def _interrupted(_signum: int, _frame: object) -> None:
    raise KeyboardInterrupt


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--clients", type=int, default=1_000_000)
    parser.add_argument("--events", type=int, default=10_000, help="timeline entries")
    parser.add_argument("--queue-items", type=int, default=2_000, help="KYC files in review")
    parser.add_argument("--requests", type=int, default=40, help="per page")
    parser.add_argument("--concurrency", type=int, default=4)
    parser.add_argument("--web-workers", type=int, default=2)
    parser.add_argument("--database", default=DEFAULT_DATABASE)
    parser.add_argument("--keep", action="store_true")
    args = parser.parse_args()
    base_url = os.environ.get("DATABASE_URL", "")
    if not base_url or not os.environ.get("REDIS_URL"):
        say("DATABASE_URL and REDIS_URL are not set: run through `make bench-backoffice`")
        return 2
    signal.signal(signal.SIGTERM, _interrupted)
    var = Path(tempfile.mkdtemp(prefix="bench-backoffice-"))
    database_recreate(base_url, args.database)
    os.environ.update(
        {
            "DATABASE_URL": database_url(base_url, args.database),
            "BROKERCRM_VAR_DIR": str(var),
            "DJANGO_SETTINGS_MODULE": "brokercrm.settings",
            # Every request counts its queues afresh: the figure is the page's real cost.
            "BACKOFFICE_COUNTS_SECONDS": "0",
        }
    )
    import django

    django.setup()
    from django.db import connections

    server = None
    try:
        person_id = world_prepare(
            clients=args.clients, queue_items=args.queue_items, events=args.events
        )
        pages = pages_for(person_id)
        subprocess.run(
            [sys.executable, "manage.py", "collectstatic", "--noinput", "-v", "0"],
            cwd=ROOT,
            env={**os.environ, "DEBUG": "0"},
            check=True,
        )
        queries = queries_per_page(pages)
        cookie = session_cookie()
        connections.close_all()
        port = free_port()
        server = gunicorn_start(
            port=port,
            workers=args.web_workers,
            env={**os.environ, "DEBUG": "0", "SECURE_SSL_REDIRECT": "0"},
            cwd=ROOT,
        )
        deadline = time.monotonic() + 60
        while not port_open(port):
            if time.monotonic() > deadline or server.poll() is not None:
                raise RuntimeError("gunicorn did not start")
            time.sleep(0.2)
        times: dict[str, list[float]] = {name: [] for name, _ in pages}
        errors: dict[str, int] = {}
        lock = threading.Lock()
        # Warm each worker's process (imports, template loading) before timing.
        worker(port, cookie, pages * args.web_workers, {n: [] for n, _ in pages}, {}, lock)
        jobs = [page for _ in range(args.requests) for page in pages]
        shares = [jobs[n :: args.concurrency] for n in range(args.concurrency)]
        threads = [
            threading.Thread(target=worker, args=(port, cookie, share, times, errors, lock))
            for share in shares
        ]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
        figures = {
            "clients": args.clients,
            "timeline_entries": args.events,
            "queue_items": args.queue_items,
            "concurrency": args.concurrency,
            "pages": {
                name: {
                    "p50_ms": round(percentile(times[name], 0.5), 1),
                    "p95_ms": round(percentile(times[name], 0.95), 1),
                    "queries": queries[name],
                    "requests": len(times[name]),
                    "errors": errors.get(name, 0),
                }
                for name, _ in pages
            },
        }
        figures["p95_ms_worst"] = max(page["p95_ms"] for page in figures["pages"].values())
        print(json.dumps(figures), flush=True)
        return 0
    except KeyboardInterrupt:
        say("interrupted")
        return 130
    finally:
        if server is not None:
            server.terminate()
            try:
                server.wait(timeout=20)
            except subprocess.TimeoutExpired:
                server.kill()
        connections.close_all()
        if not args.keep:
            database_recreate(base_url, args.database, drop_only=True)


if __name__ == "__main__":
    sys.exit(main())
