"""What an IB manager does by hand: change an IB's plan or status, decide referral reviews,
start the commission batch. Each is one transaction with its audit row."""

from __future__ import annotations

import datetime as dt
from typing import Any

from django.db import transaction
from django.utils import timezone

from audit.services import audit_record
from brokercrm.errors import Conflict, ValidationFailed
from brokercrm.gate import is_system, require
from brokercrm.scoping import scope_for
from ib import audit_actions as actions
from ib.models import IbPartner, IbProgramme, RebatePlan, ReferralReview
from ib.services.partners import ib_plan_period_set, ib_reattribute, period_close

# "Leave the plan as it is" (None means "no plan").
UNCHANGED: Any = object()

RUN_PERMISSION = "ib.run_commissionbatch"

# A plan change "from now" sent a little late is still now.
PLAN_CHANGE_LEEWAY = dt.timedelta(minutes=5)


def ib_partner_update(
    *,
    actor: Any,
    ib: IbPartner,
    plan: RebatePlan | None = UNCHANGED,
    plan_from: dt.datetime | None = None,
    status: str | None = None,
    reason: str,
) -> IbPartner:
    """Move an IB to another plan (or none) from `plan_from` (now if not given, never in the
    past: repricing past deals is what a plan correction is for) and/or suspend or
    reactivate it (audited).

    Deals earn by the plan in force at their time. A suspended IB gains no clients (referral
    codes go to review, no manual attribution, no new codes) and is not paid: its lines keep
    accruing and are paid by the first run after it is reactivated."""
    require(actor, "ib.change_ibpartner", ib.entity_id)
    if not reason:
        raise ValidationFailed("Give a reason.", code="reason_required")
    if status is not None and status not in IbPartner.Status.values:
        raise ValidationFailed("Unknown IB status.", code="status_invalid")
    if plan is not UNCHANGED and plan is not None and plan.entity_id != ib.entity_id:
        raise ValidationFailed("The plan belongs to another entity.", code="plan_other_entity")
    if plan is not UNCHANGED:
        plan_from = _not_backdated(plan_from, "A plan change")
    with transaction.atomic(durable=not is_system(actor)):
        ib = IbPartner.objects.unscoped().select_for_update().get(pk=ib.pk)
        before = {"plan": ib.plan_id, "status": ib.status}
        if plan is not UNCHANGED and plan != ib.plan:
            ib_plan_period_set(ib, plan, plan_from)
            ib.plan = plan
        if status is not None:
            ib.status = status
        after = {
            "plan": ib.plan_id,
            "status": ib.status,
            **({"plan_from": plan_from.isoformat()} if ib.plan_id != before["plan"] else {}),
        }
        if after == before:
            raise ValidationFailed("Nothing to change.", code="no_change")
        ib.save(update_fields=["plan", "status"])
        audit_record(
            actor=actor,
            action=actions.PARTNER_UPDATE,
            entity=ib.entity_id,
            obj=ib,
            before=before,
            after=after,
            reason=reason,
        )
    return ib


def _not_backdated(when: dt.datetime | None, what: str) -> dt.datetime:
    now = timezone.now()
    when = when or now
    if when < now - PLAN_CHANGE_LEEWAY:
        raise ValidationFailed(
            f"{what} takes effect now or later; correct the plan version to reprice past deals.",
            code="date_invalid",
        )
    return when


def ib_programme_set(
    *,
    actor: Any,
    entity: Any,
    max_depth: int,
    valid_from: dt.datetime | None = None,
    reason: str,
) -> IbProgramme:
    """How many tiers earn on the entity's deals from `valid_from` (now if not given, never
    in the past); deals before keep the depth of their time. Audited."""
    entity_id = entity if isinstance(entity, int) else entity.pk
    require(actor, "ib.change_ibprogramme", entity_id)
    if not reason:
        raise ValidationFailed("Give a reason.", code="reason_required")
    if isinstance(max_depth, bool) or not isinstance(max_depth, int) or not 1 <= max_depth <= 10:
        raise ValidationFailed("The depth is a whole number from 1 to 10.", code="depth_invalid")
    valid_from = _not_backdated(valid_from, "A programme change")
    with transaction.atomic(durable=not is_system(actor)):
        current = period_close(
            IbProgramme.objects.unscoped().filter(entity_id=entity_id), valid_from
        )
        before = {"max_depth": current.max_depth if current else 3}
        programme = IbProgramme.objects.unscoped().create(
            entity_id=entity_id, max_depth=max_depth, valid_from=valid_from
        )
        audit_record(
            actor=actor,
            action=actions.PROGRAMME_SET,
            entity=entity_id,
            obj=programme,
            before=before,
            after={"max_depth": max_depth, "valid_from": valid_from.isoformat()},
            reason=reason,
        )
    return programme


REVIEW_DECISIONS = ("attribute", "dismiss")


def referral_review_resolve(
    *,
    actor: Any,
    review: ReferralReview,
    decision: str,
    reason: str,
    ib: IbPartner | None = None,
    valid_from: dt.datetime | None = None,
) -> ReferralReview:
    """Decide a referral review once: attribute the client to an IB of the review's entity
    from `valid_from` (through the manager's reattribution, audited), or dismiss it."""
    require(actor, "ib.change_referralreview", review.entity_id)
    if decision not in REVIEW_DECISIONS:
        raise ValidationFailed("Decide attribute or dismiss.", code="decision_invalid")
    if not reason:
        raise ValidationFailed("Give a reason.", code="reason_required")
    if decision == "attribute":
        if ib is None or valid_from is None:
            raise ValidationFailed(
                "Name the IB and the date the attribution starts.", code="ib_required"
            )
        if ib.entity_id != review.entity_id:
            raise ValidationFailed(
                "The IB belongs to another entity than the client.", code="ib_other_entity"
            )
    with transaction.atomic(durable=not is_system(actor)):
        review = ReferralReview.objects.unscoped().select_for_update().get(pk=review.pk)
        if review.status != ReferralReview.Status.OPEN:
            raise Conflict("This review was decided already.", code="review_decided")
        if decision == "attribute":
            assert ib is not None
            assert valid_from is not None
            review.assignment = ib_reattribute(
                actor=actor, profile=review.profile, ib=ib, valid_from=valid_from, reason=reason
            )
            review.status = ReferralReview.Status.ATTRIBUTED
        else:
            review.status = ReferralReview.Status.DISMISSED
        review.decided_by = actor
        review.decided_at = timezone.now()
        review.decision_reason = reason
        review.save(
            update_fields=["status", "assignment", "decided_by", "decided_at", "decision_reason"]
        )
        audit_record(
            actor=actor,
            action=actions.REFERRAL_REVIEW_RESOLVE,
            entity=review.entity_id,
            obj=review,
            before={"status": ReferralReview.Status.OPEN},
            after={"status": review.status, "assignment": review.assignment_id},
            reason=reason,
        )
    return review


def commission_run_allowed(actor: Any) -> bool:
    """The batch spans entities: the right to start it in any entity is the right to start it."""
    scope = scope_for(actor, RUN_PERMISSION)
    return scope.everything or bool(scope.entity_ids)


def commission_run_request(*, actor: Any) -> None:
    """Queue a commission batch run once this transaction commits (audited). Runs follow
    each other and are idempotent, so a second request only finds less to do."""
    require(actor, RUN_PERMISSION)
    from ib.tasks import commission_batch_run_task

    with transaction.atomic(durable=True):
        audit_record(
            actor=actor, action=actions.COMMISSION_RUN_REQUEST, object_type="ib.CommissionRun"
        )
        # A broker that is down must not turn a committed, audited request into a 500.
        transaction.on_commit(commission_batch_run_task.delay, robust=True)
