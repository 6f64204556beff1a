"""Controls for tests, benchmarks and demos under `/admin/...`: move the market, inject faults,
add servers, seed and churn many accounts, delete a login and restore it, open and close
positions by hand.

None of this exists on a real trading server; it is how a test produces a margin call or a
lost answer on demand instead of waiting for one.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from brokercrm.simulators import HttpError, JsonApp, Request
from platforms.simulator import market, operations, trading
from platforms.simulator.api_common import Simulator, body_object, decimal_cents, int_field
from platforms.simulator.config import ConfigError, server_from_dict
from platforms.simulator.records import SimError

_STATUS = {"server_unknown": 404, "login_not_found": 404, "not_found": 404, "op_conflict": 409}
MAX_TICKS_PER_CALL = 100_000


def _admin(handler: Callable[[Request], Any]) -> Callable[[Request], Any]:
    def wrapped(request: Request) -> Any:
        try:
            return handler(request)
        except SimError as exc:
            raise HttpError(_STATUS.get(exc.kind, 400), exc.kind, exc.detail) from None
        except ConfigError as exc:
            raise HttpError(400, "invalid", str(exc)) from None

    return wrapped


def _server(body: dict[str, Any]) -> str:
    server = body.get("server")
    if not isinstance(server, str) or not server:
        raise SimError("invalid", "server is required.")
    return server


def _count(body: dict[str, Any], name: str, *, minimum: int, maximum: int) -> int:
    value = int_field(body, name)
    assert value is not None
    if not minimum <= value <= maximum:
        raise SimError("invalid", f"{name} must be from {minimum} to {maximum}.")
    return value


def register(app: JsonApp, sim: Simulator) -> None:
    store = sim.store

    def route(method: str, pattern: str) -> Callable[[Callable[[Request], Any]], None]:
        def decorate(handler: Callable[[Request], Any]) -> None:
            app.route(method, "/admin" + pattern)(_admin(handler))

        return decorate

    @route("GET", "/state")
    def state(request: Request) -> Any:
        with store.lock:
            counts = {
                name: {
                    "flavour": flavour,
                    "users": store.user_count(name),
                    "positions": len(store.positions(name)),
                }
                for name, flavour in store.servers()
            }
            return {
                "tick": store.tick,
                "seed": store.seed,
                "traders": sim.traders,
                "servers": counts,
                "faults": sim.faults.as_dict(),
            }

    @route("GET", "/market")
    def prices(request: Request) -> Any:
        with store.lock:
            return {
                "tick": store.tick,
                "symbols": {
                    name: {
                        "price": store.prices[name],
                        "base": spec.base,
                        "quote": spec.quote,
                        "contract_size": spec.contract_size,
                        "digits": spec.digits,
                    }
                    for name, spec in market.SYMBOLS.items()
                },
            }

    @route("POST", "/tick")
    def tick(request: Request) -> Any:
        ticks = _count(body_object(request), "ticks", minimum=1, maximum=MAX_TICKS_PER_CALL)
        return {"tick": trading.run_ticks(store, ticks, traders=sim.traders)}

    @route("POST", "/shock")
    def shock(request: Request) -> Any:
        body = body_object(request)
        percent = body.get("percent")
        if not isinstance(percent, int | float) or isinstance(percent, bool):
            raise SimError("invalid", "percent is a number, e.g. -5 for a 5% fall.")
        if not -99 <= percent <= 1_000:
            raise SimError("invalid", "percent must be from -99 to 1000.")
        symbol = str(body.get("symbol"))
        before, after = trading.shock(store, symbol, float(percent))
        return {"symbol": symbol, "price_before": before, "price_after": after}

    @route("POST", "/faults")
    def faults(request: Request) -> Any:
        body = body_object(request)
        sim.faults.arm(
            drop_after_apply=_count(body, "drop_after_apply", minimum=0, maximum=1_000)
            if "drop_after_apply" in body
            else 0,
            drop_before_apply=_count(body, "drop_before_apply", minimum=0, maximum=1_000)
            if "drop_before_apply" in body
            else 0,
        )
        return sim.faults.as_dict()

    @route("POST", "/servers")
    def servers(request: Request) -> Any:
        server = server_from_dict(body_object(request))
        store.ensure_server(server)
        return {"server": server.name, "flavour": store.server_flavour(server.name)}

    @route("POST", "/bulk-users")
    def bulk_users(request: Request) -> Any:
        body = body_object(request)
        server = _server(body)
        count = _count(body, "count", minimum=1, maximum=1_000_000)
        first, last = operations.bulk_users(
            store,
            server,
            count=count,
            group=str(body.get("group")),
            balance_c=decimal_cents(body.get("balance", "0.00"), "balance"),
            leverage=int_field(body, "leverage", required=False),
        )
        return {"server": server, "count": count, "first_login": first, "last_login": last}

    @route("POST", "/bulk-change")
    def bulk_change(request: Request) -> Any:
        body = body_object(request)
        fraction = body.get("fraction")
        if not isinstance(fraction, int | float) or isinstance(fraction, bool):
            raise SimError("invalid", "fraction is a number above 0 and at most 1.")
        seed = int_field(body, "seed", required=False) or 0
        server = _server(body)
        changed = operations.bulk_change(store, server, fraction=float(fraction), seed=seed)
        return {"server": server, "count": len(changed), "changed": changed}

    @route("POST", "/users/delete")
    def user_delete(request: Request) -> Any:
        body = body_object(request)
        server = _server(body)
        login = int_field(body, "login")
        assert login is not None
        operations.user_delete(store, server, login)
        return {"server": server, "login": login, "deleted": True}

    @route("POST", "/users/restore")
    def user_restore(request: Request) -> Any:
        body = body_object(request)
        server = _server(body)
        login = int_field(body, "login")
        assert login is not None
        account = operations.user_restore(store, server, login)
        return {"server": server, "login": account.login, "deleted": False}

    @route("POST", "/positions")
    def open_position(request: Request) -> Any:
        body = body_object(request)
        server = _server(body)
        login = int_field(body, "login")
        assert login is not None
        volume = body.get("volume")
        if not isinstance(volume, int | float) or isinstance(volume, bool):
            raise SimError("invalid", "volume is a number of lots.")
        store.server_flavour(server)
        ticket = trading.open_position(
            store,
            server,
            login,
            symbol=str(body.get("symbol")),
            side=str(body.get("side")),
            volume=float(volume),
            comment=str(body.get("comment") or "admin open"),
        )
        return {"server": server, "ticket": ticket, "login": login}

    @route("POST", "/positions/close")
    def close_position(request: Request) -> Any:
        body = body_object(request)
        server = _server(body)
        ticket = int_field(body, "ticket")
        assert ticket is not None
        with store.write():
            deal = trading.close_position(store, server, ticket, comment="admin close")
            login = store.deal(deal).login
            trading.revalue(store, server, login)
            store.emit(server, "account_updated", login, store.account_payload(server, login))
        return {"server": server, "deal": deal}
