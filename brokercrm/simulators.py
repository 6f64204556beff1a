"""What our simulated counterparts (PSP, trading server, KYC vendor) share.

Each simulator is its own process speaking HTTP/JSON so that the real connector code runs end to
end (DESIGN.md section 7). This module gives them:

- `JsonApp` + `serve()`: a threaded HTTP server with a route table, JSON bodies, JSON errors and
  `GET /health`; it prints `listening on http://HOST:PORT` once bound, so a parent that asked for
  port 0 learns the real one;
- `WebhookDispatcher`: deliveries scheduled after a delay, retried with backoff, in order of due
  time (so "late" and "out of order" are just delays);
- `SimulatorProcess`: starts a simulator module as a child process for tests, benchmarks and
  `make demo`, waits until it answers, and stops it.

Standard library only: the simulators must not depend on Django or on the project's database.
"""

from __future__ import annotations

import heapq
import json
import os
import re
import signal
import subprocess
import sys
import threading
import time
import urllib.error
import urllib.parse
import urllib.request
from collections.abc import Callable
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

MAX_BODY_BYTES = 1_000_000


class HttpError(Exception):
    """Raised by a route handler to answer `status` with `{"code", "detail"}`."""

    def __init__(self, status: int, code: str, detail: str) -> None:
        super().__init__(detail)
        self.status = status
        self.code = code
        self.detail = detail


@dataclass
class Request:
    method: str
    path: str
    params: dict[str, str]
    query: dict[str, str]
    headers: dict[str, str]
    raw_body: bytes

    def json(self) -> Any:
        if not self.raw_body:
            return {}
        try:
            return json.loads(self.raw_body)
        except ValueError:
            raise HttpError(400, "parse_error", "The body is not valid JSON.") from None

    def header(self, name: str) -> str | None:
        return self.headers.get(name.lower())


Handler = Callable[[Request], tuple[int, Any] | tuple[int, Any, dict[str, str]] | Any]


@dataclass
class JsonApp:
    name: str
    routes: list[tuple[str, re.Pattern[str], Handler]] = field(default_factory=list)

    def route(self, method: str, pattern: str) -> Callable[[Handler], Handler]:
        """Register a handler; `pattern` uses `{name}` for a path segment."""
        regex = re.compile("^" + re.sub(r"\{(\w+)\}", r"(?P<\1>[^/]+)", pattern) + "$")

        def register(handler: Handler) -> Handler:
            self.routes.append((method.upper(), regex, handler))
            return handler

        return register

    def dispatch(self, request: Request) -> tuple[int, Any] | tuple[int, Any, dict[str, str]]:
        """A handler answers a body, `(status, body)`, or `(status, body, headers)` (a page
        with its Content-Type, a redirect with its Location)."""
        if request.method == "GET" and request.path == "/health":
            return 200, {"status": "ok", "simulator": self.name}
        allowed = False
        for method, regex, handler in self.routes:
            match = regex.match(request.path)
            if not match:
                continue
            allowed = True
            if method != request.method:
                continue
            request.params = {k: urllib.parse.unquote(v) for k, v in match.groupdict().items()}
            result = handler(request)
            if isinstance(result, tuple):
                return result
            return 200, result
        if allowed:
            raise HttpError(405, "method_not_allowed", f"{request.method} is not allowed here.")
        raise HttpError(404, "not_found", f"No route for {request.path}.")


def _handler_class(app: JsonApp) -> type[BaseHTTPRequestHandler]:
    class JsonRequestHandler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"
        server_version = f"{app.name}-simulator"

        def log_message(self, format: str, *args: Any) -> None:
            if os.environ.get("SIMULATOR_ACCESS_LOG"):
                super().log_message(format, *args)

        def _answer(self, status: int, body: Any, extra: dict[str, str] | None = None) -> None:
            if isinstance(body, bytes | str):
                payload = body.encode() if isinstance(body, str) else body
                content_type = (extra or {}).pop("Content-Type", "text/plain; charset=utf-8")
            else:
                payload = json.dumps(body, separators=(",", ":"), default=str).encode()
                content_type = "application/json"
            self.send_response(status)
            self.send_header("Content-Type", content_type)
            self.send_header("Content-Length", str(len(payload)))
            for name, value in (extra or {}).items():
                self.send_header(name, value)
            self.end_headers()
            self.wfile.write(payload)

        def _handle(self) -> None:
            parsed = urllib.parse.urlsplit(self.path)
            length = int(self.headers.get("Content-Length") or 0)
            if length > MAX_BODY_BYTES:
                self._answer(413, {"code": "payload_too_large", "detail": "Body too large."})
                self.close_connection = True
                return
            raw = self.rfile.read(length) if length else b""
            request = Request(
                method=self.command,
                path=parsed.path.rstrip("/") or "/",
                params={},
                query=dict(urllib.parse.parse_qsl(parsed.query)),
                headers={k.lower(): v for k, v in self.headers.items()},
                raw_body=raw,
            )
            headers: dict[str, str] = {}
            try:
                answer = app.dispatch(request)
                status, body = answer[0], answer[1]
                if len(answer) == 3:
                    headers = dict(answer[2])  # type: ignore[misc]
            except HttpError as exc:
                status, body = exc.status, {"code": exc.code, "detail": exc.detail}
            except DropConnection:
                # Simulates a counterpart that acted but never answered.
                self.close_connection = True
                return
            except Exception as exc:  # a simulator bug must not kill the server thread
                status, body = 500, {"code": "simulator_error", "detail": repr(exc)}
            self._answer(status, body, headers)

        do_GET = do_POST = do_PUT = do_PATCH = do_DELETE = _handle

    return JsonRequestHandler


class DropConnection(Exception):
    """Raised by a handler to close the connection without answering (a timeout seen from
    the client), after whatever the handler already applied."""


class _Server(ThreadingHTTPServer):
    daemon_threads = True
    allow_reuse_address = True
    request_queue_size = 256


def serve(app: JsonApp, *, host: str = "127.0.0.1", port: int = 0) -> None:
    """Serve until SIGTERM/SIGINT. Prints the bound address first (flushed)."""
    server = _Server((host, port), _handler_class(app))
    bound_host, bound_port = server.server_address[:2]
    print(f"listening on http://{bound_host}:{bound_port}", flush=True)

    def stop(_signum: int, _frame: object) -> None:
        threading.Thread(target=server.shutdown, daemon=True).start()

    signal.signal(signal.SIGTERM, stop)
    signal.signal(signal.SIGINT, stop)
    try:
        server.serve_forever(poll_interval=0.2)
    finally:
        server.server_close()


def start_in_thread(
    app: JsonApp, *, host: str = "127.0.0.1", port: int = 0
) -> tuple[str, Callable[[], None]]:
    """Serve `app` from a thread of this process (in-process fakes in unit tests; port 0:
    any free one). Returns the base URL and a function that stops it."""
    server = _Server((host, port), _handler_class(app))
    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05})
    thread.daemon = True
    thread.start()
    bound_host, bound_port = server.server_address[:2]

    def stop() -> None:
        server.shutdown()
        server.server_close()

    return f"http://{bound_host}:{bound_port}", stop


@dataclass(order=True)
class _Delivery:
    due: float
    seq: int
    url: str = field(compare=False)
    body: bytes = field(compare=False)
    headers: dict[str, str] | Callable[[bytes], dict[str, str]] = field(compare=False)
    attempt: int = field(compare=False, default=1)


class WebhookDispatcher:
    """Delivers POSTs after a delay from one background thread, in due-time order; a delivery
    that fails (no connection, 5xx) is retried with exponential backoff up to `max_attempts`."""

    def __init__(self, *, max_attempts: int = 6, base_backoff: float = 0.5) -> None:
        self.max_attempts = max_attempts
        self.base_backoff = base_backoff
        self._queue: list[_Delivery] = []
        self._seq = 0
        self._cond = threading.Condition()
        self.delivered = 0
        self.failed = 0
        threading.Thread(target=self._run, name="webhooks", daemon=True).start()

    def schedule(
        self,
        url: str,
        body: bytes,
        headers: dict[str, str] | Callable[[bytes], dict[str, str]],
        *,
        delay: float = 0.0,
    ) -> None:
        """`headers` may be a function of the body, called at each attempt: a signature made
        when the delivery leaves, so a late or retried one is not stale on arrival."""
        with self._cond:
            self._seq += 1
            heapq.heappush(
                self._queue, _Delivery(time.monotonic() + delay, self._seq, url, body, headers)
            )
            self._cond.notify()

    def pending(self) -> int:
        with self._cond:
            return len(self._queue)

    def _run(self) -> None:
        while True:
            with self._cond:
                while not self._queue or self._queue[0].due > time.monotonic():
                    timeout = self._queue[0].due - time.monotonic() if self._queue else None
                    self._cond.wait(timeout)
                delivery = heapq.heappop(self._queue)
            if self._send(delivery):
                self.delivered += 1
            elif delivery.attempt < self.max_attempts:
                delivery.attempt += 1
                delivery.due = time.monotonic() + self.base_backoff * 2 ** (delivery.attempt - 2)
                with self._cond:
                    heapq.heappush(self._queue, delivery)
            else:
                self.failed += 1

    @staticmethod
    def _send(delivery: _Delivery) -> bool:
        request = urllib.request.Request(  # noqa: S310 - the URL is our own configuration
            delivery.url, data=delivery.body, method="POST"
        )
        request.add_header("Content-Type", "application/json")
        headers = delivery.headers
        for name, value in (headers(delivery.body) if callable(headers) else headers).items():
            request.add_header(name, value)
        try:
            with urllib.request.urlopen(request, timeout=10) as response:  # noqa: S310
                return response.status < 500
        except urllib.error.HTTPError as exc:
            # 4xx is an answer (e.g. a refused signature): retrying would not change it.
            return exc.code < 500
        except (OSError, urllib.error.URLError):
            return False


class SimulatorProcess:
    """A simulator module run as a child process: `with SimulatorProcess("payments.simulator",
    "--config", path) as sim: sim.url`. Asks for port 0 unless `--port` is given."""

    def __init__(self, module: str, *args: str, env: dict[str, str] | None = None) -> None:
        self.module = module
        self.args = list(args)
        self.env = env
        self.url = ""
        self.process: subprocess.Popen[str] | None = None

    def start(self, *, timeout: float = 30.0) -> SimulatorProcess:
        argv = [sys.executable, "-m", self.module, *self.args]
        if "--port" not in self.args:
            argv += ["--port", "0"]
        self.process = subprocess.Popen(  # noqa: S603 - our own module
            argv,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
            env={**os.environ, **(self.env or {})},
        )
        deadline = time.monotonic() + timeout
        assert self.process.stdout is not None
        while time.monotonic() < deadline:
            line = self.process.stdout.readline()
            if not line:
                raise RuntimeError(f"{self.module} exited before listening")
            found = re.search(r"listening on (http://\S+)", line)
            if found:
                self.url = found.group(1)
                break
        else:
            self.stop()
            raise RuntimeError(f"{self.module} did not start within {timeout} s")
        # Keep draining its output so a chatty simulator never blocks on a full pipe.
        threading.Thread(target=self._drain, daemon=True).start()
        return self

    def _drain(self) -> None:
        assert self.process is not None
        assert self.process.stdout is not None
        for _line in self.process.stdout:
            pass

    def stop(self) -> None:
        if self.process and self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
            try:
                self.process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()

    def __enter__(self) -> SimulatorProcess:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()
