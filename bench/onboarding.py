"""Onboarding benchmark: low-risk applicants with clean documents, from registration to the
machine's decision, through the API and one worker.

    make bench-onboarding ARGS="--applicants 200"

A benchmark database (brokercrm_bench_onboarding unless --database; dropped and recreated on
the server of DATABASE_URL, dropped at the end unless --keep) is migrated and gets the demo
configuration (`seed_demo`: the EU entity and its rules, the brand, the screening list). The
EU rules ask for the full questionnaire, the CFD appropriateness test and liveness, so three
processes run as in production: the API under gunicorn, ONE Celery worker (solo pool: one task
at a time) on the Redis of REDIS_URL, and the liveness vendor simulator (`python -m
kyc.simulator`, answering after --liveness-delay seconds, its default 5). Documents and mail go
to a temporary folder (BROKERCRM_VAR_DIR) removed at the end.

Each applicant is a different person drawn from --seed: names, sex, birth date (25 to 70 years
before today), an EEA residence routed to the EU entity, passport number and expiry (one to
nine years ahead). Everything is made before the clock starts: the passport page rendered with
its MRZ for that person (`kyc.specimens.render_passport`, a flat scan, not pre-read by
the reader), a selfie, and a proof of address (a utility bill or bank statement issued 3 to 60
days ago). Through the API as a brand's front end and the client would: register with the
passport's number (brand key), sign in (`/client-tokens`), answer the questionnaire (low-risk
answers, an expected deposit under the source-of-funds threshold) and the appropriateness test
(a passing set), upload the three documents, submit. Time to decision runs from the submit call
returning to the first `GET /me/kyc` (polled every --poll seconds) that shows a status the
machine decided: approved, in_review, escalated or rejected.

Arrivals: --concurrency client threads (default 2) each take the next applicant only when
their previous one is decided, so about that many files are in the machine at once and the
figure measures the machine path rather than a queue of --applicants files in front of one
worker. --warmup applicants (default 1) go through first and are not counted (a cold worker
loads the OCR models on its first file). per_minute is the counted applicants divided by the
minutes from the first counted registration to the last decision.

Prints progress, every applicant not approved (with its checks and risk) and where the time
went (from the files' own timestamps and the worker's task log) to stderr; the last stdout line
is one JSON object: applicants, auto_approved_share, time_to_decision_p50_s,
time_to_decision_p95_s, per_minute, concurrency, failures (applicants that were refused by the
API or not decided within --timeout; they count as not approved).

The worker takes tasks from REDIS_URL's default queue: give the bench a Redis database no
other worker or application uses (the embedded one of `make` is).
"""

# The random numbers are seeded test data, not secrets.
# ruff: noqa: S311

from __future__ import annotations

import argparse
import datetime
import json
import os
import random
import re
import secrets
import shutil
import signal
import subprocess
import sys
import tempfile
import threading
import time
import uuid
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

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

from brokercrm.frontend import FrontEnd, FrontEndError, Upload  # noqa: E402 - the project

DEFAULT_DATABASE = "brokercrm_bench_onboarding"
BRAND = "atlas-markets"
LIVENESS_SECRET = "bench-liveness-secret"  # noqa: S105 - a throwaway benchmark secret
DECIDED = ("approved", "in_review", "escalated", "rejected")
UNDECIDED = ("submitted", "checking")

# Residence (routed to the EU entity by the brand) → the passport's state code, a city, a
# postcode.
# fmt: off
COUNTRIES = {
    "DE": ("D", "Berlin", "10115"),
    "FR": ("FRA", "Lyon", "69001"),
    "IT": ("ITA", "Milano", "20121"),
    "ES": ("ESP", "Madrid", "28001"),
    "NL": ("NLD", "Utrecht", "3511"),
    "PL": ("POL", "Krakow", "30-001"),
    "AT": ("AUT", "Wien", "1010"),
    "BE": ("BEL", "Gent", "9000"),
    "PT": ("PRT", "Porto", "4000-001"),
    "IE": ("IRL", "Cork", "T12"),
    "SE": ("SWE", "Uppsala", "75310"),
    "CY": ("CYP", "Limassol", "3025"),
    "GR": ("GRC", "Patra", "26221"),
}
GIVEN = {
    "M": [
        "Lukas", "Jonas", "Paul", "Luca", "Mateo", "Hugo", "Louis", "Pablo", "Tomasz", "Jakub",
        "Jan", "Daan", "Sem", "Liam", "Noah", "Oscar", "Elias", "Felix", "Nikos", "Andreas",
        "Joao", "Tiago", "Marco", "Giorgio", "Sean", "Conor", "Erik", "Nils", "Anton", "Victor",
    ],
    "F": [
        "Anna", "Emma", "Mia", "Sofia", "Lea", "Chloe", "Camille", "Lucia", "Martina", "Julia",
        "Zofia", "Maja", "Sanne", "Fleur", "Aoife", "Siobhan", "Elsa", "Astrid", "Eleni", "Maria",
        "Ines", "Beatriz", "Giulia", "Chiara", "Clara", "Laura", "Hannah", "Nora", "Ida", "Alba",
    ],
}
FAMILY = [
    "Becker", "Schmidt", "Wagner", "Hoffmann", "Dubois", "Moreau", "Lefebvre", "Rossi",
    "Bianchi", "Romano", "Garcia", "Martinez", "Lopez", "Jansen", "de Vries", "Bakker",
    "Nowak", "Kowalski", "Wisniewski", "Gruber", "Huber", "Peeters", "Janssens", "Silva",
    "Santos", "Ferreira", "Murphy", "Kelly", "Byrne", "Andersson", "Lindqvist", "Nilsson",
    "Georgiou", "Charalambous", "Papadakis", "Nikolaidis", "Keller", "Vogel", "Fontaine",
    "Marchetti", "van Dijk", "Visser", "Lewandowski", "Brennan", "Holm", "Costa", "Navarro",
]
OCCUPATIONS = [
    "teacher", "software engineer", "nurse", "accountant", "architect", "pharmacist",
    "electrician", "civil engineer", "physiotherapist", "project manager", "dentist",
    "sales manager", "data analyst", "chef", "translator", "logistics coordinator",
]
# fmt: on
# Scores 6 of 8 (pass mark 5): every knowledge question right, some experience.
APPROPRIATENESS = {
    "leverage_effect": "60_percent",
    "margin_close_out": "positions_closed",
    "cfd_ownership": "no",
    "stop_loss_slippage": "no_it_may_slip",
    "overnight_financing": "yes",
    "leveraged_trades_last_year": "1_to_10",
    "finance_background": "no",
}
NUMBER_CHARS = "ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789"


def say(message: str) -> None:
    print(f"[bench-onboarding] {message}", file=sys.stderr, flush=True)


def percentile(values: list[float], share: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(share * (len(ordered) - 1)))] if ordered else 0.0


# --- applicants -----------------------------------------------------------------------------------


@dataclass
class Applicant:
    n: int
    registration: dict[str, Any]
    password: str
    questionnaire: dict[str, Any]
    passport: bytes
    selfie: bytes
    bill: bytes
    bill_type: str
    bill_issued_on: str
    # Filled in by the run.
    file_id: int | None = None
    status: str = ""
    seconds: float | None = None
    server_seconds: float | None = None
    error: str = ""
    started: float = 0.0
    decided: float = 0.0
    log: list[str] = field(default_factory=list)


def applicants_make(rng: random.Random, count: int, today: datetime.date) -> list[Applicant]:
    from kyc.specimens import SPECIMEN_PDF as MINIMAL_PDF
    from kyc.specimens import render_passport, render_photo_without_mrz, td3_lines

    people: set[tuple[str, str, datetime.date]] = set()
    made = []
    while len(made) < count:
        n = len(made)
        sex = rng.choice("MF")
        given = rng.choice(GIVEN[sex])
        if rng.random() < 0.15:
            given += " " + rng.choice([name for name in GIVEN[sex] if name != given])
        family = rng.choice(FAMILY)
        birth = today - datetime.timedelta(days=rng.randint(25 * 366, 70 * 365))
        if (given, family, birth) in people:
            continue
        people.add((given, family, birth))
        country = rng.choice(sorted(COUNTRIES))
        state, city, postcode = COUNTRIES[country]
        number = "".join(rng.choice(NUMBER_CHARS) for _ in range(9))
        expiry = today + datetime.timedelta(days=rng.randint(365, 9 * 365))
        password = f"Bench-{secrets.token_urlsafe(12)}"
        lines = td3_lines(
            surname=family.upper(),
            given_names=given.upper(),
            document_number=number,
            birth_date=birth,
            expiry_date=expiry,
            sex=sex,
            nationality=state,
            issuing_country=state,
        )
        email = f"{given}.{family}.{n}@example.com".lower().replace(" ", "")
        employment = rng.choice(("employed", "employed", "self_employed"))
        made.append(
            Applicant(
                n=n,
                registration={
                    "given_name": given,
                    "family_name": family,
                    "birth_date": birth.isoformat(),
                    "residence_country": country,
                    "nationality": country,
                    "email": email,
                    "address_line1": f"{rng.choice(FAMILY)} Street {rng.randint(1, 199)}",
                    "city": city,
                    "postcode": postcode,
                    "document": {
                        "type": "passport",
                        "number": number,
                        "issuing_country": country,
                        "expires_on": expiry.isoformat(),
                    },
                    "ip": f"10.{n // 65536 % 256}.{n // 256 % 256}.{n % 256}",
                    "device_fingerprint": f"bench-device-{uuid.UUID(int=rng.getrandbits(128))}",
                    "language": "en",
                    "password": password,
                },
                password=password,
                questionnaire={
                    "employment_status": employment,
                    "occupation": rng.choice(OCCUPATIONS),
                    "annual_income": str(rng.randrange(25_000, 120_000, 1_000)),
                    "source_of_funds": rng.choice(
                        ("salary", "salary", "savings", "investments")
                        if employment == "employed"
                        else ("business_income", "savings", "investments")
                    ),
                    "expected_deposit": str(rng.randrange(500, 5_001, 250)),
                    "trading_experience": rng.choice(("some", "experienced")),
                },
                passport=render_passport(lines),
                selfie=render_photo_without_mrz(width=rng.randrange(700, 900, 2)),
                bill=MINIMAL_PDF,
                bill_type=rng.choice(("utility_bill", "bank_statement")),
                bill_issued_on=(today - datetime.timedelta(days=rng.randint(3, 60))).isoformat(),
            )
        )
    return made


# --- the client side (HTTP only) ------------------------------------------------------------------


ApiError = FrontEndError


def applicant_run(
    applicant: Applicant,
    *,
    port: int,
    brand_key: str,
    poll: float,
    timeout: float,
    stopping: threading.Event,
) -> None:
    """One applicant from registration to the machine's decision (or an error)."""
    site = FrontEnd(f"http://127.0.0.1:{port}", f"Api-Key {brand_key}")
    api = site
    try:
        applicant.started = time.monotonic()
        registered = site.post("registrations", applicant.registration, expect=(201,))
        if registered.get("status") != "accepted" or not registered.get("login"):
            raise ApiError("POST", "registrations", 201, registered)
        token = site.post(
            "client-tokens",
            {"email": applicant.registration["email"], "password": applicant.password},
        )["token"]
        site.close()
        api = me = site.as_client(token)
        me.put("me/kyc/questionnaire", applicant.questionnaire)
        me.put("me/kyc/appropriateness", APPROPRIATENESS)
        uploads = [
            ("identity", "passport", "passport.png", "image/png", applicant.passport, {}),
            ("selfie", "", "selfie.jpg", "image/jpeg", applicant.selfie, {}),
            (
                "proof_of_address",
                applicant.bill_type,
                "bill.pdf",
                "application/pdf",
                applicant.bill,
                {"issued_on": applicant.bill_issued_on},
            ),
        ]
        for kind, doc_type, filename, content_type, data, extra in uploads:
            me.post(
                "me/kyc/documents",
                {"kind": kind, **({"doc_type": doc_type} if doc_type else {}), **extra},
                files={"file": Upload(filename, content_type, data)},
                expect=(201,),
            )
        submitted = me.post("me/kyc/submit")
        clock = time.monotonic()
        applicant.file_id = submitted["id"]
        status = submitted["status"]
        kyc = submitted
        while status in UNDECIDED and not stopping.is_set():
            if time.monotonic() - clock > timeout:
                raise ApiError("GET", "me/kyc", 0, f"not decided within {timeout:.0f} s ({status})")
            time.sleep(poll)
            kyc = me.get("me/kyc")
            status = kyc["status"]
        if stopping.is_set():
            return
        applicant.decided = time.monotonic()
        applicant.seconds = applicant.decided - clock
        applicant.status = status
        if status not in DECIDED:
            raise ApiError("GET", "me/kyc", 200, f"the file went to {status}")
        if kyc.get("decided_at") and kyc.get("submitted_at"):
            applicant.server_seconds = (
                datetime.datetime.fromisoformat(kyc["decided_at"])
                - datetime.datetime.fromisoformat(kyc["submitted_at"])
            ).total_seconds()
    except (ApiError, KeyError) as exc:
        applicant.error = str(exc)[:500]
        applicant.decided = time.monotonic()
    finally:
        api.close()


def clients_run(
    applicants: list[Applicant],
    *,
    concurrency: int,
    stopping: threading.Event,
    **options: Any,
) -> None:
    lock = threading.Lock()
    cursor = iter(applicants)
    done = [0]

    def run() -> None:
        while not stopping.is_set():
            with lock:
                applicant = next(cursor, None)
            if applicant is None:
                return
            applicant_run(applicant, stopping=stopping, **options)
            with lock:
                done[0] += 1
                count = done[0]
            if applicant.error:
                say(f"applicant {applicant.n}: {applicant.error}")
            if count % 10 == 0 or count == len(applicants):
                say(f"{count}/{len(applicants)} decided")

    threads = [threading.Thread(target=run, daemon=True) for _ in range(concurrency)]
    for thread in threads:
        thread.start()
    for thread in threads:
        while thread.is_alive():
            thread.join(timeout=0.5)


# --- the servers ----------------------------------------------------------------------------------


def world_prepare() -> str:
    """Migrate, load the demo configuration; returns a brand API key of the EU brand."""
    from django.core.management import call_command

    from entities.models import Brand
    from identity.api.auth import brand_api_key_create

    call_command("migrate", verbosity=0)
    call_command("seed_demo", quiet_logins=True)
    brand = Brand.objects.unscoped().get(code=BRAND)
    _key, secret = brand_api_key_create(brand=brand, name="bench-onboarding")
    return secret


def process_stop(process: subprocess.Popen[Any] | None, *, grace: float = 20.0) -> None:
    if process is None or process.poll() is not None:
        return
    process.send_signal(signal.SIGTERM)
    try:
        process.wait(timeout=grace)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait()


def wait_for(predicate: Any, *, seconds: float, what: str) -> None:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if predicate():
            return
        time.sleep(0.2)
    raise RuntimeError(f"{what} did not start within {seconds:.0f} s")


# --- figures --------------------------------------------------------------------------------------


TASK_LINE = re.compile(r"Task ([\w.]+)\[[0-9a-f-]+\] succeeded in ([0-9.]+)s")


def worker_tasks(log: Path) -> dict[str, list[float]]:
    tasks: dict[str, list[float]] = {}
    for line in log.read_text(errors="replace").splitlines():
        found = TASK_LINE.search(line)
        if found:
            tasks.setdefault(found.group(1).rsplit(".", 1)[-1], []).append(float(found.group(2)))
    return tasks


def where_the_time_went(applicants: list[Applicant]) -> None:
    """From the files' own timestamps: submit → first check run done (queue + OCR, screening,
    risk), → the vendor's answer recorded (liveness session opened + vendor delay), → the
    decision (second check run: queue + the same checks again)."""
    from kyc.models import KycCheck, KycFile

    ids = [a.file_id for a in applicants if a.file_id]
    files = {f.pk: f for f in KycFile.objects.unscoped().filter(pk__in=ids)}
    checks: dict[int, dict[str, KycCheck]] = {}
    for check in KycCheck.objects.unscoped().filter(kyc_file_id__in=ids).order_by("pk"):
        checks.setdefault(check.kyc_file_id, {}).setdefault(check.kind, check)
    legs: dict[str, list[float]] = {"first_run": [], "liveness": [], "second_run": []}
    for file_id, kyc_file in files.items():
        mrz = checks.get(file_id, {}).get("mrz")
        liveness = checks.get(file_id, {}).get("liveness")
        answered = liveness.evidence.get("answered_at") if liveness else None
        if not (mrz and kyc_file.submitted_at and kyc_file.decided_at and answered):
            continue
        answered_at = datetime.datetime.fromisoformat(answered)
        legs["first_run"].append((liveness.created_at - kyc_file.submitted_at).total_seconds())
        legs["liveness"].append((answered_at - liveness.created_at).total_seconds())
        legs["second_run"].append((kyc_file.decided_at - answered_at).total_seconds())
    for name, values in legs.items():
        if values:
            say(
                f"  {name:<11} p50 {percentile(values, 0.5):6.2f} s  "
                f"p95 {percentile(values, 0.95):6.2f} s  max {max(values):6.2f} s"
            )
    for applicant in applicants:
        if applicant.status and applicant.status != "approved" and applicant.file_id:
            kyc_file = files.get(applicant.file_id)
            failed = {
                kind: (check.result, check.evidence.get("reason") or check.evidence.get("reasons"))
                for kind, check in checks.get(applicant.file_id, {}).items()
                if check.result != "pass"
            }
            say(
                f"applicant {applicant.n} ({applicant.registration['given_name']} "
                f"{applicant.registration['family_name']}): {applicant.status}, risk "
                f"{kyc_file.risk_level if kyc_file else '?'} "
                f"{list(kyc_file.risk_breakdown) if kyc_file else ''}, checks {failed}"
            )


def figures_report(
    applicants: list[Applicant], elapsed: float, worker_log: Path, concurrency: int
) -> dict[str, Any]:
    decided = [a for a in applicants if a.seconds is not None and not a.error]
    seconds = [a.seconds for a in decided if a.seconds is not None]
    approved = sum(1 for a in decided if a.status == "approved")
    outcomes: dict[str, int] = {}
    for applicant in applicants:
        key = applicant.status if not applicant.error else "failed"
        outcomes[key] = outcomes.get(key, 0) + 1
    say(f"outcomes: {outcomes}")
    say("where the time went (from the files' timestamps):")
    where_the_time_went(applicants)
    for name, values in sorted(worker_tasks(worker_log).items()):
        say(
            f"  worker task {name}: {len(values)} runs, p50 {percentile(values, 0.5):.2f} s, "
            f"p95 {percentile(values, 0.95):.2f} s, total {sum(values):.1f} s"
        )
    server_side = [a.server_seconds for a in decided if a.server_seconds is not None]
    if server_side:
        say(
            f"  submitted_at → decided_at on the server: p50 {percentile(server_side, 0.5):.2f} s"
            f", p95 {percentile(server_side, 0.95):.2f} s"
        )
    first = min((a.started for a in applicants if a.started), default=0.0)
    last = max((a.decided for a in applicants if a.decided), default=0.0)
    span = last - first
    if elapsed:
        say(f"  wall time {elapsed:.1f} s for {len(applicants)} applicants")
    return {
        "applicants": len(applicants),
        "auto_approved_share": round(approved / len(applicants), 4) if applicants else 0.0,
        "time_to_decision_p50_s": round(percentile(seconds, 0.5), 2),
        "time_to_decision_p95_s": round(percentile(seconds, 0.95), 2),
        "per_minute": round(len(decided) / span * 60, 2) if span > 0 else 0.0,
        "concurrency": concurrency,
        "failures": len(applicants) - len(decided),
    }


# --- main -----------------------------------------------------------------------------------------


def _interrupted(_signum: int, _frame: object) -> None:
    raise KeyboardInterrupt


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--applicants", type=int, default=200)
    parser.add_argument("--concurrency", type=int, default=2, help="client threads")
    parser.add_argument("--warmup", type=int, default=1, help="applicants not counted")
    parser.add_argument("--liveness-delay", type=float, default=5.0, help="vendor's seconds")
    parser.add_argument("--poll", type=float, default=0.25, help="seconds between GET /me/kyc")
    parser.add_argument("--timeout", type=float, default=300.0, help="seconds to a decision")
    parser.add_argument("--web-workers", type=int, default=2, help="gunicorn workers")
    parser.add_argument("--database", default=DEFAULT_DATABASE)
    parser.add_argument("--seed", type=int, default=20260115)
    parser.add_argument("--keep", action="store_true", help="keep the database and documents")
    args = parser.parse_args()
    base_url = os.environ.get("DATABASE_URL", "")
    if not base_url or not os.environ.get("REDIS_URL"):
        say("DATABASE_URL and REDIS_URL are not set: run through `make bench-onboarding`")
        return 2
    # Ctrl-C and SIGTERM alike stop the clients, then the processes, then drop the database
    # (also when started from a shell that ignores SIGINT in background jobs).
    signal.signal(signal.SIGTERM, _interrupted)
    signal.signal(signal.SIGINT, _interrupted)
    var = Path(tempfile.mkdtemp(prefix="bench-onboarding-"))
    (var / "static").mkdir()  # the API serves no static files here; this keeps it quiet
    database_recreate(base_url, args.database)
    os.environ.update(
        {
            "DATABASE_URL": database_url(base_url, args.database),
            "BROKERCRM_VAR_DIR": str(var),
            "KYC_LIVENESS_WEBHOOK_SECRET": LIVENESS_SECRET,
            "DJANGO_SETTINGS_MODULE": "brokercrm.settings",
        }
    )
    import django

    django.setup()
    from django.db import connections
    from django.utils import timezone

    from brokercrm.simulators import SimulatorProcess

    vendor = server = worker = None
    stopping = threading.Event()
    worker_log = var / "worker.log"
    applicants: list[Applicant] = []
    elapsed = 0.0
    try:
        try:
            started = time.perf_counter()
            brand_key = world_prepare()
            say(f"database migrated and seeded in {time.perf_counter() - started:.1f} s")
            started = time.perf_counter()
            rng = random.Random(args.seed)
            everyone = applicants_make(rng, args.warmup + args.applicants, timezone.localdate())
            warmup, applicants = everyone[: args.warmup], everyone[args.warmup :]
            say(f"{len(everyone)} applicants made in {time.perf_counter() - started:.1f} s")
            connections.close_all()

            vendor = SimulatorProcess(
                "kyc.simulator", "--secret", LIVENESS_SECRET, "--delay", str(args.liveness_delay)
            ).start()
            port = free_port()
            env = {
                **os.environ,
                "DEBUG": "0",
                "SECURE_SSL_REDIRECT": "0",
                "PUBLIC_BASE_URL": f"http://127.0.0.1:{port}",
                "KYC_LIVENESS_URL": vendor.url,
            }
            server = gunicorn_start(port=port, workers=args.web_workers, env=env, cwd=ROOT)
            with worker_log.open("w") as log:
                worker = subprocess.Popen(  # noqa: S603 - our own worker
                    [
                        sys.executable,
                        "-m",
                        "celery",
                        "-A",
                        "brokercrm",
                        "worker",
                        "--pool",
                        "solo",
                        "--loglevel",
                        "INFO",
                        "--hostname",
                        f"bench-onboarding-{os.getpid()}@%h",
                        "--without-mingle",
                        "--without-gossip",
                    ],
                    cwd=ROOT,
                    env=env,
                    stdout=subprocess.DEVNULL,
                    stderr=log,
                )
            wait_for(lambda: port_open(port), seconds=60, what="gunicorn")
            wait_for(
                lambda: " ready." in worker_log.read_text(errors="replace"),
                seconds=60,
                what="the worker",
            )
            say(f"API on port {port}, one worker, liveness vendor at {vendor.url}")
            options = {
                "port": port,
                "brand_key": brand_key,
                "poll": args.poll,
                "timeout": args.timeout,
            }
            if warmup:
                clients_run(warmup, concurrency=1, stopping=stopping, **options)
                say(f"warm-up: {[(a.status or a.error) for a in warmup]}")
            say(
                f"{args.applicants} applicants from {args.concurrency} client threads "
                f"(load average {os.getloadavg()[0]:.1f})"
            )
            started = time.monotonic()
            clients_run(applicants, concurrency=args.concurrency, stopping=stopping, **options)
            elapsed = time.monotonic() - started
            say(f"done (load average {os.getloadavg()[0]:.1f})")
            for name, process in (("the API", server), ("the worker", worker)):
                if process.poll() is not None:
                    raise RuntimeError(f"{name} exited during the run ({process.returncode})")
        except KeyboardInterrupt:
            say("interrupted: stopping")
            raise
        except Exception:
            if worker_log.exists():
                say("worker log (end):\n" + worker_log.read_text(errors="replace")[-3000:])
            raise
        finally:
            stopping.set()
            process_stop(worker)
            process_stop(server)
            if vendor is not None:
                vendor.stop()
        figures = figures_report(applicants, elapsed, worker_log, args.concurrency)
    finally:
        connections.close_all()
        if args.keep:
            say(f"kept database {args.database} and documents in {var}")
        else:
            database_recreate(base_url, args.database, drop_only=True)
            shutil.rmtree(var, ignore_errors=True)
    print(json.dumps(figures))
    return 0


if __name__ == "__main__":
    try:
        sys.exit(main())
    except KeyboardInterrupt:
        sys.exit(130)
