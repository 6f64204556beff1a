"""Control enforcement: the CRM and the servers never disagree for long about who may trade.

- When a client stops being allowed to trade (profile restricted or closed, AML block,
  sanctions hit, expired document), identity and kyc call `trading_block_on_commit` inside
  their transaction; right after it commits a task disables every trading account of the
  client in the CRM (audited) and then on its server.
- Every sync compares each account's CRM status with its rights on the server (`drifts_*`):
  an account the server lets do more than the CRM allows is set back on the server and
  recorded as a `ControlFailure` in compliance's queue; one the server lets do less is only
  flagged there, for a person to look at.
- A complete reconcile that did not find a live account's login on its server records it as
  missing (`missing_accounts_record`): flagged only, its CRM status is a person's decision,
  and transfers to and from it are refused while the failure is open. The first complete
  reconcile that finds the login again resolves the failure.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from django.conf import settings
from django.db import transaction
from django.db.models import F
from django.utils import timezone

from audit.services import audit_record
from brokercrm.errors import Conflict, PermissionDenied, ValidationFailed
from brokercrm.scoping import scope_for
from identity.models import ClientProfile
from platforms.connectors import LoginNotFound, PlatformError, PlatformRefused, TradingPlatform
from platforms.models import ControlFailure, TradingAccount, TradingServer

from .common import DESIRED_RIGHTS, PERMISSIVENESS, SYSTEM_LABEL, server_connector

CONTROLS_LABEL = "system:platforms.controls"
_ALLOWED = (TradingAccount.Status.ENABLED, TradingAccount.Status.READ_ONLY)


def _profile_ids(profile_ids: Iterable[int], person_id: int | None) -> list[int]:
    ids = set(profile_ids)
    if person_id is not None:
        # A group-wide flag stops the person trading in every entity.
        ids |= set(
            ClientProfile.objects.unscoped()
            .filter(person_id=person_id)
            .values_list("pk", flat=True)
        )
    return sorted(ids)


def trading_block_on_commit(*, reason: str, profile: Any = None, person: Any = None) -> None:
    """Called where a client stops being allowed to trade, inside that change's transaction:
    once it commits, the client's trading accounts are disabled in the CRM and on their
    servers. Nothing is queued for a client without trading accounts. `profile` and `person`
    are rows or ids."""
    from platforms.tasks import trading_accounts_block_task

    profile_ids = [profile if isinstance(profile, int) else profile.pk] if profile else []
    person_id = (person if isinstance(person, int) else person.pk) if person else None
    accounts = TradingAccount.objects.unscoped().filter(status__in=_ALLOWED)
    if person_id is not None:
        accounts = accounts.filter(profile__person_id=person_id)
    else:
        accounts = accounts.filter(profile_id__in=profile_ids)
    if not accounts.exists():
        return
    transaction.on_commit(
        lambda: trading_accounts_block_task.delay(profile_ids, person_id, reason[:500])
    )


def trading_accounts_block(
    *, profile_ids: Iterable[int], person_id: int | None = None, reason: str
) -> dict[str, int]:
    """Disable every account of these clients that may still trade (audited), then set every
    disabled or closed account of theirs to disabled on its server. Safe to run again."""
    ids = _profile_ids(profile_ids, person_id)
    now = timezone.now()
    with transaction.atomic(durable=True):
        accounts = list(
            TradingAccount.objects.unscoped()
            .select_for_update()
            .filter(profile_id__in=ids, status__in=_ALLOWED)
            .order_by("pk")
        )
        for account in accounts:
            before = {"status": account.status}
            account.status = TradingAccount.Status.DISABLED
            account.status_reason = reason
            account.status_changed_at = now
            account.save(
                update_fields=["status", "status_reason", "status_changed_at", "updated_at"]
            )
            audit_record(
                actor=None,
                actor_label=CONTROLS_LABEL,
                action="platforms.account_disabled",
                entity=account.entity_id,
                obj=account,
                before=before,
                after={"status": account.status, "login": account.login},
                reason=reason,
            )
    to_push = list(
        TradingAccount.objects.unscoped()
        .filter(
            profile_id__in=ids,
            status__in=[TradingAccount.Status.DISABLED, TradingAccount.Status.CLOSED],
            login__isnull=False,
        )
        .values_list("pk", flat=True)
    )
    pushed = trading_rights_push(account_ids=to_push)
    return {"disabled": len(accounts), "pushed": pushed}


def trading_rights_push(*, account_ids: Iterable[int]) -> int:
    """Make each server hold the rights its account's CRM status asks for. A server that
    cannot be reached is reported at the end (the task retries); the others are done."""
    connectors: dict[int, TradingPlatform] = {}
    unreachable: PlatformError | None = None
    pushed = 0
    for account in (
        TradingAccount.objects.unscoped()
        .filter(pk__in=list(account_ids), login__isnull=False)
        .select_related("server")
        .order_by("pk")
    ):
        desired = DESIRED_RIGHTS.get(account.status)
        if desired is None:
            continue
        if account.server_id not in connectors:
            connectors[account.server_id] = server_connector(account.server)
        try:
            remote = connectors[account.server_id].user_set_rights(account.login, desired)
        except LoginNotFound as missing:
            _audit_push(account, desired, error=missing)
            continue
        except PlatformRefused as refused:
            _audit_push(account, desired, error=refused)
            continue
        except PlatformError as error:
            unreachable = error
            continue
        _confirm_rights(account, remote.rights)
        pushed += 1
    if unreachable is not None:
        raise unreachable
    return pushed


def _confirm_rights(account: TradingAccount, rights: str) -> None:
    with transaction.atomic(durable=True):
        TradingAccount.objects.in_entity(account.entity_id).filter(pk=account.pk).update(
            server_rights=rights, rights_pushed_at=timezone.now()
        )
        _audit_push(account, rights)


def _audit_push(
    account: TradingAccount, rights: str, *, error: PlatformError | None = None
) -> None:
    with transaction.atomic():
        audit_record(
            actor=None,
            actor_label=CONTROLS_LABEL,
            action="platforms.server_rights_set"
            if error is None
            else "platforms.server_rights_failed",
            entity=account.entity_id,
            obj=account,
            after={
                "login": account.login,
                "server": account.server.server_name,
                "rights": rights,
                **({"error": error.code, "detail": error.detail} if error else {}),
            },
        )


# --- drift between CRM status and server rights --------------------------------------------


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
                action="platforms.drift_corrected",
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


# --- accounts the server does not hold --------------------------------------------------------

MISSING = ControlFailure.Kind.ACCOUNT_MISSING_ON_SERVER
# The statuses in which an account must have its login on the server. Pending and failed ones
# have none yet; a closed one may have been removed from the server on purpose.
LIVE_STATUSES = (
    TradingAccount.Status.ENABLED,
    TradingAccount.Status.READ_ONLY,
    TradingAccount.Status.DISABLED,
)


@dataclass(frozen=True)
class MissingAccount:
    account_id: int
    login: int
    status: str


def missing_accounts_record(
    *, server: TradingServer, missing: list[MissingAccount], now: datetime
) -> tuple[int, int]:
    """After a complete reconcile, inside its last transaction: `missing` is every live
    account of the server whose login the server does not hold. Records a failure for each
    one not already open (an open one is seen again), resolves the open ones of the server
    that are no longer missing, audits both. Returns (newly missing, resolved)."""
    missing_ids = {account.account_id for account in missing}
    open_failures = dict(
        ControlFailure.objects.in_entity(server.entity_id)
        .filter(status=ControlFailure.Status.OPEN, kind=MISSING, account__server_id=server.pk)
        .values_list("account_id", "pk")
    )
    fresh = [account for account in missing if account.account_id not in open_failures]
    ControlFailure.objects.bulk_create(
        [
            ControlFailure(
                entity_id=server.entity_id,
                account_id=account.account_id,
                kind=MISSING,
                crm_status=account.status,
                server_rights="",
                last_seen_at=now,
            )
            for account in fresh
        ],
        batch_size=2000,
    )
    for account in fresh:
        audit_record(
            actor=None,
            actor_label=CONTROLS_LABEL,
            action="platforms.account_missing_on_server",
            entity=server.entity_id,
            object_type=TradingAccount._meta.label,
            object_id=str(account.account_id),
            after={"login": account.login, "crm_status": account.status, "server": server.name},
        )
    again = [pk for account_id, pk in open_failures.items() if account_id in missing_ids]
    if again:
        ControlFailure.objects.in_entity(server.entity_id).filter(pk__in=again).update(
            last_seen_at=now, seen_count=F("seen_count") + 1
        )
    found = {
        account_id: pk for account_id, pk in open_failures.items() if account_id not in missing_ids
    }
    if found:
        statuses = dict(
            TradingAccount.objects.in_entity(server.entity_id)
            .filter(pk__in=list(found))
            .values_list("pk", "status")
        )
        for account_id, pk in sorted(found.items()):
            status = statuses[account_id]
            resolution = (
                "The login is on the server again (found by a complete reconcile)."
                if status in LIVE_STATUSES
                else f"The account is {status} in the CRM: its login need not be on the server."
            )
            ControlFailure.objects.in_entity(server.entity_id).filter(pk=pk).update(
                status=ControlFailure.Status.RESOLVED, resolved_at=now, resolution=resolution
            )
            audit_record(
                actor=None,
                actor_label=CONTROLS_LABEL,
                action="platforms.account_missing_resolved",
                entity=server.entity_id,
                object_type=TradingAccount._meta.label,
                object_id=str(account_id),
                before={"status": ControlFailure.Status.OPEN},
                after={"status": ControlFailure.Status.RESOLVED, "crm_status": status},
                reason=resolution,
            )
    return len(fresh), len(found)


def account_missing_on_server(account: TradingAccount) -> bool:
    """Whether the last complete reconcile left this account's login missing on its server."""
    return (
        ControlFailure.objects.in_entity(account.entity_id)
        .filter(account_id=account.pk, kind=MISSING, status=ControlFailure.Status.OPEN)
        .exists()
    )


def control_failure_resolve(
    *, actor: Any, failure: ControlFailure, resolution: str
) -> ControlFailure:
    """Compliance closes a control failure with what was found and done."""
    if not scope_for(actor, "platforms.resolve_controlfailure").contains(failure):
        raise PermissionDenied("You may not resolve control failures in this entity.")
    if not resolution.strip():
        raise ValidationFailed("Say what was found and done.", code="resolution_required")
    with transaction.atomic(durable=True):
        failure = (
            ControlFailure.objects.in_entity(failure.entity_id)
            .select_for_update()
            .get(pk=failure.pk)
        )
        if failure.status != ControlFailure.Status.OPEN:
            raise Conflict("This control failure was already resolved.", code="already_resolved")
        failure.status = ControlFailure.Status.RESOLVED
        failure.resolved_by = actor
        failure.resolved_at = timezone.now()
        failure.resolution = resolution
        failure.save(update_fields=["status", "resolved_by", "resolved_at", "resolution"])
        audit_record(
            actor=actor,
            action="platforms.control_failure_resolved",
            entity=failure.entity_id,
            obj=failure,
            before={"status": ControlFailure.Status.OPEN},
            after={"status": failure.status, "account": failure.account_id, "kind": failure.kind},
            reason=resolution,
        )
    return failure


__all__ = [
    "LIVE_STATUSES",
    "SYSTEM_LABEL",
    "Drift",
    "MissingAccount",
    "account_missing_on_server",
    "control_failure_resolve",
    "drift_of",
    "drifts_correct",
    "drifts_record",
    "missing_accounts_record",
    "push_grace",
    "trading_accounts_block",
    "trading_block_on_commit",
    "trading_rights_push",
]
