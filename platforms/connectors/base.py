"""One interface over MT4- and MT5-style trading servers.

`TradingPlatform` is what the platforms app programs against; `Mt5Connector` and
`Mt4Connector` translate each wire flavour into the frozen dataclasses of `values` (Decimal money,
timezone-aware UTC datetimes, group names rather than ids, our three rights states).

Balance operations are the part that must never go wrong: each carries our operation id in
its comment (`operation_comment`, at most 31 characters because MT4 keeps no more), so that an
answer lost to a timeout can be found again on the server by that id instead of being
guessed at. `balance_operation` does that search itself and retries at most once, and only when
the server confirms the operation is not there.

The errors are in `errors`, the operation-id comment and the conversions in `wire`, the shared
HTTP connector in `transport`; everything is importable from here.
"""

from __future__ import annotations

from platforms.connectors.errors import (
    GroupUnknown,
    InsufficientMargin,
    LoginNotFound,
    OperationConflict,
    PlatformError,
    PlatformRefused,
    PlatformTimeout,
    PlatformUnavailable,
    UncertainOutcome,
)
from platforms.connectors.transport import HttpConnector
from platforms.connectors.values import (
    EVENT_KINDS,
    OPERATION_KINDS,
    RIGHTS,
    BalanceResult,
    Deal,
    DealKind,
    EventKind,
    OperationKind,
    Page,
    PlatformAccount,
    PlatformGroup,
    Rights,
    T,
    TradingEvent,
    TradingPlatform,
)
from platforms.connectors.wire import (
    CENT,
    COMMENT_MAX,
    COMMENT_PREFIX,
    MAX_AMOUNT,
    MAX_PAGE,
    checked_amount,
    checked_limit,
    cursor_int,
    from_unix,
    from_unix_ms,
    operation_comment,
    operation_id_from_comment,
    wire_amount,
)

__all__ = [
    "CENT",
    "COMMENT_MAX",
    "COMMENT_PREFIX",
    "EVENT_KINDS",
    "MAX_AMOUNT",
    "MAX_PAGE",
    "OPERATION_KINDS",
    "RIGHTS",
    "BalanceResult",
    "Deal",
    "DealKind",
    "EventKind",
    "GroupUnknown",
    "HttpConnector",
    "InsufficientMargin",
    "LoginNotFound",
    "OperationConflict",
    "OperationKind",
    "Page",
    "PlatformAccount",
    "PlatformError",
    "PlatformGroup",
    "PlatformRefused",
    "PlatformTimeout",
    "PlatformUnavailable",
    "Rights",
    "T",
    "TradingEvent",
    "TradingPlatform",
    "UncertainOutcome",
    "checked_amount",
    "checked_limit",
    "cursor_int",
    "from_unix",
    "from_unix_ms",
    "operation_comment",
    "operation_id_from_comment",
    "wire_amount",
]
