"""Changing what a trading account may do: staff enable it, make it read-only, disable or
close it (audited), and its server follows right after commit."""

from __future__ import annotations

from typing import Any

from django.db import transaction
from django.utils import timezone

from audit.services import audit_record
from brokercrm.errors import Conflict, ValidationFailed
from brokercrm.gate import require
from identity.selectors import profile_get
from platforms.models import AccountType, TradingAccount

from .. import audit_actions as actions
from .common import _refuse_if_blocked

STAFF_STATUSES = (
    TradingAccount.Status.ENABLED,
    TradingAccount.Status.READ_ONLY,
    TradingAccount.Status.DISABLED,
    TradingAccount.Status.CLOSED,
)


def trading_account_status_set(
    *, actor: Any, account: TradingAccount, status: str, reason: str
) -> TradingAccount:
    """Enable, make read-only, disable or close an account. The server follows right after
    commit. Enabling is refused while the client may not trade; closing is final."""
    from platforms.tasks import trading_rights_push_task

    require(
        actor,
        "platforms.change_tradingaccount",
        account,
        detail="You may not change this trading account.",
    )
    if status not in STAFF_STATUSES:
        raise ValidationFailed(
            f"status is one of {', '.join(STAFF_STATUSES)}.", code="status_invalid"
        )
    if not reason.strip():
        raise ValidationFailed("Give a reason for the audit trail.", code="reason_required")
    with transaction.atomic(durable=True):
        account = (
            TradingAccount.objects.in_entity(account.entity_id)
            .select_for_update()
            .get(pk=account.pk)
        )
        if account.status in (TradingAccount.Status.PENDING, TradingAccount.Status.FAILED):
            raise Conflict("The account has no login on the server yet.", code="account_pending")
        if account.status == TradingAccount.Status.CLOSED and status != account.status:
            raise Conflict("A closed account stays closed.", code="account_closed")
        if status in (TradingAccount.Status.ENABLED, TradingAccount.Status.READ_ONLY):
            profile = profile_get(account.profile_id)
            _refuse_if_blocked(profile, demo=account.account_type == AccountType.DEMO)
        if status == account.status:
            return account
        before = {"status": account.status, "status_reason": account.status_reason}
        account.status = status
        account.status_reason = reason
        account.status_changed_at = timezone.now()
        account.save(update_fields=["status", "status_reason", "status_changed_at", "updated_at"])
        audit_record(
            actor=actor,
            action=actions.ACCOUNT_STATUS_CHANGED,
            entity=account.entity_id,
            obj=account,
            before=before,
            after={"status": status, "status_reason": reason},
            reason=reason,
        )
        account_id = account.pk
        transaction.on_commit(lambda: trading_rights_push_task.delay([account_id]))
    return account
