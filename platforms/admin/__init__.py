"""The back office of trading: servers and group mappings (configured by entity admins),
trading accounts per client with their transfers and events, deals, and compliance's queue of
control failures. Accounts, transfers, deals and events are written only by the services: the
admin opens accounts, moves money and starts syncs through them."""

from __future__ import annotations

from .accounts import EventInline, FundForm, OpenAccountForm, TradingAccountAdmin, TransferInline
from .common import ReadOnlyScopedAdmin
from .configuration import (
    GroupMappingAdmin,
    GroupMappingForm,
    SyncCursorAdmin,
    TradingServerAdmin,
    TradingServerForm,
)
from .records import ControlFailureAdmin, DealAdmin, TradingEventAdmin, TradingTransferAdmin

__all__ = [
    "ControlFailureAdmin",
    "DealAdmin",
    "EventInline",
    "FundForm",
    "GroupMappingAdmin",
    "GroupMappingForm",
    "OpenAccountForm",
    "ReadOnlyScopedAdmin",
    "SyncCursorAdmin",
    "TradingAccountAdmin",
    "TradingEventAdmin",
    "TradingServerAdmin",
    "TradingServerForm",
    "TradingTransferAdmin",
    "TransferInline",
]
