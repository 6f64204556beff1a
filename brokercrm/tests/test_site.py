from __future__ import annotations

import os
import secrets
import subprocess
import sys
from pathlib import Path

import pytest
import redis
from django.test import Client

BASE_DIR = Path(__file__).resolve().parents[2]


def test_healthz_ok(db):
    response = Client().get("/healthz")
    assert response.status_code == 200
    assert response.json() == {"status": "ok", "database": "ok", "redis": "ok"}


def test_healthz_reports_redis_down(db, settings, tmp_path):
    settings.REDIS_URL = f"unix://{tmp_path}/nothing-here.sock"
    response = Client().get("/healthz")
    assert response.status_code == 503
    assert response.json() == {"status": "unavailable", "database": "ok", "redis": "unavailable"}


def test_openapi_schema_and_docs(db):
    schema = Client().get("/api/schema/")
    assert schema.status_code == 200
    text = schema.content.decode()
    for path in (
        "/api/v1/brands",
        "/api/v1/rule-sets",
        "/api/v1/audit-events",
        "/api/v1/country-routes/resolve",
    ):
        assert path in text
    docs = Client().get("/api/docs/")
    assert docs.status_code == 200
    assert b"swagger-ui" in docs.content


def test_request_id_header(db):
    response = Client().get("/healthz", HTTP_X_REQUEST_ID="not valid !!")
    assert len(response["X-Request-ID"]) == 32  # a fresh id replaces an unusable one


def test_deploy_check_with_production_settings_has_no_warnings():
    env = {
        **os.environ,
        "DEBUG": "0",
        "SECRET_KEY": secrets.token_urlsafe(64),
        "ALLOWED_HOSTS": "crm.example.com",
        "FIELD_ENCRYPTION_KEY": secrets.token_urlsafe(32),
    }
    env.pop("DJANGO_ALLOW_ASYNC_UNSAFE", None)  # set while browser tests run, never deployed
    result = subprocess.run(
        [sys.executable, "manage.py", "check", "--deploy", "--fail-level", "WARNING"],
        cwd=BASE_DIR,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert result.returncode == 0, result.stdout + result.stderr
    assert "System check identified no issues" in result.stdout


def test_settings_refuse_to_start_without_configuration():
    env = {
        key: value for key, value in os.environ.items() if key not in {"SECRET_KEY", "DATABASE_URL"}
    }
    result = subprocess.run(
        [sys.executable, "manage.py", "check"],
        cwd=BASE_DIR,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert result.returncode != 0
    assert "SECRET_KEY is not set" in result.stderr


def test_embedded_redis_starts_and_stops(tmp_path):
    from brokercrm.embedded import embedded_redis

    with embedded_redis(tmp_path / "redis") as url:
        client = redis.Redis.from_url(url)
        assert client.ping() is True
        client.close()
        socket_path = url.removeprefix("unix://")
    assert not Path(socket_path).exists()
    with pytest.raises(redis.exceptions.ConnectionError):
        redis.Redis(unix_socket_path=socket_path, socket_connect_timeout=1).ping()


def test_a_second_command_shares_the_running_embedded_redis(tmp_path):
    """`make demo-journey` (or a test run) beside a running demo uses its Redis and leaves it
    running when it ends."""
    from brokercrm.embedded import embedded_redis

    with embedded_redis(tmp_path / "redis") as url:
        with embedded_redis(tmp_path / "redis") as shared:
            assert shared == url
            redis.Redis.from_url(shared).set("k", "v")
        client = redis.Redis.from_url(url)
        assert client.get("k") == b"v"  # still the same server, still up
        client.close()


def test_a_one_shot_process_ends_without_stopping_the_others(capfd):
    import sys
    import time

    from brokercrm.supervisor import ProcessSpec, supervise

    started = time.monotonic()
    code = supervise(
        [
            ProcessSpec("once", [sys.executable, "-c", "print('journey done')"], one_shot=True),
            ProcessSpec("server", [sys.executable, "-c", "import time; time.sleep(1.5)"]),
        ]
    )
    # The server ran its whole time: the one-shot's end did not stop it; the server's own
    # end stopped the supervision as always.
    assert time.monotonic() - started >= 1.4
    assert code == 1
    out = capfd.readouterr().out
    assert "once finished with status 0" in out
    assert "server exited with status 0; stopping the rest" in out
