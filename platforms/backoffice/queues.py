"""Platforms' work on the back office's "My work" page: control failures, where the CRM and
a trading server disagree about whether an account may trade."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from django.db.models import Case, IntegerField, Q, QuerySet, Value, When
from django.urls import reverse
from django.utils import timezone

from brokercrm.backoffice.registry import (
    PRIORITY_CRITICAL,
    PRIORITY_HIGH,
    PRIORITY_NORMAL,
    Queue,
    QueueFetch,
    WorkItem,
    queue_register,
)
from brokercrm.scoping import Scope
from entities.work_queues import row_item, rows_fetch

from ..models import ControlFailure

CONTROL_FAILURE = "platforms.control_failure"
RESOLVE_PERM = "platforms.resolve_controlfailure"

# A failure still seen after a day is no push in flight: someone changed the server by hand.
FAILURE_STALE = timedelta(days=1)

Kind = ControlFailure.Kind


def _urgency() -> Case:
    # The server letting a client trade while the CRM restricts it, and our correction failed:
    # the client can trade right now. An account gone from its server blocks its transfers.
    stale = Q(detected_at__lt=timezone.now() - FAILURE_STALE)
    return Case(
        When(
            Q(kind=Kind.SERVER_MORE_PERMISSIVE, corrected_at__isnull=True),
            then=Value(PRIORITY_CRITICAL),
        ),
        When(Q(kind=Kind.ACCOUNT_MISSING_ON_SERVER) | stale, then=Value(PRIORITY_HIGH)),
        default=Value(PRIORITY_NORMAL),
        output_field=IntegerField(),
    )


def control_failures_open(scope: Scope) -> QuerySet:
    return (
        ControlFailure.objects.within(scope)
        .filter(status=ControlFailure.Status.OPEN)
        .select_related("account__profile", "account__server")
        .annotate(urgency=_urgency())
        .order_by("-urgency", "detected_at", "pk")
    )


def _build(failure: ControlFailure, deadlines: Any) -> WorkItem:
    account = failure.account
    profile = account.profile
    client = f"{profile.given_name} {profile.family_name}".strip() or profile.email
    login = f"login {account.login}" if account.login else f"account {account.pk}"
    if failure.kind == Kind.ACCOUNT_MISSING_ON_SERVER:
        state = f"CRM {failure.crm_status}, not found on the server"
    else:
        state = f"CRM {failure.crm_status}, server {failure.server_rights}"
    if failure.correction_error:
        correction = f"correction failed: {failure.correction_error[:80]}"
    elif failure.corrected_at:
        correction = "corrected on the server"
    else:
        correction = ""
    seen = f"seen {failure.seen_count} times" if failure.seen_count > 1 else ""
    return WorkItem(
        queue=CONTROL_FAILURE,
        object_id=str(failure.pk),
        title=f"{client}: {failure.get_kind_display()} ({login} on {account.server.name})",
        detail=" · ".join(part for part in (state, correction, seen) if part),
        entity_id=failure.entity_id,
        opened_at=failure.detected_at,
        due_at=deadlines.due_at(CONTROL_FAILURE, failure.detected_at),
        priority=failure.urgency,
        person_id=profile.person_id,
        url=reverse("admin:platforms_controlfailure_change", args=[failure.pk]),
    )


def control_failures_fetch(scope: Scope, limit: int) -> QueueFetch:
    """Three queries at most, whatever the number of rows."""
    if scope.is_empty:
        return QueueFetch(0, [])
    return rows_fetch(control_failures_open(scope), limit, _build)


def control_failure_item(scope: Scope, object_id: str) -> WorkItem | None:
    return None if scope.is_empty else row_item(control_failures_open(scope), object_id, _build)


def register() -> None:
    queue_register(
        Queue(
            key=CONTROL_FAILURE,
            label="Control failures",
            perm=RESOLVE_PERM,
            fetch=control_failures_fetch,
            item=control_failure_item,
            order=50,
            description="Accounts whose trading rights on the server differ from the CRM's.",
        )
    )
