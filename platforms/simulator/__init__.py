"""The trading-server simulator: one stdlib-only process hosting several named MT5- and
MT4-flavoured servers over HTTP/JSON, with a deterministic market, simulated traders, margin
calls, stop-outs and a SQLite state file (DESIGN.md section 7).

Run it with `python -m platforms.simulator --port 8702 --state var/trading-sim.sqlite3`.
Modules: `config` (servers and groups), `market` (symbols and prices), `records` (value types),
`store` (the SQLite file), `trading` (positions, revaluation, stop-out, traders), `operations`
(users and balance operations), `api_mt5` / `api_mt4` (the two wire flavours), `api_admin`
(test and benchmark controls), `api_common` (what they share), `__main__` (the process).
"""
