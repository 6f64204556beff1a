"""The simulated market: a dozen symbols whose prices follow seeded random walks.

Determinism matters more than realism here: the walk for tick `n` draws from
`Random(f"{seed}:{n}")`, so the same seed gives the same prices after a restart, whatever the
process did before. There is one price per symbol (no spread): a simulator that needs margin
calls to happen does not need bid/ask.
"""

from __future__ import annotations

import math
import random
from dataclasses import dataclass


@dataclass(frozen=True)
class Symbol:
    name: str
    base: str
    quote: str
    contract_size: int
    start_price: float
    digits: int
    # Standard deviation of one tick's log return: a few basis points, so a few hundred ticks
    # move a leveraged account noticeably without making every account blow up at once.
    tick_volatility: float


SYMBOLS: dict[str, Symbol] = {
    s.name: s
    for s in (
        Symbol("EURUSD", "EUR", "USD", 100_000, 1.08500, 5, 0.0004),
        Symbol("GBPUSD", "GBP", "USD", 100_000, 1.27000, 5, 0.0005),
        Symbol("USDJPY", "USD", "JPY", 100_000, 150.000, 3, 0.0004),
        Symbol("USDCHF", "USD", "CHF", 100_000, 0.88000, 5, 0.0004),
        Symbol("USDCAD", "USD", "CAD", 100_000, 1.36000, 5, 0.0003),
        Symbol("AUDUSD", "AUD", "USD", 100_000, 0.66000, 5, 0.0005),
        Symbol("NZDUSD", "NZD", "USD", 100_000, 0.61000, 5, 0.0005),
        Symbol("EURGBP", "EUR", "GBP", 100_000, 0.85500, 5, 0.0003),
        Symbol("EURJPY", "EUR", "JPY", 100_000, 162.700, 3, 0.0005),
        Symbol("GBPJPY", "GBP", "JPY", 100_000, 190.500, 3, 0.0006),
        Symbol("XAUUSD", "XAU", "USD", 100, 2350.00, 2, 0.0008),
        Symbol("XAGUSD", "XAG", "USD", 5_000, 28.000, 3, 0.0010),
    )
}

# How to value one unit of a currency in USD from the current prices: (symbol, inverted).
_USD_LEGS: dict[str, tuple[str, bool]] = {
    "EUR": ("EURUSD", False),
    "GBP": ("GBPUSD", False),
    "AUD": ("AUDUSD", False),
    "NZD": ("NZDUSD", False),
    "JPY": ("USDJPY", True),
    "CHF": ("USDCHF", True),
    "CAD": ("USDCAD", True),
}

ACCOUNT_CURRENCIES = ("USD", "EUR", "GBP", "CHF", "JPY")


def start_prices() -> dict[str, float]:
    return {name: symbol.start_price for name, symbol in SYMBOLS.items()}


def advance(prices: dict[str, float], *, seed: int, tick: int) -> dict[str, float]:
    """Prices after tick `tick`, drawn only from (seed, tick) so a replay gives the same walk."""
    rng = random.Random(f"{seed}:{tick}")  # noqa: S311 - reproducible, not secret
    moved: dict[str, float] = {}
    for name in sorted(prices):
        symbol = SYMBOLS[name]
        step = math.exp(rng.gauss(0.0, symbol.tick_volatility))
        moved[name] = round(prices[name] * step, symbol.digits)
    return moved


def shocked(price: float, symbol: str, percent: float) -> float:
    moved = round(price * (1.0 + percent / 100.0), SYMBOLS[symbol].digits)
    if moved <= 0:
        raise ValueError("A shock may not take a price to zero or below.")
    return moved


def usd_value(currency: str, prices: dict[str, float]) -> float:
    """USD value of one unit of `currency` at the current prices."""
    if currency == "USD":
        return 1.0
    symbol, inverted = _USD_LEGS[currency]
    price = prices[symbol]
    return 1.0 / price if inverted else price


def convert(amount: float, source: str, target: str, prices: dict[str, float]) -> float:
    """Convert through USD: the brief asks for a simple conversion, not cross-rate accuracy."""
    if source == target:
        return amount
    return amount * usd_value(source, prices) / usd_value(target, prices)


def position_profit(
    *,
    symbol: str,
    side: str,
    volume: float,
    open_price: float,
    prices: dict[str, float],
    currency: str,
) -> float:
    """Floating profit of a position in the account currency."""
    spec = SYMBOLS[symbol]
    direction = 1.0 if side == "buy" else -1.0
    in_quote = (prices[symbol] - open_price) * direction * volume * spec.contract_size
    return convert(in_quote, spec.quote, currency, prices)


def position_margin(
    *, symbol: str, volume: float, leverage: int, prices: dict[str, float], currency: str
) -> float:
    """margin = volume * contract * price / leverage, in the quote currency, then converted."""
    spec = SYMBOLS[symbol]
    in_quote = volume * spec.contract_size * prices[symbol] / max(leverage, 1)
    return convert(in_quote, spec.quote, currency, prices)
