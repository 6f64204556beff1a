"""Corrections of a rebate plan version: every line it produced reversed and recomputed under
the correction as adjustment lines, under the lock the commission run holds; the next run
pays the net."""

from __future__ import annotations

from typing import Any

from django.db import connection, transaction
from django.utils import timezone

from audit.services import audit_record
from brokercrm.errors import ValidationFailed
from brokercrm.gate import require
from ib import audit_actions as actions
from ib.models import CommissionLine, CommissionRun, RebatePlanVersion
from ib.services.commissions import _LINE_COLUMNS, _LINES_SELECT, _lines_lock, _one_line_each
from ib.services.plans import _rates_create, _split_checked


def rebate_plan_correct(
    *,
    actor: Any,
    version: RebatePlanVersion,
    rates: list[dict[str, Any]],
    tier_split: list[Any],
    per_trade_ceiling: Any = None,
    min_holding_seconds: int = 0,
    reason: str,
) -> RebatePlanVersion:
    """Correct a version for its whole period: every line it produced (commissions, and the
    adjustments of an earlier correction) is reversed and recomputed under the correction
    as adjustment lines; the next run pays the net. Nothing is paid a second time: paid
    lines stay paid, only the difference moves. A correction can itself be corrected."""
    require(actor, "ib.change_rebateplan", version.entity_id)
    split = _split_checked(tier_split)
    if not reason:
        raise ValidationFailed("Give a reason.", code="reason_required")
    with transaction.atomic():
        with connection.cursor() as cursor:
            _lines_lock(cursor)
        version = RebatePlanVersion.objects.unscoped().select_for_update().get(pk=version.pk)
        if RebatePlanVersion.objects.unscoped().filter(corrects=version).exists():
            raise ValidationFailed(
                "This version was corrected already: correct its latest correction.",
                code="version_corrected",
            )
        number = (
            RebatePlanVersion.objects.unscoped()
            .filter(plan_id=version.plan_id)
            .order_by("-number")
            .values_list("number", flat=True)
            .first()
        )
        correction = RebatePlanVersion.objects.unscoped().create(
            entity_id=version.entity_id,
            plan_id=version.plan_id,
            number=number + 1,
            valid_from=version.valid_from,
            valid_to=version.valid_to,
            tier_split=split,
            per_trade_ceiling=per_trade_ceiling,
            min_holding_seconds=min_holding_seconds,
            corrects=version,
        )
        _rates_create(correction, rates)
        run = CommissionRun.objects.create()
        # The version's lines lie in its period (the time index finds them).
        effective = (
            "plan_version_id = %(old)s AND kind <> 'reversal' AND status <> 'void'"
            " AND deal_time >= %(valid_from)s"
            + (" AND deal_time < %(valid_to)s" if version.valid_to else "")
        )
        period = {"valid_from": version.valid_from, "valid_to": version.valid_to}
        with connection.cursor() as cursor:
            cursor.execute(
                f"""
                INSERT INTO ib_commissionline ({_LINE_COLUMNS}, run_id)
                SELECT entity_id, deal_id, ib_id, tier, 'reversal', deal_time, lots, -amount,
                       currency, plan_version_id, rate_id,
                       CASE WHEN status = 'delayed' THEN 'delayed' ELSE 'computed' END,
                       %(run)s
                FROM ib_commissionline WHERE {effective}
                """,
                {"run": run.pk, "old": version.pk, **period},
            )
            reversed_ = cursor.rowcount
            with _one_line_each():
                cursor.execute(
                    f"INSERT INTO ib_commissionline ({_LINE_COLUMNS}, run_id)"
                    " SELECT *, %(run)s FROM ("
                    + _LINES_SELECT.format(
                        deals=f"d.id IN (SELECT deal_id FROM ib_commissionline WHERE {effective})"
                    )
                    + ") adjustments",
                    {
                        "run": run.pk,
                        "old": version.pk,
                        "kind": CommissionLine.Kind.ADJUSTMENT,
                        **period,
                    },
                )
            run.lines_created = reversed_ + cursor.rowcount
        run.finished_at = timezone.now()
        run.save(update_fields=["lines_created", "finished_at"])
        audit_record(
            actor=actor,
            action=actions.PLAN_CORRECT,
            entity=version.entity_id,
            obj=correction,
            before={"version": version.pk},
            after={"version": correction.pk, "lines": run.lines_created},
            reason=reason,
        )
    return correction
