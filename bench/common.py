"""What the benchmarks share: their own database, dropped and recreated on the server of
DATABASE_URL, and many active client profiles made without the registration path (which
each bench is not about)."""

from __future__ import annotations

from datetime import date
from typing import Any
from urllib.parse import urlparse, urlunparse


def database_url(base_url: str, name: str) -> str:
    parts = urlparse(base_url)
    return urlunparse(parts._replace(path=f"/{name}"))


def database_recreate(base_url: str, name: str, *, drop_only: bool = False) -> None:
    import psycopg

    with psycopg.connect(database_url(base_url, "postgres"), autocommit=True) as conn:
        # FORCE: a run killed half-way may have left a connection behind.
        conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        if not drop_only:
            conn.execute(f'CREATE DATABASE "{name}"')


def bench_profiles(*, entity: Any, brand: Any, count: int, label: str = "Client") -> list[Any]:
    """`count` active client profiles of `entity`, each with its own person, in bulk."""
    from identity.models import ClientProfile, Person

    persons = Person.objects.bulk_create(
        [
            Person(given_name=label, family_name=f"Bench{n}", birth_date=date(1980, 1, 1))
            for n in range(count)
        ],
        batch_size=5_000,
    )
    return ClientProfile.objects.bulk_create(
        [
            ClientProfile(
                entity=entity,
                person=person,
                brand=brand,
                status=ClientProfile.Status.ACTIVE,
                given_name=person.given_name,
                family_name=person.family_name,
                given_name_latin=person.given_name,
                family_name_latin=person.family_name,
                birth_date=person.birth_date,
                residence_country=entity.jurisdiction,
                email=f"{label.lower()}{n}@bench.test",
                email_canonical=f"{label.lower()}{n}@bench.test",
                routing_ruleset="bench",
            )
            for n, person in enumerate(persons)
        ],
        batch_size=5_000,
    )


def free_port() -> int:
    import socket

    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def port_open(port: int) -> bool:
    import socket

    with socket.socket() as sock:
        sock.settimeout(0.5)
        return sock.connect_ex(("127.0.0.1", port)) == 0


def gunicorn_start(*, port: int, workers: int, env: dict[str, str], cwd: Any) -> Any:
    """The application under gunicorn as in production: gthread workers, 4 threads each,
    keep-alive connections (the clients reuse theirs)."""
    import subprocess
    import sys

    return subprocess.Popen(  # noqa: S603 - our own application server
        [
            sys.executable,
            "-m",
            "gunicorn",
            "brokercrm.wsgi",
            "--bind",
            f"127.0.0.1:{port}",
            "--workers",
            str(workers),
            "--worker-class",
            "gthread",
            "--threads",
            "4",
            "--keep-alive",
            "30",
            "--log-level",
            "warning",
        ],
        cwd=cwd,
        env=env,
    )
