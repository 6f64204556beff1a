"""Positions, revaluation, margin call, stop-out and the simulated traders.

`revalue` is the one place equity and margin are computed; every change that can move them
(a tick, a shock, a deal, a balance operation) ends with it, and it is also where margin calls
are raised and stop-outs executed, so they happen whatever moved the account.
"""

from __future__ import annotations

import contextlib
import random
from typing import Any

from platforms.simulator import market
from platforms.simulator.records import SimError, cents, money_str, now_ms
from platforms.simulator.store import Store

# Per lot and per side, in the account currency: enough to show up in deals.
COMMISSION_PER_LOT_C = 300
# Swap is charged on close, per lot for every SWAP_TICKS ticks the position was held.
SWAP_PER_LOT_C = 50
SWAP_TICKS = 50
MAX_TRADER_POSITIONS = 3
LOT_STEP = 0.01


def _account_basis(store: Store, server: str, login: int) -> tuple[Any, ...]:
    row = store.db.execute(
        "SELECT u.balance_c, u.credit_c, u.leverage, u.mc_state, u.rights, g.currency,"
        " g.margin_call, g.stop_out FROM users u"
        " JOIN groups g ON g.server = u.server AND g.name = u.group_name"
        " WHERE u.server = ? AND u.login = ?",
        (server, login),
    ).fetchone()
    if row is None:
        raise SimError("login_not_found", f"Login {login} does not exist on {server}.")
    return tuple(row)


def _floating(
    store: Store, server: str, login: int, currency: str, leverage: int
) -> tuple[int, int, list[tuple[int, int]]]:
    """(profit_c, margin_c, [(ticket, profit_c), ...]) of the open positions."""
    profit_c = margin_c = 0
    per_position: list[tuple[int, int]] = []
    for ticket, symbol, side, volume, open_price in store.db.execute(
        "SELECT ticket, symbol, side, volume, open_price FROM positions"
        " WHERE server = ? AND login = ? ORDER BY ticket",
        (server, login),
    ).fetchall():
        profit = cents(
            market.position_profit(
                symbol=symbol,
                side=side,
                volume=volume,
                open_price=open_price,
                prices=store.prices,
                currency=currency,
            )
        )
        margin_c += cents(
            market.position_margin(
                symbol=symbol,
                volume=volume,
                leverage=leverage,
                prices=store.prices,
                currency=currency,
            )
        )
        profit_c += profit
        per_position.append((ticket, profit))
    return profit_c, margin_c, per_position


def _level(equity_c: int, margin_c: int) -> float | None:
    return equity_c * 100.0 / margin_c if margin_c else None


def revalue(store: Store, server: str, login: int) -> None:
    """Recompute equity and margin at current prices; raise a margin call when the level
    enters the zone, stop out (closing the largest losers first) when it reaches stop-out."""
    with store.write() as db:
        balance_c, credit_c, leverage, mc_state, _rights, currency, mc_level, so_level = (
            _account_basis(store, server, login)
        )
        profit_c, margin_c, per_position = _floating(store, server, login, currency, leverage)
        equity_c = balance_c + credit_c + profit_c
        level = _level(equity_c, margin_c)
        if level is not None and level < mc_level and not mc_state:
            # Raised even when the same move also stops the account out: the account went
            # through the margin-call zone, and a CRM wants to see that it did.
            store.emit(
                server, "margin_call", login, _level_payload(level, equity_c, margin_c, mc_level)
            )
            mc_state = 1
        closed: list[int] = []
        level_before = level
        while level is not None and level <= so_level and per_position:
            ticket, _profit = min(per_position, key=lambda item: item[1])
            close_position(store, server, ticket, comment=f"so: {level:.2f}%")
            closed.append(ticket)
            balance_c, credit_c = _account_basis(store, server, login)[:2]
            profit_c, margin_c, per_position = _floating(store, server, login, currency, leverage)
            equity_c = balance_c + credit_c + profit_c
            level = _level(equity_c, margin_c)
        if closed:
            assert level_before is not None
            store.emit(
                server,
                "stop_out",
                login,
                {
                    "margin_level": round(level_before, 2),
                    "threshold": so_level,
                    "closed_positions": closed,
                    "level_after": None if level is None else round(level, 2),
                    "equity_after": money_str(equity_c),
                    "margin_after": money_str(margin_c),
                },
            )
        if level is None or level >= mc_level:
            mc_state = 0
        db.execute(
            "UPDATE users SET equity_c = ?, margin_c = ?, mc_state = ?"
            " WHERE server = ? AND login = ?",
            (equity_c, margin_c, mc_state, server, login),
        )
        if closed:
            store.emit(server, "account_updated", login, store.account_payload(server, login))


def _level_payload(level: float, equity_c: int, margin_c: int, threshold: float) -> dict[str, Any]:
    return {
        "margin_level": round(level, 2),
        "threshold": threshold,
        "equity": money_str(equity_c),
        "margin": money_str(margin_c),
    }


def open_position(
    store: Store, server: str, login: int, *, symbol: str, side: str, volume: float, comment: str
) -> int:
    """Open at the current price if the account may trade and has the free margin."""
    if symbol not in market.SYMBOLS:
        raise SimError("invalid", f"Unknown symbol {symbol!r}.")
    if side not in ("buy", "sell"):
        raise SimError("invalid", "side is buy or sell.")
    steps = round(volume / LOT_STEP)
    if steps < 1 or abs(steps * LOT_STEP - volume) > 1e-9 or steps > 100_000:
        raise SimError("invalid", "volume is a positive multiple of 0.01 lots (at most 1000).")
    volume = round(steps * LOT_STEP, 2)
    with store.write() as db:
        revalue(store, server, login)
        _b, _c, leverage, _mc, rights, currency, _mcl, _sol = _account_basis(store, server, login)
        if rights != "enabled":
            raise SimError("trade_disabled", f"Login {login} may not trade ({rights}).")
        equity_c, margin_c = db.execute(
            "SELECT equity_c, margin_c FROM users WHERE server = ? AND login = ?", (server, login)
        ).fetchone()
        needed_c = cents(
            market.position_margin(
                symbol=symbol,
                volume=volume,
                leverage=leverage,
                prices=store.prices,
                currency=currency,
            )
        )
        if needed_c > equity_c - margin_c:
            raise SimError("no_money", f"Not enough free margin to open {volume} {symbol}.")
        commission_c = -round(volume * COMMISSION_PER_LOT_C)
        price = store.prices[symbol]
        ticket = store.insert_deal(
            server=server,
            login=login,
            action=side,
            entry="in",
            symbol=symbol,
            volume=volume,
            price=price,
            commission_c=commission_c,
            comment=comment[:31],
        )
        db.execute("UPDATE deals SET position = ? WHERE ticket = ?", (ticket, ticket))
        db.execute(
            "INSERT INTO positions (ticket, server, login, symbol, side, volume, open_price,"
            " open_tick, open_ms) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
            (ticket, server, login, symbol, side, volume, price, store.tick, now_ms()),
        )
        _apply_to_balance(store, server, login, commission_c)
        store.emit(server, "deal_added", login, deal_payload(store, ticket))
        revalue(store, server, login)
        store.emit(server, "account_updated", login, store.account_payload(server, login))
        return ticket


def close_position(store: Store, server: str, ticket: int, *, comment: str) -> int:
    """Close at the current price; profit, swap and commission go to the balance. The caller
    revalues (stop-out closes several positions before looking at the level again)."""
    with store.write() as db:
        row = db.execute(
            "SELECT p.login, p.symbol, p.side, p.volume, p.open_price, p.open_tick, g.currency"
            " FROM positions p JOIN users u ON u.server = p.server AND u.login = p.login"
            " JOIN groups g ON g.server = u.server AND g.name = u.group_name"
            " WHERE p.server = ? AND p.ticket = ?",
            (server, ticket),
        ).fetchone()
        if row is None:
            raise SimError("not_found", f"No open position {ticket} on {server}.")
        login, symbol, side, volume, open_price, open_tick, currency = row
        profit_c = cents(
            market.position_profit(
                symbol=symbol,
                side=side,
                volume=volume,
                open_price=open_price,
                prices=store.prices,
                currency=currency,
            )
        )
        swap_c = -round(volume * SWAP_PER_LOT_C) * ((store.tick - open_tick) // SWAP_TICKS)
        commission_c = -round(volume * COMMISSION_PER_LOT_C)
        deal = store.insert_deal(
            server=server,
            login=login,
            action="sell" if side == "buy" else "buy",
            entry="out",
            symbol=symbol,
            volume=volume,
            price=store.prices[symbol],
            profit_c=profit_c,
            commission_c=commission_c,
            swap_c=swap_c,
            comment=comment[:31],
            position=ticket,
        )
        db.execute("DELETE FROM positions WHERE ticket = ?", (ticket,))
        _apply_to_balance(store, server, login, profit_c + swap_c + commission_c)
        store.emit(server, "deal_added", login, deal_payload(store, deal))
        return deal


def _apply_to_balance(store: Store, server: str, login: int, delta_c: int) -> None:
    store.db.execute(
        "UPDATE users SET balance_c = balance_c + ?, updated_ms = ? WHERE server = ? AND login = ?",
        (delta_c, now_ms(), server, login),
    )


def deal_payload(store: Store, ticket: int) -> dict[str, Any]:
    deal = store.deal(ticket)
    return {
        "ticket": deal.ticket,
        "action": deal.action,
        "entry": deal.entry,
        "symbol": deal.symbol,
        "volume": deal.volume,
        "price": deal.price,
        "profit": money_str(deal.profit_c),
        "commission": money_str(deal.commission_c),
        "swap": money_str(deal.swap_c),
        "comment": deal.comment,
        "position": deal.position,
    }


def _revalue_open_accounts(store: Store) -> None:
    for server, login in store.db.execute(
        "SELECT DISTINCT server, login FROM positions ORDER BY server, login"
    ).fetchall():
        revalue(store, server, login)


def _traders_act(store: Store, rng: random.Random, traders: int) -> None:
    """The first `traders` enabled, funded logins of each server trade a little each tick.
    They size positions to a large share of free margin, so margin calls and stop-outs
    happen on their own over a few hundred ticks."""
    for server, _flavour in store.servers():
        logins = [
            login
            for (login,) in store.db.execute(
                "SELECT login FROM users WHERE server = ? AND rights = 'enabled'"
                " AND balance_c > 0 ORDER BY login LIMIT ?",
                (server, traders),
            ).fetchall()
        ]
        for login in logins:
            draw = rng.random()
            positions = store.positions(server, login)
            if positions and draw > 0.85:
                close_position(store, server, rng.choice(positions).ticket, comment="sim close")
                revalue(store, server, login)
                store.emit(server, "account_updated", login, store.account_payload(server, login))
            elif len(positions) < MAX_TRADER_POSITIONS and draw < 0.25:
                _trader_open(store, rng, server, login)


def _trader_open(store: Store, rng: random.Random, server: str, login: int) -> None:
    symbol = rng.choice(sorted(market.SYMBOLS))
    side = rng.choice(("buy", "sell"))
    share = rng.uniform(0.2, 0.7)
    account = store.account(server, login)
    one_lot_c = cents(
        market.position_margin(
            symbol=symbol,
            volume=1.0,
            leverage=account.leverage,
            prices=store.prices,
            currency=account.currency,
        )
    )
    steps = int(account.free_margin_c * share / max(one_lot_c, 1) / LOT_STEP)
    if steps < 1:
        return
    # A simulated client whose order is refused simply does not trade this tick.
    with contextlib.suppress(SimError):
        open_position(
            store,
            server,
            login,
            symbol=symbol,
            side=side,
            volume=min(steps, 10_000) * LOT_STEP,
            comment="sim open",
        )


def run_ticks(store: Store, ticks: int, *, traders: int) -> int:
    """Advance the market `ticks` steps, each in its own transaction; returns the tick."""
    for _ in range(ticks):
        tick, prices = store.tick, store.prices
        try:
            with store.write():
                store.tick += 1
                store.prices = market.advance(store.prices, seed=store.seed, tick=store.tick)
                if traders:
                    # Its own stream, so adding traders never changes the prices' walk.
                    rng = random.Random(f"{store.seed}:traders:{store.tick}")  # noqa: S311
                    _traders_act(store, rng, traders)
                _revalue_open_accounts(store)
                store.save_market()
        except BaseException:
            # The transaction rolled back; the in-memory market must not stay ahead of it.
            store.tick, store.prices = tick, prices
            raise
    return store.tick


def shock(store: Store, symbol: str, percent: float) -> tuple[float, float]:
    """Move one price at once and revalue everything that holds positions."""
    if symbol not in market.SYMBOLS:
        raise SimError("invalid", f"Unknown symbol {symbol!r}.")
    with store.lock:
        prices = store.prices
        before = prices[symbol]
        try:
            after = market.shocked(before, symbol, percent)
        except ValueError as exc:
            raise SimError("invalid", str(exc)) from None
        try:
            with store.write():
                store.prices = {**prices, symbol: after}
                _revalue_open_accounts(store)
                store.save_market()
        except BaseException:
            store.prices = prices  # rolled back: the market must not stay ahead of the file
            raise
    return before, after
