"""Portal benchmark: concurrent clients signed in to the portal, page times under gunicorn.

    make bench-portal ARGS="--clients 100000 --sessions 50"

On a database of its own (`brokercrm_bench_portal`, dropped at the end unless `--keep`),
seeded with `seed_demo` plus `--clients` active client profiles of the EU entity through the
Atlas Markets brand. `--sessions` of them get a portal login, a verified e-mail address, an
EUR wallet funded by `--deposits` PSP deposits through the ledger, and so have a history.
Each session signs in through the portal's sign-in form (a real session cookie and CSRF token)
and then walks overview → history → deposit form `--rounds` times, all sessions at once
against gunicorn (`--web-workers` gthread workers, 4 threads each). Like a person reading
each page, a session pauses a think time before every page (`--think`, in seconds: `1-3`, the
default, draws it uniformly between 1 and 3 from a generator seeded by `--seed` and the
session's number; one figure is a fixed pause; `0` fires the pages back to back, for the
saturation figure). The sign-in is not timed (it hashes a password on purpose). The last line
is one JSON object with `p50_ms`, `p95_ms` and `errors` per page, the think time (`think_s`,
its lowest and highest), the pages answered per second (`pages_per_s`) and the totals.
"""

from __future__ import annotations

import argparse
import io
import json
import os
import random
import re
import signal
import subprocess
import sys
import tempfile
import threading
import time
from decimal import Decimal
from pathlib import Path
from urllib.parse import urlencode

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "bench"))

from common import (  # noqa: E402 - bench/
    bench_profiles,
    database_recreate,
    database_url,
    free_port,
    gunicorn_start,
    port_open,
)

DEFAULT_DATABASE = "brokercrm_bench_portal"
BRAND = "atlas-markets"
PASSWORD = "bench-portal-password-42"  # noqa: S105 - the bench clients' own
PAGES = [("overview", "/client/"), ("history", "/client/history/"), ("deposit", "/client/deposit/")]
_CSRF = re.compile(r'name="csrfmiddlewaretoken" value="([^"]+)"')


def say(message: str) -> None:
    print(message, file=sys.stderr, flush=True)


def percentile(values: list[float], share: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(share * (len(ordered) - 1)))] if ordered else 0.0


def think_range(text: str) -> tuple[float, float]:
    """`--think`: "LOW-HIGH" or one figure, in seconds."""
    low, _, high = text.partition("-")
    bounds = (float(low), float(high or low))
    if bounds[0] < 0 or bounds[1] < bounds[0]:
        raise argparse.ArgumentTypeError(f"not a think time range: {text!r}")
    return bounds


def world_prepare(*, clients: int, sessions: int, deposits: int) -> list[str]:
    """Seed the demo world, the bulk clients and the signed-in ones; their e-mail addresses."""
    from django.core.management import call_command
    from django.db import transaction

    from brokercrm.gate import SYSTEM
    from entities.selectors import brand_by_code
    from identity.logins import client_login_add
    from identity.services import profile_activate
    from wallets.services import JournalSpec, Line, journal_post, system_account, wallet_open

    call_command("migrate", verbosity=0)
    call_command("seed_demo", verbosity=0, stdout=io.StringIO())  # its logins and keys
    brand = brand_by_code(BRAND)
    entity = brand.entity
    started = time.perf_counter()
    profiles = bench_profiles(entity=entity, brand=brand, count=clients, label="Portal")
    say(f"{clients} client profiles in {time.perf_counter() - started:.1f} s")
    emails = []
    clearing = system_account(entity=entity, kind="psp_clearing", currency="EUR")
    for profile in profiles[:sessions]:
        type(profile).objects.unscoped().filter(pk=profile.pk).update(email_verified=True)
        profile.email_verified = True
        with transaction.atomic():
            client_login_add(profile=profile, password=PASSWORD)
        profile_activate(profile=profile, reason="bench", actor=SYSTEM)
        wallet = wallet_open(profile=profile, currency="EUR")
        for n in range(deposits):
            amount = Decimal(100 + n)
            journal_post(
                actor=SYSTEM,
                entity=entity,
                spec=JournalSpec(
                    type="deposit",
                    idempotency_key=f"bench-portal:{profile.pk}:{n}",
                    lines=[Line(wallet, amount), Line(clearing, -amount)],
                    reference=f"bench:{profile.pk}:{n}",
                ),
            )
        emails.append(profile.email)
    return emails


def session_run(
    base: str,
    email: str,
    rounds: int,
    think: tuple[float, float],
    seed: int,
    start: threading.Barrier,
    times: dict[str, list[float]],
    errors: dict[str, int],
    lock: threading.Lock,
) -> None:
    import http.client

    host, port = base.removeprefix("http://").split(":")
    conn = http.client.HTTPConnection(host, int(port), timeout=30)
    cookies: dict[str, str] = {}

    def request(method: str, path: str, body: str = "") -> tuple[int, str]:
        headers = {"Cookie": "; ".join(f"{k}={v}" for k, v in cookies.items())}
        if body:
            headers["Content-Type"] = "application/x-www-form-urlencoded"
            headers["Referer"] = f"{base}/b/{BRAND}/login/"
        conn.request(method, f"/b/{BRAND}{path}", body=body or None, headers=headers)
        response = conn.getresponse()
        text = response.read().decode("utf-8", "replace")
        for header, value in response.getheaders():
            if header.lower() == "set-cookie":
                name, _, rest = value.partition("=")
                cookies[name] = rest.split(";", 1)[0]
        return response.status, text

    try:
        _status, page = request("GET", "/login/")
        token = _CSRF.search(page)
        body = urlencode(
            {"csrfmiddlewaretoken": token[1] if token else "", "email": email, "password": PASSWORD}
        )
        status, _text = request("POST", "/login/", body)
        if status != 302:
            raise RuntimeError(f"sign-in answered {status}")
    except Exception as exc:
        say(f"{email}: {exc}")
        with lock:
            errors["sign_in"] = errors.get("sign_in", 0) + 1
        start.wait()
        return
    start.wait()
    pause = random.Random(seed)  # noqa: S311 - think times, not secrets
    for _ in range(rounds):
        for name, path in PAGES:
            if think[1] > 0:
                time.sleep(pause.uniform(*think))
            began = time.perf_counter()
            try:
                status, _text = request("GET", path)
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
    parser.add_argument("--clients", type=int, default=100_000)
    parser.add_argument("--sessions", type=int, default=50)
    parser.add_argument("--rounds", type=int, default=5, help="walks per session")
    parser.add_argument("--deposits", type=int, default=30, help="per signed-in client")
    parser.add_argument(
        "--think",
        type=think_range,
        default=(1.0, 3.0),
        help='seconds before each page: "LOW-HIGH" (uniform), one figure, or 0 (default 1-3)',
    )
    parser.add_argument("--seed", type=int, default=16, help="of the think times")
    parser.add_argument("--web-workers", type=int, default=2)
    parser.add_argument("--database", default=DEFAULT_DATABASE)
    parser.add_argument("--keep", action="store_true")
    args = parser.parse_args()
    base_url = os.environ.get("DATABASE_URL", "")
    if not base_url or not os.environ.get("REDIS_URL"):
        say("DATABASE_URL and REDIS_URL are not set: run through `make bench-portal`")
        return 2
    signal.signal(signal.SIGTERM, _interrupted)
    var = Path(tempfile.mkdtemp(prefix="bench-portal-"))
    database_recreate(base_url, args.database)
    os.environ.update(
        {
            "DATABASE_URL": database_url(base_url, args.database),
            "BROKERCRM_VAR_DIR": str(var),
            "DJANGO_SETTINGS_MODULE": "brokercrm.settings",
        }
    )
    import django

    django.setup()
    from django.db import connections

    server = None
    try:
        started = time.perf_counter()
        emails = world_prepare(clients=args.clients, sessions=args.sessions, deposits=args.deposits)
        say(f"world ready in {time.perf_counter() - started:.1f} s")
        connections.close_all()
        subprocess.run(
            [sys.executable, "manage.py", "collectstatic", "--noinput", "-v", "0"],
            cwd=ROOT,
            env={**os.environ, "DEBUG": "0"},
            check=True,
        )
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
        base = f"http://127.0.0.1:{port}"
        times: dict[str, list[float]] = {name: [] for name, _path in PAGES}
        errors: dict[str, int] = {}
        lock = threading.Lock()
        barrier = threading.Barrier(len(emails) + 1)
        threads = [
            threading.Thread(
                target=session_run,
                args=(
                    base,
                    email,
                    args.rounds,
                    args.think,
                    args.seed * 100_003 + number,
                    barrier,
                    times,
                    errors,
                    lock,
                ),
                daemon=True,
            )
            for number, email in enumerate(emails)
        ]
        for thread in threads:
            thread.start()
        barrier.wait()
        walk_started = time.perf_counter()
        for thread in threads:
            thread.join()
        walked = time.perf_counter() - walk_started
        pages = {
            name: {
                "p50_ms": round(percentile(times[name], 0.5), 1),
                "p95_ms": round(percentile(times[name], 0.95), 1),
                "requests": len(times[name]),
                "errors": errors.get(name, 0),
            }
            for name, _path in PAGES
        }
        figures = {
            "clients": args.clients,
            "sessions": args.sessions,
            "think_s": list(args.think),
            "pages": pages,
            "p95_ms_worst": max(page["p95_ms"] for page in pages.values()),
            "errors": sum(errors.values()),
            "pages_per_s": round(sum(len(v) for v in times.values()) / walked, 1),
        }
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
