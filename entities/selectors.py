"""Reads of entity configuration that other apps use: routing and effective rule sets."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from django.db.models import QuerySet
from django.utils import timezone

from brokercrm.errors import ApplicationError
from brokercrm.reference import COUNTRIES
from brokercrm.scoping import scope_for

from .models import Brand, CountryRoute, Desk, LegalDocument, LegalEntity, RuleSet


class OnboardingRefused(ApplicationError):
    code = "onboarding_refused"
    default_detail = "We cannot open an account for residents of this country through this brand."


class RuleSetMissing(ApplicationError):
    code = "ruleset_missing"
    status = 409
    default_detail = "The entity has no rules of this kind in force."


@dataclass(frozen=True)
class RoutingDecision:
    brand: Brand
    country: str
    entity: LegalEntity
    route: CountryRoute
    ruleset: RuleSet

    @property
    def explanation(self) -> dict[str, Any]:
        return {
            "brand": self.brand.code,
            "country": self.country,
            "entity": self.entity.code,
            "route": self.route.country,
            "ruleset": self.ruleset.reference,
        }


def entities_visible_to(
    user: Any, perm: str = "entities.view_legalentity"
) -> QuerySet[LegalEntity]:
    return LegalEntity.objects.filter(scope_for(user, perm).q(LegalEntity))


def _entity_code(entity: Any) -> str:
    if isinstance(entity, LegalEntity):
        return entity.code
    code = LegalEntity.objects.filter(pk=entity).values_list("code", flat=True).first()
    return code or f"Entity {entity}"


def ruleset_effective(
    *, entity: LegalEntity, kind: str, country: str = "", at: datetime | None = None
) -> RuleSet:
    """The version in force at `at`: the country's own rules if it has any, else the entity's."""
    at = at or timezone.now()
    in_force = (
        RuleSet.objects.in_entity(entity)
        .filter(kind=kind, effective_from__lte=at)
        .select_related("entity")
        .order_by("-effective_from", "-version")
    )
    if country:
        # The country's latest version and the entity's latest, in one query.
        latest = {
            rules.country: rules
            for rules in in_force.filter(country__in=[country, RuleSet.ALL_COUNTRIES])
            .order_by("country", "-effective_from", "-version")
            .distinct("country")
        }
        found = latest.get(country) or latest.get(RuleSet.ALL_COUNTRIES)
    else:
        found = in_force.filter(country=RuleSet.ALL_COUNTRIES).first()
    if found is None:
        raise RuleSetMissing(
            f"{_entity_code(entity)} has no {kind} rules in force; publish a rule set first."
        )
    return found


def onboarding_entity_for(
    *, brand: Brand, country: str, at: datetime | None = None
) -> RoutingDecision:
    """Which entity onboards a resident of `country` arriving through `brand`, or a refusal."""
    country = (country or "").strip().upper()
    if country not in COUNTRIES:
        raise OnboardingRefused(
            f"{country!r} is not a country code we know.", code="country_unknown"
        )
    if brand.status != Brand.Status.ACTIVE:
        raise OnboardingRefused("This brand does not take new clients.", code="brand_inactive")
    routes = {
        route.country: route
        for route in CountryRoute.objects.unscoped()
        .filter(brand=brand, country__in=[country, CountryRoute.ANY_COUNTRY])
        .select_related("entity")
    }
    route = routes.get(country) or routes.get(CountryRoute.ANY_COUNTRY)
    if route is None:
        raise OnboardingRefused(
            f"{brand.name} does not onboard residents of {COUNTRIES[country]}.",
            code="country_not_served",
        )
    entity = route.entity
    if entity.status != LegalEntity.Status.ACTIVE:
        raise OnboardingRefused(
            f"{entity.legal_name} does not take new clients.", code="entity_not_onboarding"
        )
    rules = ruleset_effective(entity=entity, kind=RuleSet.Kind.ONBOARDING, at=at)
    if country in rules.document.get("restricted_countries", []):
        raise OnboardingRefused(
            f"{entity.legal_name} does not accept residents of {COUNTRIES[country]}.",
            code="country_restricted",
            extra={"ruleset": rules.reference},
        )
    allowed = rules.document.get("allowed_countries", [])
    if "*" not in allowed and country not in allowed:
        raise OnboardingRefused(
            f"{entity.legal_name} does not onboard residents of {COUNTRIES[country]}.",
            code="country_not_served",
            extra={"ruleset": rules.reference},
        )
    return RoutingDecision(brand=brand, country=country, entity=entity, route=route, ruleset=rules)


def wallet_currencies(entity: Any) -> list[str]:
    """The currencies the entity (row or id) opens wallets in: its wallet rule set's, or the
    entity's own list when no rule set is published."""
    if not isinstance(entity, LegalEntity):
        entity = LegalEntity.objects.get(pk=entity)
    try:
        return list(ruleset_effective(entity=entity, kind="wallet").document["currencies"])
    except RuleSetMissing:
        return list(entity.wallet_currencies)


def entities_by_code(codes: list[str] | None = None) -> dict[str, LegalEntity]:
    """The legal entities by code (all of them, or those named), for jobs and commands."""
    rows = LegalEntity.objects.order_by("code")
    if codes is not None:
        rows = rows.filter(code__in=codes)
    return {entity.code: entity for entity in rows}


def brands_by_code() -> dict[str, Brand]:
    return {brand.code: brand for brand in Brand.objects.unscoped().order_by("code")}


def brand_by_code(code: str) -> Brand | None:
    return Brand.objects.unscoped().filter(code=code).first()


def desk_for_country(entity_id: int, country: str) -> Desk | None:
    """The active desk of the entity that covers clients residing in `country`, or None when
    no desk does. Where two desks cover a country the one set up first takes new clients."""
    if not country:
        return None
    return (
        Desk.objects.in_entity(entity_id)
        .filter(active=True, countries__contains=[country.upper()])
        .order_by("pk")
        .first()
    )


def entity_get(entity: Any) -> LegalEntity:
    """The legal entity (a row is returned as it is)."""
    return entity if isinstance(entity, LegalEntity) else LegalEntity.objects.get(pk=entity)


def legal_documents_current(entity: Any, at: datetime | None = None) -> list[LegalDocument]:
    """The version in force of each of the entity's legal documents (at most one per kind),
    in the order of `LegalDocument.Kind`."""
    at = at or timezone.now()
    rows = (
        LegalDocument.objects.in_entity(entity if isinstance(entity, int) else entity.pk)
        .filter(published_at__lte=at)
        .select_related("entity")
        .order_by("kind", "-version")
        .distinct("kind")
    )
    by_kind = {row.kind: row for row in rows}
    return [by_kind[kind] for kind in LegalDocument.Kind.values if kind in by_kind]


def legal_document_of_entity(entity: Any, document_id: int) -> LegalDocument | None:
    """One of the entity's published document versions by id, or None (another entity's,
    announced for later, or unknown)."""
    return (
        LegalDocument.objects.in_entity(entity if isinstance(entity, int) else entity.pk)
        .filter(pk=document_id, published_at__lte=timezone.now())
        .select_related("entity")
        .first()
    )


def brand_for_host(host: str) -> Brand | None:
    """The active brand whose domain is this host (a leading "www." and the port ignored)."""
    name = (host or "").split(":", 1)[0].strip().lower().removeprefix("www.")
    if not name:
        return None
    return (
        Brand.objects.unscoped()
        .filter(domain__iexact=name, status=Brand.Status.ACTIVE)
        .select_related("entity")
        .first()
    )


def brand_active_by_code(code: str) -> Brand | None:
    return (
        Brand.objects.unscoped()
        .filter(code=code, status=Brand.Status.ACTIVE)
        .select_related("entity")
        .first()
    )


def risk_warning(entity: Any, language: str) -> str:
    """The risk warning the entity's onboarding rules give, in `language` or else English."""
    try:
        rules = ruleset_effective(entity=entity, kind=RuleSet.Kind.ONBOARDING)
    except RuleSetMissing:
        return ""
    texts = rules.document.get("risk_warning") or {}
    return texts.get(language) or texts.get("en", "")


@dataclass(frozen=True)
class WorkDeadlines:
    """One entity's work-queue deadlines: the SLA rule set in force, or the product's defaults
    when the entity has published none (then `reference` says so)."""

    reference: str
    default_hours: int
    hours: dict[str, int]

    def due_at(self, queue_key: str, opened_at: datetime) -> datetime | None:
        hours = self.hours.get(queue_key, self.default_hours)
        return opened_at + timedelta(hours=hours) if hours else None


def work_deadlines(entity_ids: Iterable[int]) -> dict[int, WorkDeadlines]:
    """The deadlines of each entity, in one query for all of them."""
    from .rules import DEFAULT_QUEUE_HOURS

    ids = sorted(set(entity_ids))
    now = timezone.now()
    latest = (
        RuleSet.objects.unscoped()
        .filter(
            entity_id__in=ids,
            kind=RuleSet.Kind.SLA,
            country=RuleSet.ALL_COUNTRIES,
            effective_from__lte=now,
        )
        .select_related("entity")
        .order_by("entity_id", "-effective_from", "-version")
        .distinct("entity_id")
    )
    found = {
        rules.entity_id: WorkDeadlines(
            reference=rules.reference,
            default_hours=int(rules.document.get("default_hours", 48)),
            hours={**DEFAULT_QUEUE_HOURS, **rules.document.get("hours", {})},
        )
        for rules in latest
    }
    fallback = WorkDeadlines("product defaults", 48, dict(DEFAULT_QUEUE_HOURS))
    return {entity_id: found.get(entity_id, fallback) for entity_id in ids}
