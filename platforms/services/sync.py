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
"""

from __future__ import annotations

import time
from dataclasses import asdict, dataclass
from datetime import datetime, timedelta
from typing import Any

from django.db import connection, transaction
from django.utils import timezone

from audit.services import audit_record
from brokercrm.errors import PermissionDenied
from brokercrm.scoping import scope_for
from platforms.connectors import LoginNotFound, Page, PlatformAccount, PlatformError
from platforms.connectors import TradingPlatform as Platform
from platforms.models import Deal, SyncCursor, TradingAccount, TradingEvent, TradingServer
from platforms.selectors import DEAL_IMPORT_LOCK, blocked_accounts

from .accounts import accounts_by_login
from .common import LOCK_FEED, LOCK_RECONCILE, server_connector, server_lock
from .controls import (
    LIVE_STATUSES,
    Drift,
    MissingAccount,
    drift_of,
    drifts_correct,
    drifts_record,
    missing_accounts_record,
    push_grace,
    trading_accounts_block,
)

SYNC_LABEL = "system:platforms.sync"
ACCOUNT_FIELDS = (
    "group",
    "leverage",
    "server_rights",
    "balance",
    "credit",
    "equity",
    "margin",
    "free_margin",
    "margin_level",
)
_COMPARED = ("pk", "login", "status", "status_changed_at", "rights_pushed_at", *ACCOUNT_FIELDS)
DEFAULT_PAGE = 5_000
# Rights changes seen in the feed are checked one login at a time; a burst larger than this
# is left to the next full reconcile.
MAX_FEED_DRIFT_CHECKS = 200


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


# --- full reconcile ----------------------------------------------------------------------------


@dataclass
class ReconcileReport:
    server: str
    completed: bool = False
    skipped: bool = False
    resumed_from: str = ""
    pages: int = 0
    seen: int = 0
    unknown: int = 0  # logins on the server the CRM does not hold
    rows_written: int = 0
    blocked: int = 0  # accounts the controls sweep disabled before the pass
    drifts: int = 0
    corrected: int = 0
    missing: int = 0  # live CRM accounts whose login the server does not hold (complete pass)
    missing_new: int = 0
    missing_resolved: int = 0
    seconds: float = 0.0

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)


@dataclass
class _Coverage:
    """How far the pass in progress has accounted for the CRM's logins (kept on the cursor)."""

    through: int | None
    unseen: list[int]


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


def _controls_sweep(server: TradingServer) -> int:
    """Before each pass: accounts the CRM still lets trade although their client may not."""
    profile_ids = set(blocked_accounts(server=server).values_list("profile_id", flat=True))
    if not profile_ids:
        return 0
    try:
        result = trading_accounts_block(
            profile_ids=profile_ids, reason="Control sweep: the client may not trade."
        )
    except PlatformError:
        return 0  # disabled in the CRM; the drift check sets the server once the grace is over
    return result["disabled"]


def _remote_row(remote: PlatformAccount) -> tuple[Any, ...]:
    return (
        remote.group,
        remote.leverage,
        remote.rights,
        remote.balance,
        remote.credit,
        remote.equity,
        remote.margin,
        remote.free_margin,
        remote.margin_level,
    )


_SQL_TYPES = {
    "group": "varchar",
    "leverage": "integer",
    "server_rights": "varchar",
    "margin_level": "numeric",
    "synced_at": "timestamptz",
}
_WRITTEN = (*ACCOUNT_FIELDS, "synced_at")
_ROWS_PER_STATEMENT = 2_000  # 11 parameters a row, under PostgreSQL's 65,535


def accounts_bulk_update(rows: list[TradingAccount]) -> None:
    """Write the sync fields of the changed rows: one `UPDATE … FROM (VALUES …)` per 2,000.

    Django's `bulk_update` builds a `CASE WHEN id = … THEN …` per field and row: about 1.5 ms
    of Python per row here (10,000 changed accounts would take 15 s) and a CASE that the
    database walks for every row it updates. A join on a VALUES list costs neither."""
    columns = ", ".join(f'"{name}" = v."{name}"' for name in _WRITTEN)
    names = ", ".join(f'"{name}"' for name in _WRITTEN)
    row_sql = (
        "(%s::bigint, "
        + ", ".join(f"%s::{_SQL_TYPES.get(name, 'numeric')}" for name in _WRITTEN)
        + ")"
    )
    table = TradingAccount._meta.db_table
    with connection.cursor() as cursor:
        for start in range(0, len(rows), _ROWS_PER_STATEMENT):
            chunk = rows[start : start + _ROWS_PER_STATEMENT]
            params: list[Any] = []
            for row in chunk:
                params.append(row.pk)
                params.extend(getattr(row, name) for name in _WRITTEN)
            cursor.execute(
                f'UPDATE {table} AS a SET {columns}, "updated_at" = v."synced_at" '
                f"FROM (VALUES {', '.join([row_sql] * len(chunk))}) AS v (id, {names}) "
                "WHERE a.id = v.id",
                params,
            )


def _reconcile_page(
    server: TradingServer,
    platform: Platform,
    page: Page[PlatformAccount],
    report: ReconcileReport,
    grace: timedelta,
    coverage: _Coverage,
) -> list[Drift]:
    now = timezone.now()
    changed: list[TradingAccount] = []
    drifts: list[Drift] = []
    finished = page.next_cursor is None
    unseen: list[int] = []
    if page.items or finished:
        remote_by_login = {remote.login: remote for remote in page.items}
        # Both flavours page in login order: one range scan instead of a long IN list. The
        # range starts after the previous page's last login (the CRM logins in between are
        # not on the server) and the last page's has no end.
        rows = TradingAccount.objects.unscoped().filter(server_id=server.pk, login__isnull=False)
        if coverage.through is not None:
            rows = rows.filter(login__gt=coverage.through)
        if not finished:
            rows = rows.filter(login__lte=max(remote_by_login))
        matched = 0
        for pk, login, status, changed_at, pushed_at, *stored in rows.values_list(*_COMPARED):
            remote = remote_by_login.get(login)
            if remote is None:
                if status in LIVE_STATUSES:
                    unseen.append(pk)
                continue
            matched += 1
            fresh = _remote_row(remote)
            if tuple(stored) != fresh:
                changed.append(
                    TradingAccount(
                        pk=pk, synced_at=now, **dict(zip(ACCOUNT_FIELDS, fresh, strict=True))
                    )
                )
            desired = drift_of(
                status=status,
                server_rights=remote.rights,
                status_changed_at=changed_at,
                rights_pushed_at=pushed_at,
                now=now,
                grace=grace,
            )
            if desired is not None:
                drifts.append(Drift(pk, login, status, remote.rights, desired))
        report.unknown += len(page.items) - matched
    report.pages += 1
    report.seen += len(page.items)
    report.rows_written += len(changed)
    report.drifts += len(drifts)
    through = max((item.login for item in page.items), default=coverage.through)
    missing: list[MissingAccount] = []
    if finished:
        # Asked before anything of the last page is committed: an error here leaves the pass
        # on its previous page, and the next run reads the last page again.
        missing = _confirm_missing(server, platform, [*coverage.unseen, *unseen])
        report.missing = len(missing)
    with transaction.atomic(durable=True):
        if changed:
            accounts_bulk_update(changed)
        corrections = drifts_record(server=server, drifts=drifts, now=now)
        if finished:
            report.missing_new, report.missing_resolved = missing_accounts_record(
                server=server, missing=missing, now=now
            )
            _state_update(
                server,
                accounts_cursor="",
                accounts_synced_at=now,
                last_error="",
                accounts_covered_through=None,
                accounts_unseen=[],
            )
            audit_record(
                actor=None,
                actor_label=SYNC_LABEL,
                action="platforms.reconcile_completed",
                entity=server.entity_id,
                obj=server,
                after={
                    k: v for k, v in report.as_dict().items() if k not in ("seconds", "completed")
                },
            )
        else:
            progress: dict[str, Any] = {"accounts_cursor": page.next_cursor}
            if through is not None:
                progress["accounts_covered_through"] = through
            if unseen:
                progress["accounts_unseen"] = [*coverage.unseen, *unseen]
            _state_update(server, **progress)
    if not finished:
        # Kept in memory only once committed: a failed transaction leaves the pass as it was.
        coverage.through = through
        coverage.unseen.extend(unseen)
    return corrections


def _confirm_missing(
    server: TradingServer, platform: Platform, unseen: list[int]
) -> list[MissingAccount]:
    """The unseen accounts the server, asked one by one, says it does not hold. The listing
    alone is not enough: MT4 pages by offset, so a login removed from an earlier page shifts
    the next one and a login created since the page was read is not on it. Any answer but
    "no such login" raises (nothing is marked)."""
    if not unseen:
        return []
    missing: list[MissingAccount] = []
    for pk, login, status in (
        TradingAccount.objects.unscoped()
        .filter(pk__in=unseen, server_id=server.pk, status__in=list(LIVE_STATUSES))
        .order_by("login")
        .values_list("pk", "login", "status")
    ):
        try:
            platform.user_get(login)
        except LoginNotFound:
            missing.append(MissingAccount(pk, login, status))
    return missing


# --- deals and events ------------------------------------------------------------------------


@dataclass
class FeedReport:
    server: str
    skipped: bool = False
    deals_seen: int = 0
    deals_imported: int = 0
    events_seen: int = 0
    events_recorded: int = 0
    drifts: int = 0
    corrected: int = 0
    seconds: float = 0.0

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)


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


def _import_deals(
    server: TradingServer,
    platform: Platform,
    start: str,
    page_size: int,
    max_pages: int,
    report: FeedReport,
) -> None:
    cursor = start or None
    for _ in range(max_pages):
        page = platform.deals_page(cursor, page_size)
        report.deals_seen += len(page.items)
        with transaction.atomic(durable=True):
            if page.items:
                with connection.cursor() as lock:
                    lock.execute("SELECT pg_advisory_xact_lock_shared(%s)", [DEAL_IMPORT_LOCK])
                tickets = [deal.ticket for deal in page.items]
                existing = set(
                    Deal.objects.in_entity(server.entity_id)
                    .filter(server=server, ticket__in=tickets)
                    .values_list("ticket", flat=True)
                )
                known = accounts_by_login(server.pk, {deal.login for deal in page.items})
                fresh = [
                    Deal(
                        entity_id=server.entity_id,
                        server=server,
                        ticket=deal.ticket,
                        login=deal.login,
                        account_id=known.get(deal.login),
                        kind=deal.kind,
                        entry=deal.entry or "",
                        symbol=deal.symbol[:32],
                        volume=deal.volume,
                        price=deal.price,
                        profit=deal.profit,
                        commission=deal.commission,
                        swap=deal.swap,
                        comment=deal.comment[:64],
                        time=deal.time,
                        position=deal.position,
                    )
                    for deal in page.items
                    if deal.ticket not in existing
                ]
                # ignore_conflicts as well: the unique (server, ticket) has the last word.
                Deal.objects.bulk_create(fresh, batch_size=1_000, ignore_conflicts=True)
                report.deals_imported += len(fresh)
            _state_update(server, deals_cursor=page.resume_cursor)
        if page.next_cursor is None:
            return
        cursor = page.next_cursor


def _consume_events(
    server: TradingServer,
    platform: Platform,
    start: str,
    page_size: int,
    max_pages: int,
    report: FeedReport,
) -> None:
    cursor = start or None
    for _ in range(max_pages):
        page = platform.events_page(cursor, page_size)
        report.events_seen += len(page.items)
        notable = [event for event in page.items if event.kind in TradingEvent.Kind.values]
        rights_changed = {
            event.login
            for event in page.items
            if event.kind == "user_updated" and "rights" in event.payload
        }
        with transaction.atomic(durable=True):
            if notable:
                report.events_recorded += _record_events(server, notable)
            _state_update(server, events_cursor=page.resume_cursor)
        if rights_changed:
            _drift_check_logins(server, platform, sorted(rights_changed), report)
        if page.next_cursor is None:
            return
        cursor = page.next_cursor


def _record_events(server: TradingServer, events: list[Any]) -> int:
    existing = set(
        TradingEvent.objects.in_entity(server.entity_id)
        .filter(server=server, seq__in=[int(event.cursor) for event in events])
        .values_list("seq", flat=True)
    )
    accounts = {
        login: (pk, profile_id)
        for login, pk, profile_id in TradingAccount.objects.unscoped()
        .filter(server=server, login__in={event.login for event in events})
        .values_list("login", "pk", "profile_id")
    }
    recorded = 0
    for event in events:
        seq = int(event.cursor)
        if seq in existing:
            continue
        account_id, profile_id = accounts.get(event.login, (None, None))
        TradingEvent.objects.create(
            entity_id=server.entity_id,
            server=server,
            seq=seq,
            kind=event.kind,
            login=event.login,
            account_id=account_id,
            payload=dict(event.payload),
            time=event.time,
        )
        recorded += 1
        if profile_id is not None:
            # On the client's timeline: the audit trail of their profile.
            audit_record(
                actor=None,
                actor_label=SYNC_LABEL,
                action=f"platforms.{event.kind}",
                entity=server.entity_id,
                object_type="identity.ClientProfile",
                object_id=str(profile_id),
                after={
                    "account": account_id,
                    "login": event.login,
                    "server": server.server_name,
                    "at": event.time,
                    **dict(event.payload),
                },
            )
    return recorded


def _drift_check_logins(
    server: TradingServer, platform: Platform, logins: list[int], report: FeedReport
) -> None:
    """The feed said these logins' rights changed: compare their current rights now."""
    now = timezone.now()
    grace = push_grace()
    drifts: list[Drift] = []
    for pk, login, status, changed_at, pushed_at, server_rights in (
        TradingAccount.objects.unscoped()
        .filter(server=server, login__in=logins, status__in=list(_WITH_RIGHTS))
        .values_list(
            "pk", "login", "status", "status_changed_at", "rights_pushed_at", "server_rights"
        )
        .order_by("login")[:MAX_FEED_DRIFT_CHECKS]
    ):
        try:
            rights = platform.user_get(login).rights
        except LoginNotFound:
            continue
        if rights != server_rights:
            TradingAccount.objects.in_entity(server.entity_id).filter(pk=pk).update(
                server_rights=rights
            )
        desired = drift_of(
            status=status,
            server_rights=rights,
            status_changed_at=changed_at,
            rights_pushed_at=pushed_at,
            now=now,
            grace=grace,
        )
        if desired is not None:
            drifts.append(Drift(pk, login, status, rights, desired))
    if not drifts:
        return
    with transaction.atomic(durable=True):
        corrections = drifts_record(server=server, drifts=drifts, now=now)
    report.drifts += len(drifts)
    report.corrected += drifts_correct(server=server, platform=platform, drifts=corrections)


_WITH_RIGHTS = (
    TradingAccount.Status.ENABLED,
    TradingAccount.Status.READ_ONLY,
    TradingAccount.Status.DISABLED,
    TradingAccount.Status.CLOSED,
)


def trading_sync_request(*, actor: Any, server: TradingServer) -> None:
    """Staff's "sync now": a full reconcile and a feed poll, queued after commit."""
    from platforms.tasks import trading_feed_poll_task, trading_server_reconcile_task

    if not scope_for(actor, "platforms.sync_tradingserver").contains(server):
        raise PermissionDenied("You may not sync this trading server.")
    with transaction.atomic(durable=True):
        audit_record(
            actor=actor,
            action="platforms.sync_requested",
            entity=server.entity_id,
            obj=server,
            after={"server": server.server_name},
        )
        server_id = server.pk
        transaction.on_commit(lambda: trading_server_reconcile_task.delay(server_id))
        transaction.on_commit(lambda: trading_feed_poll_task.delay(server_id))


def last_sync(server: TradingServer) -> datetime | None:
    state = SyncCursor.objects.in_entity(server.entity_id).filter(server=server).first()
    return state.accounts_synced_at if state else None
