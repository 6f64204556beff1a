"""The sync cursor of each trading server: where its reconcile and feeds stand, and its last
error."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from django.utils import timezone

from platforms.models import SyncCursor, TradingServer

SYNC_LABEL = "system:platforms.sync"


def sync_state(server: TradingServer) -> SyncCursor:
    state, _ = SyncCursor.objects.in_entity(server.entity_id).get_or_create(
        server=server, defaults={"entity_id": server.entity_id}
    )
    return state


def _state_update(server: TradingServer, **fields: Any) -> None:
    SyncCursor.objects.in_entity(server.entity_id).filter(server=server).update(**fields)


def _record_error(server: TradingServer, error: Exception) -> None:
    detail = f"{getattr(error, 'code', type(error).__name__)}: {error}"[:2000]
    _state_update(server, last_error=detail, last_error_at=timezone.now())


def last_sync(server: TradingServer) -> datetime | None:
    state = SyncCursor.objects.in_entity(server.entity_id).filter(server=server).first()
    return state.accounts_synced_at if state else None
