"""Connectors to trading servers behind one interface (`TradingPlatform`, see `base`)."""

from __future__ import annotations

from typing import Literal

from platforms.connectors.base import (
    BalanceResult,
    Deal,
    GroupUnknown,
    InsufficientMargin,
    LoginNotFound,
    OperationConflict,
    Page,
    PlatformAccount,
    PlatformError,
    PlatformGroup,
    PlatformRefused,
    PlatformTimeout,
    PlatformUnavailable,
    TradingEvent,
    TradingPlatform,
    operation_comment,
)
from platforms.connectors.mt4 import Mt4Connector
from platforms.connectors.mt5 import Mt5Connector

__all__ = [
    "BalanceResult",
    "Deal",
    "GroupUnknown",
    "InsufficientMargin",
    "LoginNotFound",
    "Mt4Connector",
    "Mt5Connector",
    "OperationConflict",
    "Page",
    "PlatformAccount",
    "PlatformError",
    "PlatformGroup",
    "PlatformRefused",
    "PlatformTimeout",
    "PlatformUnavailable",
    "TradingEvent",
    "TradingPlatform",
    "connector_for",
    "operation_comment",
]

_CONNECTORS: dict[str, type[Mt4Connector] | type[Mt5Connector]] = {
    "mt4": Mt4Connector,
    "mt5": Mt5Connector,
}


def connector_for(
    kind: Literal["mt4", "mt5"],
    base_url: str,
    server: str,
    *,
    timeout: float = 10.0,
    credentials: str | None = None,
) -> TradingPlatform:
    """The connector for a server of this kind; an unknown kind is a configuration error."""
    try:
        connector = _CONNECTORS[kind]
    except KeyError:
        raise ValueError(f"No connector for platform kind {kind!r} (mt4 or mt5).") from None
    return connector(base_url, server, timeout=timeout, credentials=credentials)
