"""What the platforms app records in the audit log (`platforms.*`)."""

from __future__ import annotations

ACCOUNT_REQUESTED = "platforms.account_requested"
ACCOUNT_OPENED = "platforms.account_opened"
ACCOUNT_REFUSED = "platforms.account_refused"
# A login created twice for one account (a lost create that landed): the extra one disabled.
DUPLICATE_LOGIN_DISABLED = "platforms.duplicate_login_disabled"
ACCOUNT_STATUS_CHANGED = "platforms.account_status_changed"
# Disabled in the CRM because its client may no longer trade (a block, a restriction).
ACCOUNT_DISABLED = "platforms.account_disabled"
# The rights an account's status asks for pushed to its server, or refused there.
SERVER_RIGHTS_SET = "platforms.server_rights_set"
SERVER_RIGHTS_FAILED = "platforms.server_rights_failed"
CONTROL_FAILURE_RESOLVED = "platforms.control_failure_resolved"
# A server's rights that differed from the CRM's status set back.
DRIFT_CORRECTED = "platforms.drift_corrected"
# A live account whose login a complete reconcile did not find, and its finding again.
ACCOUNT_MISSING_ON_SERVER = "platforms.account_missing_on_server"
ACCOUNT_MISSING_RESOLVED = "platforms.account_missing_resolved"

SYNC_REQUESTED = "platforms.sync_requested"
RECONCILE_COMPLETED = "platforms.reconcile_completed"

# A trading event from the server's feed, on the client's timeline (`TradingEvent.Kind`).
MARGIN_CALL = "platforms.margin_call"
STOP_OUT = "platforms.stop_out"

TRADING_EVENT_BY_KIND = {
    "margin_call": MARGIN_CALL,
    "stop_out": STOP_OUT,
}

# Money between a wallet and a trading account.
TRANSFER_REQUESTED = "platforms.transfer_requested"
TRANSFER_COMPLETED = "platforms.transfer_completed"
TRANSFER_REFUSED = "platforms.transfer_refused"
# A client's quoted transfer (between wallets, or a wallet and an account) carried out.
CLIENT_TRANSFER_EXECUTED = "platforms.client_transfer_executed"

# Rows the demo data adds.
TRADINGSERVER_CREATED = "platforms.tradingserver_created"
GROUPMAPPING_CREATED = "platforms.groupmapping_created"
TRADINGACCOUNT_CREATED = "platforms.tradingaccount_created"
