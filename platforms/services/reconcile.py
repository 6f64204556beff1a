"""Full reconcile, page by page: each page compared with the CRM in memory, the changed rows
written with the page's cursor, the drift check of status against rights, and the live
accounts a complete listing did not hold confirmed one by one."""

from __future__ import annotations

from dataclasses import asdict, dataclass
from datetime import timedelta
from typing import Any

from django.db import transaction
from django.utils import timezone

from audit.services import audit_record
from platforms.connectors import LoginNotFound, Page, PlatformAccount, PlatformError
from platforms.connectors import TradingPlatform as Platform
from platforms.models import TradingAccount, TradingServer
from platforms.selectors import blocked_accounts

from .. import audit_actions as actions
from .controls import (
    LIVE_STATUSES,
    Drift,
    MissingAccount,
    drift_of,
    drifts_record,
    missing_accounts_record,
    trading_accounts_block,
)
from .cursors import SYNC_LABEL, _state_update
from .rows import ACCOUNT_FIELDS, _remote_row, accounts_bulk_update

_COMPARED = ("pk", "login", "status", "status_changed_at", "rights_pushed_at", *ACCOUNT_FIELDS)
DEFAULT_PAGE = 5_000


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
                action=actions.RECONCILE_COMPLETED,
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
