"""Every write of the platforms app (split by subject; import from here)."""

from .accounts import (
    account_comment,
    deals_link,
    trading_account_open,
    trading_account_provision,
    trading_account_status_set,
    trading_accounts_pending_resolve,
)
from .client_transfer_runs import transfer_execute
from .client_transfers import (
    Endpoint,
    QuoteExpired,
    QuoteUsed,
    TransferRefused,
    transfer_quote_create,
)
from .common import (
    AccountMissingOnServer,
    AccountNotActive,
    NoGroupMapping,
    ServerInactive,
    ServerMisconfigured,
    ServerOfAnotherEntity,
    TradingNotAllowed,
    server_connector,
)
from .controls import (
    control_failure_resolve,
    trading_accounts_block,
    trading_rights_push,
)
from .funding import (
    platform_ledger_account,
    trading_transfer_create,
    trading_transfer_send,
    trading_transfers_pending_resolve,
)
from .sync import (
    FeedReport,
    ReconcileReport,
    last_sync,
    sync_state,
    trading_feed_poll,
    trading_server_reconcile,
    trading_sync_request,
)

__all__ = [
    "AccountMissingOnServer",
    "AccountNotActive",
    "Endpoint",
    "FeedReport",
    "NoGroupMapping",
    "QuoteExpired",
    "QuoteUsed",
    "ReconcileReport",
    "ServerInactive",
    "ServerMisconfigured",
    "ServerOfAnotherEntity",
    "TradingNotAllowed",
    "TransferRefused",
    "account_comment",
    "control_failure_resolve",
    "deals_link",
    "last_sync",
    "platform_ledger_account",
    "server_connector",
    "sync_state",
    "trading_account_open",
    "trading_account_provision",
    "trading_account_status_set",
    "trading_accounts_block",
    "trading_accounts_pending_resolve",
    "trading_feed_poll",
    "trading_rights_push",
    "trading_server_reconcile",
    "trading_sync_request",
    "trading_transfer_create",
    "trading_transfer_send",
    "trading_transfers_pending_resolve",
    "transfer_execute",
    "transfer_quote_create",
]
