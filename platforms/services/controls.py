"""Control enforcement: the CRM and the servers never disagree for long about who may trade.

- When a client stops being allowed to trade (profile restricted or closed, AML block,
  sanctions hit, expired document), identity and kyc announce it as a domain event; the
  outbox delivers it to `platforms.subscribers` after commit, at least once, and
  `trading_accounts_block` disables every trading account of the client in the CRM (audited)
  and then on its server.
- Every sync compares each account's CRM status with its rights on the server (`drifts_*`):
  an account the server lets do more than the CRM allows is set back on the server and
  recorded as a `ControlFailure` in compliance's queue; one the server lets do less is only
  flagged there, for a person to look at.
- A complete reconcile that did not find a live account's login on its server records it as
  missing (`missing_accounts_record`): flagged only, its CRM status is a person's decision,
  and transfers to and from it are refused while the failure is open. The first complete
  reconcile that finds the login again resolves the failure.

Blocking and rights pushes are here; the drift check is in `drift` and the missing accounts in
`missing`, both importable from here.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from django.db import transaction
from django.utils import timezone

from audit.services import audit_record
from brokercrm.errors import Conflict, ValidationFailed
from brokercrm.gate import require
from identity.selectors import profile_ids_of_person
from platforms.connectors import LoginNotFound, PlatformError, PlatformRefused, TradingPlatform
from platforms.models import ControlFailure, TradingAccount

from .. import audit_actions as actions
from .common import CONTROLS_LABEL, DESIRED_RIGHTS, SYSTEM_LABEL, server_connector
from .drift import Drift, drift_of, drifts_correct, drifts_record, push_grace
from .missing import (
    LIVE_STATUSES,
    MISSING,
    MissingAccount,
    account_missing_on_server,
    missing_accounts_record,
)

_ALLOWED = (TradingAccount.Status.ENABLED, TradingAccount.Status.READ_ONLY)


def _profile_ids(profile_ids: Iterable[int], person_id: int | None) -> list[int]:
    ids = set(profile_ids)
    if person_id is not None:
        # A group-wide flag stops the person trading in every entity.
        ids |= set(profile_ids_of_person(person_id))
    return sorted(ids)


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
                action=actions.ACCOUNT_DISABLED,
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
            action=actions.SERVER_RIGHTS_SET if error is None else actions.SERVER_RIGHTS_FAILED,
            entity=account.entity_id,
            obj=account,
            after={
                "login": account.login,
                "server": account.server.server_name,
                "rights": rights,
                **({"error": error.code, "detail": error.detail} if error else {}),
            },
        )


def control_failure_resolve(
    *, actor: Any, failure: ControlFailure, resolution: str
) -> ControlFailure:
    """Compliance closes a control failure with what was found and done."""
    require(
        actor,
        "platforms.resolve_controlfailure",
        failure,
        detail="You may not resolve control failures in this entity.",
    )
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
            action=actions.CONTROL_FAILURE_RESOLVED,
            entity=failure.entity_id,
            obj=failure,
            before={"status": ControlFailure.Status.OPEN},
            after={"status": failure.status, "account": failure.account_id, "kind": failure.kind},
            reason=resolution,
        )
    return failure


__all__ = [
    "CONTROLS_LABEL",
    "LIVE_STATUSES",
    "MISSING",
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
    "trading_rights_push",
]
