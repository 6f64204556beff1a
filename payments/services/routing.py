"""Configuration and routing: which merchant accounts may take this payment, in which order."""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from django.db import transaction
from django.db.models import Q

from audit.services import audit_record
from brokercrm.errors import ApplicationError, ValidationFailed
from brokercrm.gate import require

from .. import audit_actions as actions
from ..gateway import HttpPspGateway, PaymentGateway
from ..models import MerchantAccount, PaymentMethod, RoutingRule, RoutingTarget


class NoRoute(ApplicationError):
    code = "no_route"
    status = 422
    default_detail = "No payment route for this country, currency, method and amount."


class CrossEntityRoute(ApplicationError):
    code = "route_cross_entity"
    status = 422
    default_detail = "A route can only use merchant accounts of its own entity."


@dataclass(frozen=True)
class Route:
    rule: RoutingRule
    families: list[tuple[str, list[MerchantAccount]]]  # in order, each with its accounts


def gateway_for(merchant: MerchantAccount) -> PaymentGateway:
    return HttpPspGateway(merchant.provider.base_url, merchant.code)


def routing_rule_set(
    *,
    actor: Any,
    entity: Any,
    name: str,
    countries: list[str],
    currency: str,
    method: PaymentMethod,
    merchant_accounts: list[MerchantAccount],
    min_amount: Decimal = Decimal(0),
    max_amount: Decimal | None = None,
    priority: int = 100,
    soft_retries: int = 2,
) -> RoutingRule:
    """Create a routing rule with its ordered merchant accounts. Each account must be the
    rule's entity's, take the currency and the method, or the rule is refused whole."""
    entity_id = entity if isinstance(entity, int) else entity.pk
    require(actor, "payments.add_routingrule", entity_id)
    if not merchant_accounts:
        raise ValidationFailed("A route needs at least one merchant account.", code="invalid")
    for merchant in merchant_accounts:
        if merchant.entity_id != entity_id:
            raise CrossEntityRoute(f"{merchant} belongs to another entity.")
        if currency not in merchant.currencies:
            raise ValidationFailed(f"{merchant} does not take {currency}.", code="invalid")
        if method.code not in merchant.methods:
            raise ValidationFailed(f"{merchant} does not take {method.code}.", code="invalid")
    if max_amount is not None and max_amount < min_amount:
        raise ValidationFailed("max_amount is below min_amount.", code="invalid")
    with transaction.atomic():
        rule = RoutingRule.objects.create(
            entity_id=entity_id,
            name=name,
            countries=sorted(set(countries)) or ["*"],
            currency=currency,
            method=method,
            min_amount=min_amount,
            max_amount=max_amount,
            priority=priority,
            soft_retries=soft_retries,
        )
        RoutingTarget.objects.bulk_create(
            RoutingTarget(entity_id=entity_id, rule=rule, merchant_account=m, position=i)
            for i, m in enumerate(merchant_accounts, start=1)
        )
        audit_record(
            actor=actor,
            action=actions.ROUTE_SET,
            entity=entity_id,
            obj=rule,
            after={
                "countries": rule.countries,
                "currency": currency,
                "method": method.code,
                "targets": [m.code for m in merchant_accounts],
            },
        )
    return rule


def route_for(
    *, entity_id: int, country: str, currency: str, method: PaymentMethod, amount: Decimal
) -> Route:
    """The best matching active rule (lowest priority number) and its accounts grouped by
    gateway family, in target order. Only this entity's rules and accounts are considered."""
    if not method.available_in(country):
        raise NoRoute(f"{method.name} is not offered in {country}.")
    rules = (
        RoutingRule.objects.in_entity(entity_id)
        .filter(active=True, currency=currency, method=method, min_amount__lte=amount)
        .filter(Q(max_amount__isnull=True) | Q(max_amount__gte=amount))
        .order_by("priority", "pk")
    )
    for rule in rules:
        if "*" not in rule.countries and country not in rule.countries:
            continue
        targets = (
            RoutingTarget.objects.in_entity(entity_id)
            .filter(rule=rule, merchant_account__active=True)
            .select_related("merchant_account__provider")
            .order_by("position")
        )
        families: dict[str, list[MerchantAccount]] = {}
        for target in targets:
            merchant = target.merchant_account
            families.setdefault(merchant.gateway_family, []).append(merchant)
        if families:
            return Route(rule=rule, families=list(families.items()))
    raise NoRoute()


def local_alternatives(
    *, entity_id: int, country: str, currency: str, amount: Decimal
) -> list[str]:
    """The local methods a client of this country could use instead, where a route exists."""
    found = []
    for method in PaymentMethod.objects.filter(kind=PaymentMethod.Kind.LOCAL).order_by("code"):
        try:
            route_for(
                entity_id=entity_id,
                country=country,
                currency=currency,
                method=method,
                amount=amount,
            )
        except NoRoute:
            continue
        found.append(method.code)
    return found
