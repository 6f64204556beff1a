"""Payments' work on the back office's "My work" page: withdrawals awaiting finance's and
compliance's approval, open reconciliation breaks, and deposits parked until KYC approval."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime, timedelta
from decimal import Decimal
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
from brokercrm.backoffice.templatetags.backoffice import money_text
from brokercrm.scoping import Scope
from entities.work_queues import row_item, rows_fetch

from ..models import Deposit, ReconciliationBreak, Withdrawal
from ..services.withdrawal_decisions import COMPLIANCE_PERM, FINANCE_PERM

WITHDRAWAL_FINANCE = "payments.withdrawal_finance"
WITHDRAWAL_COMPLIANCE = "payments.withdrawal_compliance"
RECONCILIATION_BREAK = "payments.reconciliation_break"
PARKED_DEPOSIT = "payments.parked_deposit"

BREAK_PERM = "payments.resolve_reconciliationbreak"
# Finance watches parked money: it is credited, but held from the client until KYC approval.
PARKED_PERM = "payments.override_deposit"

# A break this old has outlived the PSP's next settlement file: it is not timing any more.
BREAK_STALE = timedelta(days=3)
# A break that moves this much (in its currency's units) is urgent whatever its age.
BREAK_LARGE = Decimal("10000")
# A deposit parked this long means a client whose KYC has stalled with money on the books.
PARKED_STALE = timedelta(days=7)

Rows = Callable[[Scope], QuerySet]
Build = Callable[[Any, Any], WorkItem]


def _client(profile: Any) -> str:
    return f"{profile.given_name} {profile.family_name}".strip() or profile.email


def _fetch(rows: Rows, build: Build, scope: Scope, limit: int) -> QueueFetch:
    if scope.is_empty:
        return QueueFetch(0, [])
    return rows_fetch(rows(scope), limit, build)


def _item(rows: Rows, build: Build, scope: Scope, object_id: str) -> WorkItem | None:
    return None if scope.is_empty else row_item(rows(scope), object_id, build)


# --- withdrawals -----------------------------------------------------------------------------


def _withdrawal_priority() -> Case:
    # Above the finance limit (two approvals) is high; a high-risk client's large one critical.
    large = Q(approval_needed=Withdrawal.Approval.FINANCE_AND_COMPLIANCE)
    return Case(
        When(large & Q(risk_level="high"), then=Value(PRIORITY_CRITICAL)),
        When(large | Q(risk_level="high"), then=Value(PRIORITY_HIGH)),
        default=Value(PRIORITY_NORMAL),
        output_field=IntegerField(),
    )


def withdrawals_awaiting_finance(scope: Scope) -> QuerySet:
    """Waiting for finance's approval: every withdrawal that is not approved automatically
    needs it, and it may be given before or after compliance's."""
    return (
        Withdrawal.objects.within(scope)
        .filter(
            status=Withdrawal.Status.PENDING_APPROVAL,
            approval_needed__in=[
                Withdrawal.Approval.FINANCE,
                Withdrawal.Approval.FINANCE_AND_COMPLIANCE,
            ],
            finance_approver__isnull=True,
        )
        .select_related("profile")
        .annotate(urgency=_withdrawal_priority())
        .order_by("-urgency", "created_at", "pk")
    )


def withdrawals_awaiting_compliance(scope: Scope) -> QuerySet:
    """Above the finance limit compliance approves too, as another person than finance."""
    return (
        Withdrawal.objects.within(scope)
        .filter(
            status=Withdrawal.Status.PENDING_APPROVAL,
            approval_needed=Withdrawal.Approval.FINANCE_AND_COMPLIANCE,
            compliance_approver__isnull=True,
        )
        .select_related("profile")
        .annotate(urgency=_withdrawal_priority())
        .order_by("-urgency", "created_at", "pk")
    )


def _withdrawal_builder(queue_key: str, level: str) -> Build:
    def build(withdrawal: Withdrawal, deadlines: Any) -> WorkItem:
        amount = money_text(withdrawal.amount, withdrawal.currency)
        payout = (
            f" paid in {withdrawal.payout_currency}"
            if withdrawal.payout_currency != withdrawal.currency
            else ""
        )
        other = (
            "finance approved"
            if withdrawal.finance_approver_id
            else "compliance approved"
            if withdrawal.compliance_approver_id
            else ""
        )
        detail = [
            f"{level} approval",
            withdrawal.get_approval_needed_display().lower(),
            f"risk {withdrawal.risk_level}" if withdrawal.risk_level else "",
            other,
            withdrawal.withdrawal_ruleset,
        ]
        return WorkItem(
            queue=queue_key,
            object_id=str(withdrawal.pk),
            title=f"{_client(withdrawal.profile)}: withdrawal of {amount}{payout}",
            detail=" · ".join(part for part in detail if part),
            entity_id=withdrawal.entity_id,
            opened_at=withdrawal.created_at,
            due_at=deadlines.due_at(queue_key, withdrawal.created_at),
            priority=withdrawal.urgency,
            person_id=withdrawal.profile.person_id,
            url=reverse("admin:payments_withdrawal_change", args=[withdrawal.pk]),
        )

    return build


# --- reconciliation breaks -------------------------------------------------------------------


def breaks_open(scope: Scope) -> QuerySet:
    # Oldest first: an old break is money unexplained for longest.
    return (
        ReconciliationBreak.objects.within(scope)
        .filter(status=ReconciliationBreak.Status.OPEN)
        .select_related("run__merchant_account")
        .order_by("created_at", "pk")
    )


def _break_difference(item: ReconciliationBreak) -> Decimal:
    return abs((item.settled_amount or Decimal(0)) - (item.ledger_amount or Decimal(0)))


def _break_priority(item: ReconciliationBreak, now: datetime) -> int:
    stale = now - item.created_at > BREAK_STALE
    large = _break_difference(item) >= BREAK_LARGE
    if stale and large:
        return PRIORITY_CRITICAL
    if stale or large or item.kind == ReconciliationBreak.Kind.WRONG_ENTITY:
        return PRIORITY_HIGH
    return PRIORITY_NORMAL


def _break_build(item: ReconciliationBreak, deadlines: Any) -> WorkItem:
    run = item.run
    amounts = []
    if item.settled_amount is not None:
        amounts.append(f"settled {money_text(item.settled_amount, item.currency)}")
    if item.ledger_amount is not None:
        amounts.append(f"ledger {money_text(item.ledger_amount, item.currency)}")
    reference = item.reference or item.psp_transaction_id
    return WorkItem(
        queue=RECONCILIATION_BREAK,
        object_id=str(item.pk),
        title=(
            f"{run.merchant_account.code} {run.day.isoformat()}: {item.get_kind_display()}"
            + (f", {' vs '.join(amounts)}" if amounts else "")
        ),
        detail=" · ".join(part for part in (reference, item.detail) if part),
        entity_id=item.entity_id,
        opened_at=item.created_at,
        due_at=deadlines.due_at(RECONCILIATION_BREAK, item.created_at),
        priority=_break_priority(item, timezone.now()),
        url=reverse("admin:payments_reconciliationbreak_change", args=[item.pk]),
    )


# --- parked deposits -------------------------------------------------------------------------


def deposits_parked(scope: Scope) -> QuerySet:
    return (
        Deposit.objects.within(scope)
        .filter(status=Deposit.Status.PARKED)
        .select_related("profile", "method")
        .order_by("updated_at", "pk")
    )


def _parked_build(deposit: Deposit, deadlines: Any) -> WorkItem:
    # It joined the queue when it was credited and parked: the deposit's last change.
    opened = deposit.updated_at
    stale = timezone.now() - opened > PARKED_STALE
    return WorkItem(
        queue=PARKED_DEPOSIT,
        object_id=str(deposit.pk),
        title=(
            f"{_client(deposit.profile)}: deposit of "
            f"{money_text(deposit.amount, deposit.currency)} parked until KYC approval"
        ),
        detail=" · ".join(part for part in (deposit.method.name, deposit.instrument_label) if part),
        entity_id=deposit.entity_id,
        opened_at=opened,
        due_at=deadlines.due_at(PARKED_DEPOSIT, opened),
        priority=PRIORITY_HIGH if stale else PRIORITY_NORMAL,
        person_id=deposit.profile.person_id,
        url=reverse("admin:payments_deposit_change", args=[deposit.pk]),
    )


# --- registration ----------------------------------------------------------------------------


def _queue(
    key: str, label: str, perm: str, rows: Rows, build: Build, order: int, description: str
) -> Queue:
    return Queue(
        key=key,
        label=label,
        perm=perm,
        fetch=lambda scope, limit: _fetch(rows, build, scope, limit),
        item=lambda scope, object_id: _item(rows, build, scope, object_id),
        order=order,
        description=description,
    )


def register() -> None:
    queue_register(
        _queue(
            WITHDRAWAL_FINANCE,
            "Withdrawals: finance approval",
            FINANCE_PERM,
            withdrawals_awaiting_finance,
            _withdrawal_builder(WITHDRAWAL_FINANCE, "Finance"),
            40,
            "Withdrawals that wait for finance's approval (never by the requester).",
        )
    )
    queue_register(
        _queue(
            WITHDRAWAL_COMPLIANCE,
            "Withdrawals: compliance approval",
            COMPLIANCE_PERM,
            withdrawals_awaiting_compliance,
            _withdrawal_builder(WITHDRAWAL_COMPLIANCE, "Compliance"),
            41,
            "Withdrawals above the finance limit: compliance approves as a second person.",
        )
    )
    queue_register(
        _queue(
            RECONCILIATION_BREAK,
            "Reconciliation breaks",
            BREAK_PERM,
            breaks_open,
            _break_build,
            42,
            "Differences between a PSP's settlement and our ledger, to explain and resolve.",
        )
    )
    queue_register(
        _queue(
            PARKED_DEPOSIT,
            "Parked deposits",
            PARKED_PERM,
            deposits_parked,
            _parked_build,
            43,
            "Deposits credited before KYC approval and held until the file is approved.",
        )
    )
