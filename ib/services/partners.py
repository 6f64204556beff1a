"""IB partners, referral attribution, hierarchy over time, the plan an IB is on."""

from __future__ import annotations

import datetime as dt
import secrets
from typing import Any

from django.db import IntegrityError, connection, transaction
from django.utils import timezone

from audit.services import audit_record
from brokercrm.errors import NotFound, ValidationFailed
from brokercrm.gate import is_client, is_system, require
from ib import audit_actions as actions
from ib.models import (
    IbAssignment,
    IbClosure,
    IbLink,
    IbPartner,
    IbPlanPeriod,
    RebatePlan,
    ReferralCode,
    ReferralReview,
)

# Self rows of the closure table start here: an IB is always its own tier-0 "ancestor".
EPOCH = dt.datetime(1970, 1, 1, tzinfo=dt.UTC)


def ib_partner_create(
    *, actor: Any, profile: Any, name: str = "", plan: RebatePlan | None = None
) -> IbPartner:
    """Make a client profile an IB of the profile's entity (one IB per profile)."""
    require(actor, "ib.add_ibpartner", profile.entity_id)
    if plan is not None and plan.entity_id != profile.entity_id:
        raise ValidationFailed("The plan belongs to another entity.", code="plan_other_entity")
    exists = ValidationFailed("This client is already an IB.", code="ib_exists")
    with transaction.atomic(durable=not is_system(actor)):
        if IbPartner.objects.unscoped().filter(profile=profile).exists():
            raise exists
        try:
            with transaction.atomic():
                ib = IbPartner.objects.unscoped().create(
                    entity_id=profile.entity_id,
                    person_id=profile.person_id,
                    profile=profile,
                    name=name or f"IB {profile.pk}",
                    plan=plan,
                )
        except IntegrityError as exc:  # made an IB by a concurrent request
            raise exists from exc
        IbClosure.objects.unscoped().create(
            entity_id=ib.entity_id, ib=ib, ancestor=ib, depth=0, valid_from=EPOCH
        )
        if plan is not None:
            ib_plan_period_set(ib, plan, EPOCH)
        audit_record(actor=actor, action=actions.PARTNER_CREATE, entity=ib.entity_id, obj=ib)
    return ib


def period_close(rows: Any, valid_from: dt.datetime) -> Any:
    """End the row of `rows` still in force (valid_to NULL) at `valid_from`, in the caller's
    transaction; a change must start after it did. Returns the row, or None."""
    current = rows.select_for_update().filter(valid_to__isnull=True).first()
    if current is not None:
        if valid_from <= current.valid_from:
            raise ValidationFailed(
                "A change must take effect after the settings in force started.",
                code="date_invalid",
            )
        current.valid_to = valid_from
        current.save(update_fields=["valid_to"])
    return current


def ib_plan_period_set(ib: IbPartner, plan: RebatePlan | None, valid_from: dt.datetime) -> None:
    """Put the IB on `plan` (None: no plan) from `valid_from`; the plan in force until then
    keeps the deals before it. Runs in the caller's transaction, which holds the IB row."""
    period_close(IbPlanPeriod.objects.unscoped().filter(ib=ib), valid_from)
    if plan is not None:
        IbPlanPeriod.objects.unscoped().create(
            entity_id=ib.entity_id, ib=ib, plan=plan, valid_from=valid_from
        )


# How many codes an IB may make for itself (staff are not limited): enough for every
# campaign, not a table to fill.
CLIENT_CODE_LIMIT = 20


def referral_code_new() -> str:
    """A referral code nobody has yet, for an IB that does not name its own."""
    while True:
        code = f"ref-{secrets.token_hex(4)}"
        if not ReferralCode.objects.unscoped().filter(code=code).exists():
            return code


def referral_code_create(*, actor: Any, ib: IbPartner, brand: Any, code: str) -> ReferralCode:
    """A referral code of the IB on a brand of its entity (staff, or the IB itself)."""
    require(actor, "ib.add_referralcode", ib)
    if brand.entity_id != ib.entity_id:
        raise ValidationFailed("The brand belongs to another entity.", code="brand_other_entity")
    if ib.status != IbPartner.Status.ACTIVE:
        raise ValidationFailed("The IB is suspended.", code="ib_suspended")
    if (
        is_client(actor)
        and ReferralCode.objects.in_entity(ib.entity_id).filter(ib=ib).count() >= CLIENT_CODE_LIMIT
    ):
        raise ValidationFailed(
            f"You have {CLIENT_CODE_LIMIT} referral codes already; reuse one of them.",
            code="referral_code_limit",
        )
    taken = ValidationFailed("This code is taken.", code="referral_code_taken")
    with transaction.atomic():
        if ReferralCode.objects.unscoped().filter(code=code).exists():
            raise taken
        try:
            with transaction.atomic():
                referral = ReferralCode.objects.unscoped().create(
                    entity_id=ib.entity_id, ib=ib, brand=brand, code=code
                )
        except IntegrityError as exc:  # taken by a concurrent request
            raise taken from exc
        audit_record(actor=actor, action=actions.CODE_CREATE, entity=ib.entity_id, obj=referral)
    return referral


def referral_attribute(
    *, profile: Any, code: str, at: dt.datetime | None = None
) -> IbAssignment | None:
    """At registration: attribute the new profile to the code's IB.

    A code of another entity attributes nothing (a licence does not travel with a link); it is
    kept for review with reason `referral_other_entity`, as is an unknown code."""
    at = at or timezone.now()
    with transaction.atomic():
        referral = (
            ReferralCode.objects.unscoped()
            .filter(code=code, active=True)
            .select_related("ib")
            .first()
        )
        reason = ""
        if referral is None:
            reason = "referral_unknown"
        elif referral.entity_id != profile.entity_id:
            reason = "referral_other_entity"
        elif referral.ib.status != IbPartner.Status.ACTIVE:
            # A suspended IB gains no clients; a person decides what becomes of this one.
            reason = "referral_ib_suspended"
        if reason:
            ReferralReview.objects.unscoped().create(
                entity_id=profile.entity_id, profile=profile, code_text=code[:40], reason=reason
            )
            audit_record(
                actor=None,
                action=actions.REFERRAL_REJECTED,
                entity=profile.entity_id,
                obj=profile,
                after={"code": code, "reason": reason},
            )
            return None
        assert referral is not None
        if IbAssignment.objects.unscoped().filter(profile=profile).exists():
            return None  # attributed already: the first referral wins
        assignment = IbAssignment.objects.unscoped().create(
            entity_id=profile.entity_id,
            profile=profile,
            ib_id=referral.ib_id,
            valid_from=at,
            source=IbAssignment.Source.REFERRAL,
            code=referral,
        )
        audit_record(
            actor=None, action=actions.REFERRAL_ATTRIBUTE, entity=profile.entity_id, obj=assignment
        )
    return assignment


def ib_reattribute(
    *, actor: Any, profile: Any, ib: IbPartner, valid_from: dt.datetime, reason: str
) -> IbAssignment:
    """An IB manager moves a client to another IB from `valid_from` on (audited)."""
    require(actor, "ib.change_ibassignment", profile.entity_id)
    if ib.entity_id != profile.entity_id:
        raise NotFound()
    if not reason:
        raise ValidationFailed("Give a reason.", code="reason_required")
    if ib.status != IbPartner.Status.ACTIVE:
        raise ValidationFailed("The IB is suspended.", code="ib_suspended")
    with transaction.atomic():
        # One attribution change per client at a time, also while it has none to lock yet:
        # two open attributions would make every later commission run refuse the deal.
        with connection.cursor() as cursor:
            cursor.execute("SELECT pg_advisory_xact_lock(%s, %s)", [0x1A, profile.pk & 0x7FFFFFFF])
        current = (
            IbAssignment.objects.unscoped()
            .select_for_update()
            .filter(profile=profile, valid_to__isnull=True)
            .first()
        )
        before = None
        if current is not None:
            if valid_from <= current.valid_from:
                raise ValidationFailed(
                    "The change must start after the current attribution.", code="date_invalid"
                )
            before = {"ib": current.ib_id, "valid_from": current.valid_from}
            current.valid_to = valid_from
            current.save(update_fields=["valid_to"])
        assignment = IbAssignment.objects.unscoped().create(
            entity_id=profile.entity_id,
            profile=profile,
            ib=ib,
            valid_from=valid_from,
            source=IbAssignment.Source.MANAGER,
        )
        audit_record(
            actor=actor,
            action=actions.REATTRIBUTE,
            entity=profile.entity_id,
            obj=assignment,
            before=before,
            after={"ib": ib.pk, "valid_from": valid_from},
            reason=reason,
        )
    return assignment


_CLOSURE_CUT = """
WITH sub AS (
    SELECT ib_id, depth, valid_from, valid_to FROM ib_ibclosure
    WHERE ancestor_id = %(ib)s AND (valid_to IS NULL OR valid_to > %(t)s)
), above AS (
    SELECT c.id, c.valid_from FROM ib_ibclosure c JOIN sub ON c.ib_id = sub.ib_id
    WHERE c.depth > sub.depth AND (c.valid_to IS NULL OR c.valid_to > %(t)s)
      AND (sub.valid_to IS NULL OR c.valid_from < sub.valid_to)
      AND (c.valid_to IS NULL OR c.valid_to > sub.valid_from)
), deleted AS (
    DELETE FROM ib_ibclosure WHERE id IN (SELECT id FROM above WHERE valid_from >= %(t)s)
)
UPDATE ib_ibclosure SET valid_to = %(t)s
WHERE id IN (SELECT id FROM above WHERE valid_from < %(t)s)
"""

_CLOSURE_ADD = """
INSERT INTO ib_ibclosure (entity_id, ib_id, ancestor_id, depth, valid_from, valid_to)
SELECT * FROM (
    SELECT %(entity)s, sub.ib_id, up.ancestor_id, sub.depth + 1 + up.depth,
           GREATEST(%(t)s, sub.valid_from, up.valid_from) AS vf,
           CASE WHEN sub.valid_to IS NULL THEN up.valid_to
                WHEN up.valid_to IS NULL THEN sub.valid_to
                ELSE LEAST(sub.valid_to, up.valid_to) END AS vt
    FROM ib_ibclosure sub, ib_ibclosure up
    WHERE sub.ancestor_id = %(ib)s AND (sub.valid_to IS NULL OR sub.valid_to > %(t)s)
      AND up.ib_id = %(parent)s AND (up.valid_to IS NULL OR up.valid_to > %(t)s)
) rows WHERE vt IS NULL OR vf < vt
"""


def ib_parent_set(
    *, actor: Any, ib: IbPartner, parent: IbPartner | None, valid_from: dt.datetime
) -> IbLink:
    """Give `ib` a new parent (or none) from `valid_from`; deals before keep the old chain.

    The closure rows of the IB and everything below it are cut at `valid_from` and the new
    ancestors added from then on, in the same transaction."""
    require(actor, "ib.change_iblink", ib.entity_id)
    if parent is not None and parent.entity_id != ib.entity_id:
        raise ValidationFailed("The parent belongs to another entity.", code="parent_other_entity")
    with transaction.atomic():
        # One hierarchy change at a time per entity: the closure is a whole.
        with connection.cursor() as cursor:
            cursor.execute("SELECT pg_advisory_xact_lock(%s, %s)", [0x1B, ib.entity_id])
        if parent is not None and (
            parent.pk == ib.pk
            or IbClosure.objects.unscoped()
            .filter(ib=parent, ancestor=ib)
            .exclude(valid_to__lte=valid_from)
            .exists()
        ):
            raise ValidationFailed("That would make a cycle.", code="hierarchy_cycle")
        current = IbLink.objects.unscoped().filter(ib=ib, valid_to__isnull=True).first()
        if current is not None:
            if valid_from <= current.valid_from:
                raise ValidationFailed(
                    "The change must start after the current link.", code="date_invalid"
                )
            current.valid_to = valid_from
            current.save(update_fields=["valid_to"])
        link = IbLink.objects.unscoped().create(
            entity_id=ib.entity_id, ib=ib, parent=parent, valid_from=valid_from
        )
        params = {"ib": ib.pk, "t": valid_from, "entity": ib.entity_id, "parent": None}
        with connection.cursor() as cursor:
            cursor.execute(_CLOSURE_CUT, params)
            if parent is not None:
                cursor.execute(_CLOSURE_ADD, {**params, "parent": parent.pk})
        audit_record(
            actor=actor,
            action=actions.PARENT_SET,
            entity=ib.entity_id,
            obj=link,
            before={"parent": current.parent_id} if current else None,
            after={"parent": parent.pk if parent else None, "valid_from": valid_from},
        )
    return link
