"""The simulator base: routes, JSON errors, the JSON client's three outcomes, webhooks."""

from __future__ import annotations

import threading
import time

import pytest

from brokercrm.httpjson import UpstreamTimeout, UpstreamUnavailable, json_request
from brokercrm.simulators import (
    DropConnection,
    HttpError,
    JsonApp,
    WebhookDispatcher,
    start_in_thread,
)


def _app(received: list[bytes]) -> JsonApp:
    app = JsonApp("test")

    @app.route("GET", "/items/{item_id}")
    def item(request):  # type: ignore[no-untyped-def]
        if request.params["item_id"] == "missing":
            raise HttpError(404, "item_not_found", "No such item.")
        return {"id": request.params["item_id"], "q": request.query.get("q")}

    @app.route("POST", "/echo")
    def echo(request):  # type: ignore[no-untyped-def]
        return 201, request.json()

    @app.route("POST", "/hook")
    def hook(request):  # type: ignore[no-untyped-def]
        received.append(request.raw_body)
        return {"ok": True}

    @app.route("POST", "/drop")
    def drop(request):  # type: ignore[no-untyped-def]
        raise DropConnection

    return app


@pytest.fixture
def served():
    received: list[bytes] = []
    url, stop = start_in_thread(_app(received))
    yield url, received
    stop()


def test_routes_answer_json_with_codes(served) -> None:
    url, _ = served
    assert json_request("GET", f"{url}/health").body["status"] == "ok"
    answer = json_request("GET", f"{url}/items/a1?q=x")
    assert (answer.status, answer.body) == (200, {"id": "a1", "q": "x"})
    missing = json_request("GET", f"{url}/items/missing")
    assert (missing.status, missing.body["code"]) == (404, "item_not_found")
    assert json_request("POST", f"{url}/echo", body={"a": 1}).body == {"a": 1}
    assert json_request("DELETE", f"{url}/echo").body["code"] == "method_not_allowed"
    assert json_request("GET", f"{url}/nowhere").status == 404


def test_a_dropped_connection_is_a_timeout_and_no_listener_is_unavailable(served) -> None:
    url, _ = served
    with pytest.raises(UpstreamTimeout):
        json_request("POST", f"{url}/drop", body={})
    with pytest.raises(UpstreamUnavailable):
        json_request("GET", "http://127.0.0.1:9/health", timeout=2)


def test_webhooks_are_delivered_in_due_order_and_retried(served) -> None:
    url, received = served
    dispatcher = WebhookDispatcher(base_backoff=0.05)
    dispatcher.schedule(f"{url}/hook", b"late", {}, delay=0.3)
    dispatcher.schedule(f"{url}/hook", b"early", {}, delay=0.0)
    dispatcher.schedule("http://127.0.0.1:9/hook", b"never", {}, delay=0.0)
    deadline = time.monotonic() + 10
    while (len(received) < 2 or dispatcher.failed < 1) and time.monotonic() < deadline:
        time.sleep(0.05)
    assert received == [b"early", b"late"]
    assert dispatcher.failed == 1
    assert threading.active_count() >= 1
