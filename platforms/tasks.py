"""Celery tasks: thin, idempotent wrappers around the services (a task killed halfway and run
again writes nothing twice: cursors, unique tickets and operation ids see to it)."""

from __future__ import annotations

from typing import Any

from celery import shared_task

from .connectors import PlatformError
from .models import TradingServer
from .services import (
    trading_accounts_pending_resolve,
    trading_feed_poll,
    trading_rights_push,
    trading_server_reconcile,
    trading_transfers_pending_resolve,
)

_RETRYING: dict[str, Any] = {
    "acks_late": True,
    "autoretry_for": (PlatformError,),
    "retry_backoff": True,
    "retry_backoff_max": 300,
    "max_retries": 8,
}


def _active_servers() -> list[int]:
    return list(TradingServer.objects.unscoped().filter(active=True).values_list("pk", flat=True))


@shared_task(**_RETRYING)
def trading_server_reconcile_task(server_id: int) -> dict[str, Any]:
    return trading_server_reconcile(server_id=server_id).as_dict()


@shared_task(**_RETRYING)
def trading_feed_poll_task(server_id: int) -> dict[str, Any]:
    return trading_feed_poll(server_id=server_id).as_dict()


@shared_task(acks_late=True)
def trading_reconcile_all_task() -> int:
    """Beat: a full reconcile of every active server, one task each."""
    servers = _active_servers()
    for server_id in servers:
        trading_server_reconcile_task.delay(server_id)
    return len(servers)


@shared_task(acks_late=True)
def trading_feeds_poll_all_task() -> int:
    """Beat: the deal and event feeds of every active server, one task each."""
    servers = _active_servers()
    for server_id in servers:
        trading_feed_poll_task.delay(server_id)
    return len(servers)


@shared_task(**_RETRYING)
def trading_rights_push_task(account_ids: list[int]) -> int:
    return trading_rights_push(account_ids=account_ids)


@shared_task(acks_late=True)
def trading_pending_resolve_task() -> dict[str, Any]:
    """Beat: accounts and transfers whose server answer was lost, sent again by their id."""
    return {
        "accounts": trading_accounts_pending_resolve(),
        "transfers": trading_transfers_pending_resolve(),
    }
