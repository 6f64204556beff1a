"""Live accounts whose login a complete reconcile did not find on their server: recorded as
control failures (flagged only), resolved once the login is found again, and the check that
refuses transfers while such a failure is open."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from django.db.models import F

from audit.services import audit_record
from platforms.models import ControlFailure, TradingAccount, TradingServer

from .. import audit_actions as actions
from .common import CONTROLS_LABEL

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
            action=actions.ACCOUNT_MISSING_ON_SERVER,
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
                action=actions.ACCOUNT_MISSING_RESOLVED,
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
