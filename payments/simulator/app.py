"""The simulated PSP's HTTP routes on the shared JsonApp (see the package docstring for the API)."""

from __future__ import annotations

import time
from collections.abc import Callable
from datetime import date
from typing import Any, TypeVar

from brokercrm.simulators import DropConnection, HttpError, JsonApp, Request

from . import pages
from .engine import PspSimulator
from .merchants import MerchantConfig

T = TypeVar("T")


def build_app(simulator: PspSimulator) -> JsonApp:
    app = JsonApp("psp")

    def slowly(merchant_id: str, work: Callable[[], T]) -> T:
        """Run `work`, then wait the merchant's latency before answering. The work comes first
        because a slow PSP has already acted when a client gives up waiting for it."""
        delay = simulator.merchant(merchant_id).latency_ms / 1000
        try:
            return work()
        finally:
            if delay:
                time.sleep(delay)

    def create(request: Request, kind: str) -> tuple[int, Any]:
        merchant_id = request.params["mid"]
        answer = slowly(
            merchant_id,
            lambda: simulator.transaction_create(
                merchant_id,
                kind=kind,
                idempotency_key=request.header("Idempotency-Key"),
                body=request.json(),
            ),
        )
        if answer.drop:
            raise DropConnection
        return answer.status, answer.body

    @app.route("POST", "/v1/merchants/{mid}/payments")
    def payment_create(request: Request) -> tuple[int, Any]:
        return create(request, "payment")

    @app.route("POST", "/v1/merchants/{mid}/payouts")
    def payout_create(request: Request) -> tuple[int, Any]:
        return create(request, "payout")

    @app.route("GET", "/v1/merchants/{mid}/transactions/{psp_id}")
    def transaction_detail(request: Request) -> dict[str, Any]:
        merchant_id = request.params["mid"]
        return slowly(
            merchant_id,
            lambda: simulator.transaction(merchant_id, request.params["psp_id"]),
        )

    @app.route("GET", "/v1/merchants/{mid}/transactions")
    def transaction_list(request: Request) -> dict[str, Any]:
        merchant_id = request.params["mid"]
        reference = request.query.get("reference")
        return {
            "results": slowly(merchant_id, lambda: simulator.transactions(merchant_id, reference))
        }

    @app.route("GET", "/v1/merchants/{mid}/settlements/{day}")
    def settlement(request: Request) -> Any:
        merchant_id = request.params["mid"]
        try:
            day = date.fromisoformat(request.params["day"])
        except ValueError:
            raise HttpError(422, "invalid_date", "The day must read YYYY-MM-DD.") from None
        text = slowly(merchant_id, lambda: simulator.settlement_csv(merchant_id, day))
        # JsonApp answers a str as text/plain and our JSON client reads JSON only, so a client
        # that asks for JSON gets the same CSV text wrapped; anyone else gets the file itself.
        if "application/json" in (request.header("Accept") or ""):
            return {
                "merchant_account": merchant_id,
                "day": day.isoformat(),
                "content_type": "text/csv",
                "csv": text,
            }
        return text

    def base_url(request: Request) -> str:
        return simulator.public_url or f"http://{request.header('Host') or '127.0.0.1'}"

    @app.route("POST", "/v1/merchants/{mid}/checkouts")
    def checkout_create(request: Request) -> tuple[int, Any]:
        merchant_id = request.params["mid"]
        status, checkout = slowly(
            merchant_id,
            lambda: simulator.checkout_create(
                merchant_id,
                idempotency_key=request.header("Idempotency-Key"),
                body=request.json(),
            ),
        )
        return status, checkout.view(base_url(request))

    @app.route("GET", "/v1/merchants/{mid}/checkouts/{checkout_id}")
    def checkout_detail(request: Request) -> dict[str, Any]:
        checkout = simulator.checkout(request.params["checkout_id"], request.params["mid"])
        return checkout.view(base_url(request))

    pages.add_routes(app, simulator)

    @app.route("GET", "/admin/merchants")
    def merchant_list(request: Request) -> dict[str, Any]:
        return {"merchants": simulator.merchants()}

    @app.route("GET", "/admin/merchants/{mid}")
    def merchant_detail(request: Request) -> dict[str, Any]:
        return simulator.merchant(request.params["mid"]).as_dict()

    @app.route("PUT", "/admin/merchants/{mid}")
    def merchant_put(request: Request) -> tuple[int, Any]:
        config = MerchantConfig.from_dict(request.params["mid"], request.json())
        created = simulator.merchant_put(config)
        return (201 if created else 200), config.as_dict()

    @app.route("POST", "/admin/merchants/{mid}/faults")
    def fault_add(request: Request) -> tuple[int, Any]:
        return 201, simulator.fault_add(request.params["mid"], request.json())

    @app.route("GET", "/admin/merchants/{mid}/faults")
    def fault_list(request: Request) -> dict[str, Any]:
        return {"faults": simulator.faults(request.params["mid"])}

    @app.route("POST", "/admin/reset")
    def reset(request: Request) -> dict[str, Any]:
        body = request.json()
        seed = body.get("seed") if isinstance(body, dict) else None
        if seed is not None and (not isinstance(seed, int) or isinstance(seed, bool)):
            raise HttpError(422, "invalid_seed", "seed must be a whole number.")
        simulator.reset(seed=seed)
        return {"status": "reset", "seed": simulator.seed}

    @app.route("GET", "/admin/deliveries")
    def deliveries(request: Request) -> dict[str, int]:
        return simulator.deliveries()

    return app
