"""IB partners, referral attribution, hierarchy over time and rebate plans."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal, InvalidOperation
from typing import Any

from django.db import IntegrityError, connection, transaction
from django.utils import timezone

from audit.services import audit_record
from brokercrm.errors import NotFound, PermissionDenied, ValidationFailed
from brokercrm.scoping import scope_for
from ib.models import (
    IbAssignment,
    IbClosure,
    IbLink,
    IbPartner,
    IbPlanPeriod,
    RebatePlan,
    RebatePlanVersion,
    RebateRate,
    ReferralCode,
    ReferralReview,
)

# Self rows of the closure table start here: an IB is always its own tier-0 "ancestor".
EPOCH = dt.datetime(1970, 1, 1, tzinfo=dt.UTC)


def _require(actor: Any, perm: str, entity_id: int) -> None:
    """System calls (actor None) may act; users need `perm` in the entity."""
    if actor is not None and not scope_for(actor, perm).allows_entity(entity_id):
        raise PermissionDenied("You may not manage IBs of this entity.")


def ib_partner_create(
    *, actor: Any, profile: Any, name: str = "", plan: RebatePlan | None = None
) -> IbPartner:
    """Make a client profile an IB of the profile's entity (one IB per profile)."""
    _require(actor, "ib.add_ibpartner", profile.entity_id)
    if plan is not None and plan.entity_id != profile.entity_id:
        raise ValidationFailed("The plan belongs to another entity.", code="plan_other_entity")
    exists = ValidationFailed("This client is already an IB.", code="ib_exists")
    with transaction.atomic(durable=actor is not None):
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
        audit_record(actor=actor, action="ib.partner_create", entity=ib.entity_id, obj=ib)
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


def referral_code_create(*, actor: Any, ib: IbPartner, brand: Any, code: str) -> ReferralCode:
    _require(actor, "ib.add_referralcode", ib.entity_id)
    if brand.entity_id != ib.entity_id:
        raise ValidationFailed("The brand belongs to another entity.", code="brand_other_entity")
    if ib.status != IbPartner.Status.ACTIVE:
        raise ValidationFailed("The IB is suspended.", code="ib_suspended")
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
        audit_record(actor=actor, action="ib.code_create", entity=ib.entity_id, obj=referral)
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
                action="ib.referral_rejected",
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
            actor=None, action="ib.referral_attribute", entity=profile.entity_id, obj=assignment
        )
    return assignment


def ib_reattribute(
    *, actor: Any, profile: Any, ib: IbPartner, valid_from: dt.datetime, reason: str
) -> IbAssignment:
    """An IB manager moves a client to another IB from `valid_from` on (audited)."""
    _require(actor, "ib.change_ibassignment", profile.entity_id)
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
            action="ib.reattribute",
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
    _require(actor, "ib.change_iblink", ib.entity_id)
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
            action="ib.parent_set",
            entity=ib.entity_id,
            obj=link,
            before={"parent": current.parent_id} if current else None,
            after={"parent": parent.pk if parent else None, "valid_from": valid_from},
        )
    return link


def _wallet_currencies(entity_id: int) -> list[str]:
    """What the entity offers wallets in: commissions are paid into the IB's wallet, so a plan
    in another currency would make every commission run fail at payout."""
    from entities.models import LegalEntity
    from entities.selectors import RuleSetMissing, ruleset_effective

    entity = LegalEntity.objects.get(pk=entity_id)
    try:
        return list(ruleset_effective(entity=entity, kind="wallet").document["currencies"])
    except RuleSetMissing:
        return list(entity.wallet_currencies)


def rebate_plan_create(*, actor: Any, entity: Any, name: str, currency: str) -> RebatePlan:
    entity_id = entity if isinstance(entity, int) else entity.pk
    _require(actor, "ib.add_rebateplan", entity_id)
    name = (name or "").strip()
    if not name or len(name) > 100:
        raise ValidationFailed("Give the plan a name of at most 100 characters.", code="invalid")
    if currency not in _wallet_currencies(entity_id):
        raise ValidationFailed(
            "The entity offers no wallets in this currency: commissions could not be paid.",
            code="currency_not_offered",
        )
    taken = ValidationFailed("A plan of this name exists.", code="plan_name_taken")
    with transaction.atomic():
        if RebatePlan.objects.unscoped().filter(entity_id=entity_id, name=name).exists():
            raise taken
        try:
            with transaction.atomic():
                plan = RebatePlan.objects.unscoped().create(
                    entity_id=entity_id, name=name, currency=currency
                )
        except IntegrityError as exc:  # created by a concurrent request
            raise taken from exc
        audit_record(actor=actor, action="ib.plan_create", entity=entity_id, obj=plan)
    return plan


def _rate_figure(rate: dict[str, Any], name: str, *, most: Decimal) -> Decimal:
    value = rate.get(name)
    if value is None or isinstance(value, float | bool):
        raise ValidationFailed(f"Give {name} as a decimal string.", code="rate_invalid")
    try:
        figure = Decimal(str(value))
    except (InvalidOperation, ValueError) as exc:
        raise ValidationFailed(f"{name} is not a number.", code="rate_invalid") from exc
    if (
        not figure.is_finite()
        or figure < 0
        or figure > most
        or figure != figure.quantize(Decimal("1e-8"))
    ):
        raise ValidationFailed(
            f"{name} must be between 0 and {most} with at most 8 decimals.", code="rate_invalid"
        )
    return figure


_RATE_FIELDS = {
    RebateRate.Basis.PER_LOT: ("amount_per_lot",),
    RebateRate.Basis.SPREAD_SHARE: ("spread_per_lot", "share_percent"),
    RebateRate.Basis.COMMISSION_SHARE: ("share_percent",),
}


def _rates_create(version: RebatePlanVersion, rates: list[dict[str, Any]]) -> None:
    """Rates of a version: `basis` per_lot (`amount_per_lot`), spread_share (`spread_per_lot`,
    `share_percent`) or commission_share (`share_percent`)."""
    if not rates or not isinstance(rates, list):
        raise ValidationFailed("A plan version needs at least one rate.", code="rates_required")
    if len(rates) > 500:
        raise ValidationFailed("A plan version has at most 500 rates.", code="rate_invalid")
    server_ids = {rate.get("server_id") for rate in rates if isinstance(rate, dict)} - {None}
    if server_ids and (
        not all(isinstance(pk, int) and not isinstance(pk, bool) for pk in server_ids)
        or _servers_of_entity(server_ids, version.entity_id) != server_ids
    ):
        raise ValidationFailed("Unknown trading server.", code="rate_invalid")
    rows = []
    for rate in rates:
        if not isinstance(rate, dict):
            raise ValidationFailed("A rate is an object.", code="rate_invalid")
        basis = rate.get("basis", RebateRate.Basis.PER_LOT)
        if basis not in _RATE_FIELDS:
            raise ValidationFailed(f"Unknown rate basis {basis!r}.", code="rate_invalid")
        symbols = rate.get("symbols", [])
        account_group = rate.get("account_group", "")
        if (
            not isinstance(symbols, list)
            or len(symbols) > 200
            or not all(isinstance(sym, str) and 0 < len(sym) <= 32 for sym in symbols)
            or not isinstance(account_group, str)
            or len(account_group) > 64
        ):
            raise ValidationFailed(
                "Symbols are up to 200 names of at most 32 characters; an account group at"
                " most 64.",
                code="rate_invalid",
            )
        figures = {
            name: _rate_figure(
                rate, name, most=Decimal(100) if name == "share_percent" else Decimal(10**12)
            )
            for name in _RATE_FIELDS[basis]
        }
        rows.append(
            RebateRate(
                entity_id=version.entity_id,
                version=version,
                symbols=list(symbols),
                account_group=account_group,
                server_id=rate.get("server_id"),
                basis=basis,
                **figures,
            )
        )
    RebateRate.objects.unscoped().bulk_create(rows)


def _servers_of_entity(server_ids: set[int], entity_id: int) -> set[int]:
    from platforms.models import TradingServer

    return set(
        TradingServer.objects.unscoped()
        .filter(pk__in=server_ids, entity_id=entity_id)
        .values_list("pk", flat=True)
    )


def _split_checked(tier_split: list[Any]) -> list[Decimal]:
    invalid = ValidationFailed(
        "Tier splits are up to 10 percentages (decimal strings, at most 4 decimals) that add"
        " up to at most 100.",
        code="tier_split_invalid",
    )
    if not isinstance(tier_split, list | tuple) or not 0 < len(tier_split) <= 10:
        raise invalid
    split = []
    for part in tier_split:
        if isinstance(part, float | bool) or not isinstance(part, int | str | Decimal):
            raise invalid
        try:
            figure = Decimal(str(part))
        except (InvalidOperation, ValueError) as exc:
            raise invalid from exc
        if (
            not figure.is_finite()
            or not 0 <= figure <= 100
            or figure != figure.quantize(Decimal("1e-4"))
        ):
            raise invalid
        split.append(figure)
    if sum(split) > 100:
        raise invalid
    return split


def _ceiling_checked(per_trade_ceiling: Any) -> Decimal | None:
    if per_trade_ceiling is None:
        return None
    return _rate_figure(
        {"per_trade_ceiling": per_trade_ceiling}, "per_trade_ceiling", most=Decimal(10**12)
    )


def _holding_checked(min_holding_seconds: Any) -> int:
    if (
        not isinstance(min_holding_seconds, int)
        or isinstance(min_holding_seconds, bool)
        or not 0 <= min_holding_seconds <= 2**31 - 1
    ):
        raise ValidationFailed(
            "The minimum holding time is a whole number of seconds.", code="invalid"
        )
    return min_holding_seconds


def rebate_plan_publish(
    *,
    actor: Any,
    plan: RebatePlan,
    valid_from: dt.datetime,
    rates: list[dict[str, Any]],
    tier_split: list[Any],
    per_trade_ceiling: Any = None,
    min_holding_seconds: int = 0,
) -> RebatePlanVersion:
    """A new version of the plan from `valid_from`; the previous one ends there."""
    _require(actor, "ib.change_rebateplan", plan.entity_id)
    split = _split_checked(tier_split)
    per_trade_ceiling = _ceiling_checked(per_trade_ceiling)
    min_holding_seconds = _holding_checked(min_holding_seconds)
    with transaction.atomic():
        RebatePlan.objects.unscoped().select_for_update().get(pk=plan.pk)  # one publish at a time
        versions = RebatePlanVersion.objects.unscoped().filter(plan=plan)
        last = versions.filter(corrected_by__isnull=True).order_by("-valid_from").first()
        if last is not None:
            if valid_from <= last.valid_from:
                raise ValidationFailed(
                    "A new version must start after the current one.", code="date_invalid"
                )
            last.valid_to = valid_from
            last.save(update_fields=["valid_to"])
        number = (versions.order_by("-number").values_list("number", flat=True).first() or 0) + 1
        version = RebatePlanVersion.objects.unscoped().create(
            entity_id=plan.entity_id,
            plan=plan,
            number=number,
            valid_from=valid_from,
            tier_split=split,
            per_trade_ceiling=per_trade_ceiling,
            min_holding_seconds=min_holding_seconds,
        )
        _rates_create(version, rates)
        audit_record(actor=actor, action="ib.plan_publish", entity=plan.entity_id, obj=version)
    return version
