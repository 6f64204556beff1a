"""Sync with the trading servers.

- Full reconcile (`trading_server_reconcile`): every account of a server, page by page; each
  page is compared with the CRM in memory and only the rows that differ are written (one
  `bulk_update` of the changed ones), in the same transaction as the page's cursor, so a
  reconcile killed halfway continues from the last page it committed. Every page also runs
  the drift check of CRM status against server rights (see `controls`).
  Pages come in login order, so each page also accounts for every CRM login between the
  previous page and its own last login: live accounts among them the server did not list are
  kept on the cursor as unseen. Only when the last page has been read (a complete listing)
  are they asked for one by one and those the server confirms absent recorded as missing; an
  error anywhere marks nothing.
- Feed polling (`trading_feed_poll`): deals from the stored deals cursor, imported ticket by
  ticket (unique per server and ticket: a re-import changes nothing), and the event feed from
  the stored events cursor: margin calls and stop-outs are kept against the account and put on
  the client's timeline (audit), rights changes trigger a drift check of those logins.

One process at a time per server and job: a session advisory lock, released when the process
or its connection dies.

The passes start here; a reconcile's pages are in `reconcile`, the deal and event feeds in
`feed`, the account row mapping in `rows` and the per-server cursor in `cursors`.
"""

from __future__ import annotations

import time
from typing import Any

from django.db import transaction
from django.utils import timezone

from audit.services import audit_record
from brokercrm.gate import require
from platforms.connectors import PlatformError
from platforms.models import TradingServer

from .. import audit_actions as actions
from .common import LOCK_FEED, LOCK_RECONCILE, server_connector, server_lock
from .controls import drifts_correct, push_grace
from .cursors import SYNC_LABEL, _record_error, _state_update, last_sync, sync_state
from .feed import MAX_FEED_DRIFT_CHECKS, FeedReport, _consume_events, _import_deals
from .reconcile import DEFAULT_PAGE, ReconcileReport, _controls_sweep, _Coverage, _reconcile_page
from .rows import ACCOUNT_FIELDS, _remote_row, accounts_bulk_update

__all__ = [
    "ACCOUNT_FIELDS",
    "DEFAULT_PAGE",
    "MAX_FEED_DRIFT_CHECKS",
    "SYNC_LABEL",
    "FeedReport",
    "ReconcileReport",
    "_remote_row",
    "accounts_bulk_update",
    "last_sync",
    "sync_state",
    "trading_feed_poll",
    "trading_server_reconcile",
    "trading_sync_request",
]


def trading_server_reconcile(
    *, server_id: int, page_size: int = DEFAULT_PAGE, max_pages: int | None = None
) -> ReconcileReport:
    """Bring every account of the server in line with what the server holds, continuing a
    pass that was interrupted. `max_pages` stops early (the next call continues)."""
    started = time.perf_counter()
    server = TradingServer.objects.unscoped().get(pk=server_id)
    report = ReconcileReport(server=server.server_name)
    with server_lock(LOCK_RECONCILE, server.pk) as acquired:
        if not acquired:
            report.skipped = True
            return report
        platform = server_connector(server)
        state = sync_state(server)
        report.resumed_from = state.accounts_cursor
        cursor = state.accounts_cursor or None
        coverage = _Coverage(state.accounts_covered_through, list(state.accounts_unseen))
        if cursor is not None and coverage.through is None:
            # A pass begun before logins were tracked (or that read nothing yet): what it
            # covered is unknown, so it starts again; unchanged rows are not written twice.
            cursor = None
            report.resumed_from = ""
        if cursor is None:
            report.blocked = _controls_sweep(server)
            coverage = _Coverage(None, [])
            _state_update(
                server,
                accounts_run_started_at=timezone.now(),
                accounts_covered_through=None,
                accounts_unseen=[],
            )
        grace = push_grace()
        try:
            while True:
                page = platform.accounts_page(cursor, page_size)
                corrections = _reconcile_page(server, platform, page, report, grace, coverage)
                if corrections:
                    report.corrected += drifts_correct(
                        server=server, platform=platform, drifts=corrections
                    )
                if page.next_cursor is None:
                    report.completed = True
                    break
                cursor = page.next_cursor
                if max_pages is not None and report.pages >= max_pages:
                    break
        except PlatformError as error:
            _record_error(server, error)
            raise
    report.seconds = round(time.perf_counter() - started, 3)
    return report


def trading_feed_poll(*, server_id: int, page_size: int = 1_000, max_pages: int = 50) -> FeedReport:
    """Import new deals and consume new events of one server from the stored cursors."""
    started = time.perf_counter()
    server = TradingServer.objects.unscoped().get(pk=server_id)
    report = FeedReport(server=server.server_name)
    with server_lock(LOCK_FEED, server.pk) as acquired:
        if not acquired:
            report.skipped = True
            return report
        platform = server_connector(server)
        state = sync_state(server)
        try:
            _import_deals(server, platform, state.deals_cursor, page_size, max_pages, report)
            _consume_events(server, platform, state.events_cursor, page_size, max_pages, report)
        except PlatformError as error:
            _record_error(server, error)
            raise
        _state_update(server, feed_polled_at=timezone.now())
    report.seconds = round(time.perf_counter() - started, 3)
    return report


def trading_sync_request(*, actor: Any, server: TradingServer) -> None:
    """Staff's "sync now": a full reconcile and a feed poll, queued after commit."""
    from platforms.tasks import trading_feed_poll_task, trading_server_reconcile_task

    require(
        actor,
        "platforms.sync_tradingserver",
        server,
        detail="You may not sync this trading server.",
    )
    with transaction.atomic(durable=True):
        audit_record(
            actor=actor,
            action=actions.SYNC_REQUESTED,
            entity=server.entity_id,
            obj=server,
            after={"server": server.server_name},
        )
        server_id = server.pk
        transaction.on_commit(lambda: trading_server_reconcile_task.delay(server_id))
        transaction.on_commit(lambda: trading_feed_poll_task.delay(server_id))
