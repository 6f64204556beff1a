"""Drift between an account's CRM status and its rights on the server: how it is detected,
recorded in compliance's queue (one open failure per account and kind) and, when the server
lets the client do more than the CRM allows, corrected on the server."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from django.conf import settings
from django.db import transaction
from django.db.models import F
from django.utils import timezone

from audit.services import audit_record
from platforms.connectors import PlatformError, TradingPlatform
from platforms.models import ControlFailure, TradingAccount, TradingServer

from .. import audit_actions as actions
from .common import CONTROLS_LABEL, DESIRED_RIGHTS, PERMISSIVENESS


@dataclass(frozen=True)
class Drift:
    account_id: int
    login: int
    status: str
    server_rights: str
    desired: str

    @property
    def kind(self) -> str:
        if PERMISSIVENESS[self.server_rights] > PERMISSIVENESS[self.desired]:
            return ControlFailure.Kind.SERVER_MORE_PERMISSIVE
        return ControlFailure.Kind.SERVER_LESS_PERMISSIVE


def push_grace() -> timedelta:
    return timedelta(seconds=getattr(settings, "PLATFORMS_RIGHTS_PUSH_GRACE_SECONDS", 120))


def drift_of(
    *,
    status: str,
    server_rights: str,
    status_changed_at: datetime | None,
    rights_pushed_at: datetime | None,
    now: datetime,
    grace: timedelta,
) -> str | None:
    """The rights the server should hold when it holds others, else None. A status change
    whose push to the server is still under way (within `grace`) is not a drift."""
    desired = DESIRED_RIGHTS.get(status)
    if desired is None or not server_rights or server_rights == desired:
        return None
    in_flight = (
        status_changed_at is not None
        and (rights_pushed_at is None or rights_pushed_at < status_changed_at)
        and now - status_changed_at < grace
    )
    return None if in_flight else desired


def drifts_record(*, server: TradingServer, drifts: list[Drift], now: datetime) -> list[Drift]:
    """Record each drift in compliance's queue (one open failure per account and kind, seen
    again rather than repeated), inside the caller's transaction. Returns the drifts to
    correct on the server: those where the server lets the client do more."""
    drifts = list({drift.account_id: drift for drift in drifts}.values())  # last one wins
    if not drifts:
        return []
    open_failures = _open_failures(server, drifts)
    fresh = [
        ControlFailure(
            entity_id=server.entity_id,
            account_id=drift.account_id,
            kind=drift.kind,
            crm_status=drift.status,
            server_rights=drift.server_rights,
            last_seen_at=now,
        )
        for drift in drifts
        if (drift.account_id, drift.kind) not in open_failures
    ]
    ControlFailure.objects.bulk_create(fresh, batch_size=2000)
    again = [
        open_failures[(drift.account_id, drift.kind)]
        for drift in drifts
        if (drift.account_id, drift.kind) in open_failures
    ]
    if again:
        ControlFailure.objects.in_entity(server.entity_id).filter(pk__in=again).update(
            last_seen_at=now, seen_count=F("seen_count") + 1
        )
    return [drift for drift in drifts if drift.kind == ControlFailure.Kind.SERVER_MORE_PERMISSIVE]


def _open_failures(server: TradingServer, drifts: list[Drift]) -> dict[tuple[int, str], int]:
    rows = (
        ControlFailure.objects.in_entity(server.entity_id)
        .filter(
            status=ControlFailure.Status.OPEN,
            account_id__in=[drift.account_id for drift in drifts],
        )
        .values_list("account_id", "kind", "pk")
    )
    return {(account_id, kind): pk for account_id, kind, pk in rows}


def drifts_correct(*, server: TradingServer, platform: TradingPlatform, drifts: list[Drift]) -> int:
    """Set the server back to what the CRM allows, after the drift was recorded. A failure
    to do so is kept on the control failure; the next sync sees the drift and tries again."""
    corrected = 0
    for drift in drifts:
        try:
            remote = platform.user_set_rights(drift.login, drift.desired)  # type: ignore[arg-type]
        except PlatformError as error:
            ControlFailure.objects.in_entity(server.entity_id).filter(
                account_id=drift.account_id, kind=drift.kind, status=ControlFailure.Status.OPEN
            ).update(correction_error=f"{error.code}: {error.detail}"[:1000])
            continue
        now = timezone.now()
        with transaction.atomic(durable=True):
            TradingAccount.objects.in_entity(server.entity_id).filter(pk=drift.account_id).update(
                server_rights=remote.rights, rights_pushed_at=now
            )
            ControlFailure.objects.in_entity(server.entity_id).filter(
                account_id=drift.account_id, kind=drift.kind, status=ControlFailure.Status.OPEN
            ).update(corrected_at=now, correction_error="")
            audit_record(
                actor=None,
                actor_label=CONTROLS_LABEL,
                action=actions.DRIFT_CORRECTED,
                entity=server.entity_id,
                object_type=TradingAccount._meta.label,
                object_id=str(drift.account_id),
                before={"server_rights": drift.server_rights},
                after={
                    "server_rights": remote.rights,
                    "login": drift.login,
                    "crm_status": drift.status,
                    "server": server.server_name,
                },
            )
        corrected += 1
    return corrected
