"""`python -m platforms.simulator --port 8702 --state var/trading-sim.sqlite3 [--seed 42]
[--tick-ms 1000] [--traders N] [--config servers.json] [--host 127.0.0.1]`

With `--tick-ms 0` the market moves only by `POST /admin/tick` and `POST /admin/shock`, which is
what tests want: every price, deal and event then follows from their own calls.
"""

from __future__ import annotations

import argparse
import sys
import threading
from pathlib import Path

from brokercrm.simulators import JsonApp, serve
from platforms.simulator import api_admin, api_mt4, api_mt5, trading
from platforms.simulator.api_common import Faults, Simulator
from platforms.simulator.config import load_servers
from platforms.simulator.store import Store


def build_app(sim: Simulator) -> JsonApp:
    app = JsonApp("trading")
    api_mt5.register(app, sim)
    api_mt4.register(app, sim)
    api_admin.register(app, sim)
    return app


def _ticker(sim: Simulator, tick_ms: int, stop: threading.Event) -> None:
    while not stop.wait(tick_ms / 1000):
        try:
            trading.run_ticks(sim.store, 1, traders=sim.traders)
        except Exception as exc:  # a bad tick must not stop the market for good
            print(f"tick failed: {exc!r}", file=sys.stderr, flush=True)


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="python -m platforms.simulator")
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=8702)
    parser.add_argument("--state", type=Path, default=Path("var/trading-sim.sqlite3"))
    parser.add_argument("--seed", type=int, default=42)
    parser.add_argument("--tick-ms", type=int, default=1000, help="0: move only on /admin/tick")
    parser.add_argument("--traders", type=int, default=20, help="simulated clients per server")
    parser.add_argument("--config", type=Path, default=None, help="servers and groups (JSON)")
    args = parser.parse_args(argv)
    if args.tick_ms < 0 or args.traders < 0:
        parser.error("--tick-ms and --traders must not be negative")

    args.state.parent.mkdir(parents=True, exist_ok=True)
    store = Store(args.state, seed=args.seed)
    for server in load_servers(args.config):
        store.ensure_server(server)
    sim = Simulator(store=store, faults=Faults(), traders=args.traders)

    stop = threading.Event()
    if args.tick_ms:
        threading.Thread(
            target=_ticker, args=(sim, args.tick_ms, stop), name="ticker", daemon=True
        ).start()
    try:
        serve(build_app(sim), host=args.host, port=args.port)
    finally:
        stop.set()
        # Take the lock so a tick in progress finishes its transaction before the file closes.
        store.close()


if __name__ == "__main__":
    main()
