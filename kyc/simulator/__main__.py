"""Liveness vendor simulator. See kyc/simulator/__init__.py."""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import threading
import time
import uuid
from typing import Any

from brokercrm.signing import SIGNATURE_HEADER, webhook_sign
from brokercrm.simulators import HttpError, JsonApp, Request, WebhookDispatcher, serve

OUTCOMES = ("passed", "failed")


class LivenessVendor:
    def __init__(self, *, delay: float, fail_rate: float, secret: str, api_key: str) -> None:
        self.delay = delay
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

    def session_open(self, body: dict[str, Any]) -> dict[str, Any]:
        reference = str(body.get("reference") or "").strip()
        callback_url = str(body.get("callback_url") or "").strip()
        if not reference or len(reference) > 200:
            raise HttpError(422, "reference_invalid", "Give a reference of 1-200 characters.")
        if not callback_url.startswith(("http://", "https://")):
            raise HttpError(422, "callback_url_invalid", "Give an http(s) callback_url.")
        with self.lock:
            for session in self.sessions.values():
                # A repeated request for the same reference joins the open session.
                if session["reference"] == reference and session["status"] == "pending":
                    return session
            session = {
                "session_id": f"lv_{uuid.uuid4().hex[:20]}",
                "reference": reference,
                "status": "pending",
                "created": int(time.time()),
                "callback_url": callback_url,
            }
            self.sessions[session["session_id"]] = session
        self._answer_later(session, str(body.get("selfie_sha256") or ""))
        return session

    def _answer_later(self, session: dict[str, Any], selfie_sha256: str) -> None:
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
        return 201, vendor.session_open(body)

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
    args = parser.parse_args()
    if not args.secret:
        parser.error("a webhook secret is required (--secret or KYC_LIVENESS_WEBHOOK_SECRET)")
    vendor = LivenessVendor(
        delay=args.delay, fail_rate=args.fail_rate, secret=args.secret, api_key=args.api_key
    )
    serve(build_app(vendor), host=args.host, port=args.port)


if __name__ == "__main__":
    main()
