"""Liveness vendor simulator. See kyc/simulator/__init__.py."""

from __future__ import annotations

import argparse
import hashlib
import html
import json
import os
import threading
import time
import urllib.parse
import uuid
from typing import Any

from brokercrm.signing import SIGNATURE_HEADER, webhook_sign
from brokercrm.simulators import HttpError, JsonApp, Request, WebhookDispatcher, serve

OUTCOMES = ("passed", "failed")


class LivenessVendor:
    def __init__(
        self,
        *,
        delay: float,
        fail_rate: float,
        secret: str,
        api_key: str,
        public_url: str | None = None,
    ) -> None:
        self.delay = delay
        # Where clients' browsers reach the capture pages (else the Host our server called).
        self.public_url = public_url.rstrip("/") if public_url else None
        self.fail_rate = fail_rate
        self.secret = secret
        self.api_key = api_key
        self.sessions: dict[str, dict[str, Any]] = {}
        self.forced: dict[str, str] = {}
        self.lock = threading.Lock()
        self.webhooks = WebhookDispatcher()

    def outcome_for(self, reference: str) -> tuple[str, float]:
        if reference in self.forced:
            result = self.forced[reference]
            return result, 0.97 if result == "passed" else 0.12
        # The same reference always gets the same draw: reruns of a test agree.
        draw = int(hashlib.sha256(reference.encode()).hexdigest()[:8], 16) / 0xFFFFFFFF
        if draw < self.fail_rate:
            return "failed", round(0.05 + draw / 4, 3)
        return "passed", round(0.9 + draw / 20, 3)

    def session_open(self, body: dict[str, Any], *, base_url: str) -> dict[str, Any]:
        reference = str(body.get("reference") or "").strip()
        callback_url = str(body.get("callback_url") or "").strip()
        return_url = str(body.get("return_url") or "").strip()
        client_capture = body.get("client_capture") is True
        if not reference or len(reference) > 200:
            raise HttpError(422, "reference_invalid", "Give a reference of 1-200 characters.")
        if not callback_url.startswith(("http://", "https://")):
            raise HttpError(422, "callback_url_invalid", "Give an http(s) callback_url.")
        if return_url and not return_url.startswith(("http://", "https://")):
            raise HttpError(422, "return_url_invalid", "Give an http(s) return_url.")
        with self.lock:
            for session in self.sessions.values():
                # A repeated request for the same reference joins the open session.
                if session["reference"] == reference and session["status"] == "pending":
                    return session
            session_id = f"lv_{uuid.uuid4().hex[:20]}"
            session = {
                "session_id": session_id,
                "reference": reference,
                "status": "pending",
                "created": int(time.time()),
                "callback_url": callback_url,
                "capture_url": f"{self.public_url or base_url}/capture/{session_id}",
                "client_capture": client_capture,
                "return_url": return_url,
                "captured": False,
                "selfie_sha256": str(body.get("selfie_sha256") or ""),
            }
            self.sessions[session_id] = session
        if not client_capture:
            # Nobody comes to the capture page: the client is taken to have been through it.
            self._answer_later(session)
        return session

    def capture(self, session_id: str) -> dict[str, Any]:
        """The client went through the capture page: the verdict follows after the delay.
        Once only; a second visit changes nothing."""
        with self.lock:
            session = self.sessions.get(session_id)
            if session is None:
                raise HttpError(404, "session_not_found", "No such session.")
            if session["captured"] or not session["client_capture"]:
                return session
            session["captured"] = True
        self._answer_later(session)
        return session

    def _answer_later(self, session: dict[str, Any]) -> None:
        selfie_sha256 = session["selfie_sha256"]
        result, score = self.outcome_for(session["reference"])
        event = {
            "id": f"evt_{uuid.uuid4().hex[:20]}",
            "type": "liveness.completed",
            "created": int(time.time() + self.delay),
            "data": {
                "session_id": session["session_id"],
                "reference": session["reference"],
                "result": result,
                "score": score,
                "selfie_sha256": selfie_sha256,
            },
        }
        body = json.dumps(event, separators=(",", ":")).encode()
        with self.lock:
            session["status"] = result
        self.webhooks.schedule(
            session["callback_url"],
            body,
            lambda raw: {SIGNATURE_HEADER: webhook_sign(secret=self.secret, body=raw)},
            delay=self.delay,
        )


def build_app(vendor: LivenessVendor) -> JsonApp:
    app = JsonApp("kyc-liveness")

    def authorised(request: Request) -> None:
        if vendor.api_key and request.header("Authorization") != f"Bearer {vendor.api_key}":
            raise HttpError(401, "unauthorised", "A valid API key is required.")

    @app.route("POST", "/v1/liveness/sessions")
    def session_open(request: Request) -> tuple[int, Any]:
        authorised(request)
        body = request.json()
        if not isinstance(body, dict):
            raise HttpError(400, "parse_error", "The body must be a JSON object.")
        base_url = f"http://{request.header('Host') or '127.0.0.1'}"
        return 201, vendor.session_open(body, base_url=base_url)

    @app.route("GET", "/capture/{session_id}")
    def capture_page(request: Request) -> tuple[int, str, dict[str, str]]:
        session = vendor.sessions.get(request.params["session_id"])
        if session is None:
            return _page("Liveness check", "<p>This link is not valid.</p>", 404)
        if session["captured"] or not session["client_capture"]:
            return _page("Liveness check", "<p>You have been through this check.</p>")
        result, _score = vendor.outcome_for(session["reference"])
        return _page(
            "Liveness check",
            "<p>Look into the camera, then turn your head slowly to the left and to the "
            "right.</p>"
            f"<form method='post' action='/capture/{html.escape(session['session_id'])}'>"
            "<button type='submit'>I am ready</button></form>"
            f"<p class='note'>This is a simulated vendor page; this check will be "
            f"<strong>{html.escape(result)}</strong>.</p>",
        )

    @app.route("POST", "/capture/{session_id}")
    def capture_done(request: Request) -> tuple[int, str, dict[str, str]]:
        session = vendor.capture(request.params["session_id"])
        if session["return_url"]:
            query = urllib.parse.urlencode(
                {"session": session["session_id"], "status": "submitted"}
            )
            separator = "&" if "?" in session["return_url"] else "?"
            return 303, "", {"Location": f"{session['return_url']}{separator}{query}"}
        return _page("Liveness check", "<p>Thank you. You can close this page now.</p>")

    @app.route("GET", "/v1/liveness/sessions/{session_id}")
    def session_get(request: Request) -> Any:
        authorised(request)
        session = vendor.sessions.get(request.params["session_id"])
        if session is None:
            raise HttpError(404, "session_not_found", "No such session.")
        return session

    @app.route("POST", "/admin/outcomes")
    def outcome_force(request: Request) -> Any:
        body = request.json()
        if not isinstance(body, dict) or body.get("result") not in OUTCOMES:
            raise HttpError(422, "result_invalid", f"result is one of {', '.join(OUTCOMES)}.")
        vendor.forced[str(body.get("reference"))] = body["result"]
        return {"reference": body.get("reference"), "result": body["result"]}

    @app.route("PUT", "/admin/config")
    def config_set(request: Request) -> Any:
        body = request.json()
        try:
            if "delay" in body:
                vendor.delay = max(0.0, float(body["delay"]))
            if "fail_rate" in body:
                vendor.fail_rate = min(1.0, max(0.0, float(body["fail_rate"])))
        except (TypeError, ValueError):
            raise HttpError(422, "config_invalid", "delay and fail_rate are numbers.") from None
        return {"delay": vendor.delay, "fail_rate": vendor.fail_rate}

    @app.route("GET", "/admin/deliveries")
    def deliveries(request: Request) -> Any:
        return {
            "delivered": vendor.webhooks.delivered,
            "failed": vendor.webhooks.failed,
            "pending": vendor.webhooks.pending(),
        }

    return app


def _page(title: str, body: str, status: int = 200) -> tuple[int, str, dict[str, str]]:
    """A capture page: plain HTML, no scripts, no outside assets."""
    document = (
        "<!doctype html><html lang='en'><head><meta charset='utf-8'>"
        "<meta name='viewport' content='width=device-width, initial-scale=1'>"
        f"<title>{html.escape(title)}</title></head>"
        f"<body><h1>{html.escape(title)}</h1>{body}</body></html>"
    )
    headers = {"Content-Type": "text/html; charset=utf-8", "Cache-Control": "no-store"}
    return status, document, headers


def main() -> None:
    parser = argparse.ArgumentParser(description="Simulated KYC liveness vendor.")
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=8703)
    parser.add_argument("--delay", type=float, default=float(os.environ.get("LIVENESS_DELAY", 5)))
    parser.add_argument("--fail-rate", type=float, default=0.0)
    parser.add_argument(
        "--secret",
        default=os.environ.get("KYC_LIVENESS_WEBHOOK_SECRET", ""),
        help="webhook signing secret (default: $KYC_LIVENESS_WEBHOOK_SECRET)",
    )
    parser.add_argument("--api-key", default=os.environ.get("KYC_LIVENESS_API_KEY", ""))
    parser.add_argument(
        "--public-url",
        default=os.environ.get("KYC_LIVENESS_PUBLIC_URL") or None,
        help="where clients' browsers reach the capture pages (default: the Host called)",
    )
    args = parser.parse_args()
    if not args.secret:
        parser.error("a webhook secret is required (--secret or KYC_LIVENESS_WEBHOOK_SECRET)")
    vendor = LivenessVendor(
        delay=args.delay,
        fail_rate=args.fail_rate,
        secret=args.secret,
        api_key=args.api_key,
        public_url=args.public_url,
    )
    serve(build_app(vendor), host=args.host, port=args.port)


if __name__ == "__main__":
    main()
