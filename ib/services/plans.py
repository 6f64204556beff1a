"""Rebate plans: names and currencies, versions with their rates, tier splits, ceilings and
minimum holding times (corrections are in ib.services.commission_corrections)."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal, InvalidOperation
from typing import Any

from django.db import IntegrityError, transaction

from audit.services import audit_record
from brokercrm.errors import ValidationFailed
from brokercrm.gate import require
from entities.selectors import wallet_currencies
from ib import audit_actions as actions
from ib.models import RebatePlan, RebatePlanVersion, RebateRate
from platforms.selectors import servers_of_entity


def rebate_plan_create(*, actor: Any, entity: Any, name: str, currency: str) -> RebatePlan:
    entity_id = entity if isinstance(entity, int) else entity.pk
    require(actor, "ib.add_rebateplan", entity_id)
    name = (name or "").strip()
    if not name or len(name) > 100:
        raise ValidationFailed("Give the plan a name of at most 100 characters.", code="invalid")
    if currency not in wallet_currencies(entity_id):
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
        audit_record(actor=actor, action=actions.PLAN_CREATE, entity=entity_id, obj=plan)
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
        or servers_of_entity(server_ids, version.entity_id) != server_ids
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
    require(actor, "ib.change_rebateplan", plan.entity_id)
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
        audit_record(actor=actor, action=actions.PLAN_PUBLISH, entity=plan.entity_id, obj=version)
    return version
