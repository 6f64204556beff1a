"""Which servers and groups the simulator hosts.

The defaults give one MT5-flavoured and one MT4-flavoured live server, which is what `make demo`
and the tests need; `--config servers.json` (same shape as `DEFAULT_SERVERS`) or
`POST /admin/servers` adds others. Group names follow each platform's habits: MT5 groups are
path-like (`real\\eu\\std-eur`), MT4 groups are short flat names with numeric ids.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from platforms.simulator.market import ACCOUNT_CURRENCIES

FLAVOURS = ("mt5", "mt4")


@dataclass(frozen=True)
class GroupConfig:
    name: str
    currency: str
    leverage: int
    margin_call: float  # margin level (%) below which the account is in margin call
    stop_out: float  # margin level (%) at or below which positions are closed
    group_id: int | None = None  # MT4 exposes numeric ids; assigned in order when omitted


@dataclass(frozen=True)
class ServerConfig:
    name: str
    flavour: str
    login_start: int
    groups: tuple[GroupConfig, ...]


DEFAULT_SERVERS: tuple[ServerConfig, ...] = (
    ServerConfig(
        name="EU-MT5-Live",
        flavour="mt5",
        login_start=5_000_000,
        groups=(
            GroupConfig("real\\eu\\std-eur", "EUR", 30, 100.0, 50.0),
            GroupConfig("real\\eu\\std-usd", "USD", 30, 100.0, 50.0),
            GroupConfig("real\\eu\\pro-usd", "USD", 100, 100.0, 50.0),
            GroupConfig("demo\\eu\\std-usd", "USD", 100, 100.0, 50.0),
        ),
    ),
    ServerConfig(
        name="SC-MT4-Live",
        flavour="mt4",
        login_start=400_000,
        groups=(
            GroupConfig("sc-std-usd", "USD", 500, 100.0, 50.0, 1),
            GroupConfig("sc-pro-usd", "USD", 200, 100.0, 50.0, 2),
            GroupConfig("sc-std-eur", "EUR", 500, 100.0, 50.0, 3),
            GroupConfig("demo-usd", "USD", 100, 100.0, 50.0, 4),
        ),
    ),
)


class ConfigError(ValueError):
    pass


def server_from_dict(raw: Any) -> ServerConfig:
    """Validate one server description (from a config file or the admin endpoint)."""
    if not isinstance(raw, dict):
        raise ConfigError("A server is an object with name, flavour, login_start and groups.")
    name = raw.get("name")
    flavour = raw.get("flavour")
    login_start = raw.get("login_start", 1_000)
    groups = raw.get("groups") or []
    if not isinstance(name, str) or not name or "/" in name or len(name) > 64:
        raise ConfigError("name must be a non-empty string without '/' (at most 64 characters).")
    if flavour not in FLAVOURS:
        raise ConfigError(f"flavour must be one of {', '.join(FLAVOURS)}.")
    if not isinstance(login_start, int) or isinstance(login_start, bool) or login_start < 1:
        raise ConfigError("login_start must be a positive integer.")
    if not isinstance(groups, list) or not groups:
        raise ConfigError("groups must be a non-empty list.")
    parsed = tuple(_group_from_dict(group) for group in groups)
    if len({group.name for group in parsed}) != len(parsed):
        raise ConfigError("group names must be unique within a server.")
    return ServerConfig(name, flavour, login_start, parsed)


def _group_from_dict(raw: Any) -> GroupConfig:
    if not isinstance(raw, dict):
        raise ConfigError("A group is an object with name, currency, leverage, levels.")
    name, currency = raw.get("name"), raw.get("currency")
    leverage = raw.get("leverage", 100)
    margin_call, stop_out = raw.get("margin_call", 100.0), raw.get("stop_out", 50.0)
    group_id = raw.get("group_id")
    if not isinstance(name, str) or not name or "/" in name or len(name) > 64:
        raise ConfigError("group name must be a non-empty string without '/'.")
    if currency not in ACCOUNT_CURRENCIES:
        raise ConfigError(f"group currency must be one of {', '.join(ACCOUNT_CURRENCIES)}.")
    if not isinstance(leverage, int) or isinstance(leverage, bool) or not 1 <= leverage <= 1000:
        raise ConfigError("leverage must be an integer from 1 to 1000.")
    levels = (margin_call, stop_out)
    if not all(isinstance(v, int | float) and not isinstance(v, bool) for v in levels):
        raise ConfigError("margin_call and stop_out are numbers (percent).")
    if not 0 < stop_out < margin_call:
        raise ConfigError("stop_out must be positive and below margin_call.")
    if group_id is not None and (not isinstance(group_id, int) or group_id < 1):
        raise ConfigError("group_id must be a positive integer.")
    return GroupConfig(name, currency, leverage, float(margin_call), float(stop_out), group_id)


def load_servers(path: Path | None) -> tuple[ServerConfig, ...]:
    if path is None:
        return DEFAULT_SERVERS
    raw = json.loads(path.read_text(encoding="utf-8"))
    servers = raw.get("servers") if isinstance(raw, dict) else raw
    if not isinstance(servers, list):
        raise ConfigError("The config file holds a list of servers (or {'servers': [...]}).")
    return tuple(server_from_dict(server) for server in servers)
