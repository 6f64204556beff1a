"""Feed polling: deals imported ticket by ticket from the deals cursor, and the event feed
consumed from the events cursor (margin calls and stop-outs kept and put on the client's
timeline, rights changes drift-checked login by login)."""

from __future__ import annotations

from dataclasses import asdict, dataclass
from typing import Any

from django.db import connection, transaction
from django.utils import timezone

from audit.services import audit_record
from brokercrm.events.bus import announce
from platforms import events as platform_events
from platforms.connectors import LoginNotFound
from platforms.connectors import TradingPlatform as Platform
from platforms.models import Deal, TradingAccount, TradingEvent, TradingServer
from platforms.selectors import DEAL_IMPORT_LOCK

from .. import audit_actions as actions
from .accounts import accounts_by_login
from .controls import Drift, drift_of, drifts_correct, drifts_record, push_grace
from .cursors import SYNC_LABEL, _state_update

# Rights changes seen in the feed are checked one login at a time; a burst larger than this
# is left to the next full reconcile.
MAX_FEED_DRIFT_CHECKS = 200


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
        login: (pk, profile_id, person_id, currency)
        for login, pk, profile_id, person_id, currency in TradingAccount.objects.unscoped()
        .filter(server=server, login__in={event.login for event in events})
        .values_list("login", "pk", "profile_id", "profile__person_id", "currency")
    }
    recorded = 0
    for event in events:
        seq = int(event.cursor)
        if seq in existing:
            continue
        account_id, profile_id, person_id, currency = accounts.get(
            event.login, (None, None, None, None)
        )
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
                action=actions.TRADING_EVENT_BY_KIND[event.kind],
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
            if event.kind == TradingEvent.Kind.MARGIN_CALL:
                # The server raises one margin call per episode (until the level recovers)
                # and the event is kept once by its feed position: announced once, however
                # often the feed is polled.
                announce(
                    platform_events.MARGIN_CALL,
                    entity=server.entity_id,
                    person=person_id,
                    profile=profile_id,
                    payload={
                        "account_id": account_id,
                        "login": event.login,
                        "margin_level": event.payload.get("margin_level"),
                        "equity": event.payload.get("equity"),
                        "currency": currency,
                    },
                    actor_label=SYNC_LABEL,
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
