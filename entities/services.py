"""Writes to entity configuration. Each runs in its own transaction and is audited."""

from __future__ import annotations

import hashlib
from datetime import datetime, timedelta
from typing import Any

from django.core.exceptions import ValidationError as DjangoValidationError
from django.db import IntegrityError, transaction
from django.db.models import Max
from django.utils import timezone
from rest_framework.exceptions import ValidationError as SchemaError

from audit.services import audit_record
from brokercrm.accounts.services import entity_grants_sync
from brokercrm.errors import Conflict, ValidationFailed
from brokercrm.gate import is_system, require, require_superuser
from brokercrm.masking import snapshot
from brokercrm.reference import COUNTRIES, CURRENCY_MINOR_UNITS

from . import audit_actions as actions
from .models import Brand, CountryRoute, Desk, LegalDocument, LegalEntity, RuleSet
from .rules import ENTITY_WIDE_KINDS, SCHEMAS, validate_rule_document


def _full_clean(instance: Any, exclude: list[str] | None = None) -> None:
    try:
        instance.full_clean(exclude=exclude)
    except DjangoValidationError as exc:
        raise ValidationFailed(
            "; ".join(f"{field}: {' '.join(msgs)}" for field, msgs in exc.message_dict.items()),
            code="invalid",
            extra={"errors": exc.message_dict},
        ) from exc


def _check_currencies(base_currency: str, wallet_currencies: list[str]) -> list[str]:
    unknown = [code for code in wallet_currencies if code not in CURRENCY_MINOR_UNITS]
    if unknown:
        raise ValidationFailed(
            f"Unknown currencies: {', '.join(unknown)}.", code="currency_unknown"
        )
    if base_currency not in wallet_currencies:
        raise ValidationFailed(
            "The base currency must be one of the wallet currencies.",
            code="base_currency_not_in_wallets",
        )
    return sorted(set(wallet_currencies))


def entity_create(*, actor: Any, reason: str = "", **fields: Any) -> LegalEntity:
    require_superuser(actor, "Only a superuser can create a legal entity.")
    entity = LegalEntity(**fields)
    entity.wallet_currencies = _check_currencies(
        entity.base_currency, list(entity.wallet_currencies or [])
    )
    _full_clean(entity)
    with transaction.atomic():
        entity.save()
        entity_grants_sync()
        audit_record(
            actor=actor,
            action=actions.ENTITY_CREATED,
            entity=entity,
            obj=entity,
            after=snapshot(entity),
            reason=reason,
        )
    return entity


def entity_update(
    *, actor: Any, entity: LegalEntity, reason: str = "", **changes: Any
) -> LegalEntity:
    require(actor, "entities.change_legalentity", entity.pk)
    forbidden = set(changes) - {
        "legal_name",
        "regulator",
        "licence_number",
        "wallet_currencies",
        "status",
    }
    if forbidden:
        raise ValidationFailed(
            f"Cannot change: {', '.join(sorted(forbidden))}.", code="field_read_only"
        )
    with transaction.atomic():
        entity = LegalEntity.objects.select_for_update().get(pk=entity.pk)
        before = snapshot(entity)
        for name, value in changes.items():
            setattr(entity, name, value)
        entity.wallet_currencies = _check_currencies(
            entity.base_currency, list(entity.wallet_currencies)
        )
        _full_clean(entity)
        entity.save()
        audit_record(
            actor=actor,
            action=actions.ENTITY_UPDATED,
            entity=entity,
            obj=entity,
            before=before,
            after=snapshot(entity),
            reason=reason,
        )
    return entity


def _save_owned(
    *, actor: Any, instance: Any, action: str, before: dict[str, Any] | None, reason: str
) -> Any:
    """Save a row the caller has already passed through the gate, audited."""
    _full_clean(instance)
    try:
        with transaction.atomic():
            instance.save()
            audit_record(
                actor=actor,
                action=action,
                entity=instance.entity_id,
                obj=instance,
                before=before,
                after=snapshot(instance),
                reason=reason,
            )
    except IntegrityError as exc:
        raise Conflict("A row with these values already exists.", code="duplicate") from exc
    return instance


def brand_create(*, actor: Any, entity: LegalEntity, reason: str = "", **fields: Any) -> Brand:
    require(actor, "entities.add_brand", entity.pk)
    fields["domain"] = fields.get("domain", "").strip().lower()
    brand = Brand(entity=entity, **fields)
    return _save_owned(
        actor=actor,
        instance=brand,
        action=actions.BRAND_CREATED,
        before=None,
        reason=reason,
    )


def brand_update(*, actor: Any, brand: Brand, reason: str = "", **changes: Any) -> Brand:
    require(actor, "entities.change_brand", brand.entity_id)
    if "entity" in changes or "entity_id" in changes:
        raise ValidationFailed("A brand cannot move to another entity.", code="field_read_only")
    before = snapshot(brand)
    for name, value in changes.items():
        setattr(brand, name, value.strip().lower() if name == "domain" else value)
    return _save_owned(
        actor=actor,
        instance=brand,
        action=actions.BRAND_UPDATED,
        before=before,
        reason=reason,
    )


def desk_create(*, actor: Any, entity: LegalEntity, reason: str = "", **fields: Any) -> Desk:
    require(actor, "entities.add_desk", entity.pk)
    countries = [code.upper() for code in fields.pop("countries", [])]
    unknown = [code for code in countries if code not in COUNTRIES]
    if unknown:
        raise ValidationFailed(f"Unknown countries: {', '.join(unknown)}.", code="country_unknown")
    desk = Desk(entity=entity, countries=sorted(set(countries)), **fields)
    return _save_owned(
        actor=actor,
        instance=desk,
        action=actions.DESK_CREATED,
        before=None,
        reason=reason,
    )


def country_route_set(
    *, actor: Any, brand: Brand, country: str, entity: LegalEntity, reason: str = ""
) -> CountryRoute:
    """Route residents of `country` ("*" for the default) arriving through `brand` to `entity`."""
    country = country.strip().upper()
    if country != CountryRoute.ANY_COUNTRY and country not in COUNTRIES:
        raise ValidationFailed(f"{country!r} is not a country code.", code="country_unknown")
    require(actor, "entities.add_countryroute", entity.pk)
    with transaction.atomic():
        existing = (
            CountryRoute.objects.unscoped()
            .select_for_update()
            .filter(brand=brand, country=country)
            .first()
        )
        if existing is not None:
            # Re-pointing a route away from an entity is that entity's decision too.
            require(actor, "entities.change_countryroute", existing.entity_id)
            before = snapshot(existing)
            existing.entity = entity
            route = existing
        else:
            before = None
            route = CountryRoute(brand=brand, country=country, entity=entity)
        return _save_owned(
            actor=actor,
            instance=route,
            action=actions.COUNTRY_ROUTE_SET,
            before=before,
            reason=reason,
        )


def ruleset_publish(
    *,
    actor: Any,
    entity: LegalEntity,
    kind: str,
    document: Any,
    country: str = "",
    effective_from: datetime | None = None,
    note: str = "",
) -> RuleSet:
    """Validate and store the next version of a rule set. Versions are never edited."""
    if kind not in SCHEMAS:
        raise ValidationFailed(
            f"Unknown rule kind {kind!r}; one of {', '.join(sorted(SCHEMAS))}.",
            code="ruleset_kind_unknown",
        )
    country = (country or "").strip().upper()
    if country and country not in COUNTRIES:
        raise ValidationFailed(f"{country!r} is not a country code.", code="country_unknown")
    if country and kind in ENTITY_WIDE_KINDS:
        raise ValidationFailed(
            f"{kind} rules apply to the whole entity.", code="ruleset_entity_wide"
        )
    require(actor, "entities.add_ruleset", entity.pk)
    try:
        normalised = validate_rule_document(kind, document)
    except SchemaError as exc:
        raise ValidationFailed(
            "The rule set does not match its schema.",
            code="ruleset_invalid",
            extra={"errors": exc.detail},
        ) from exc
    if kind == RuleSet.Kind.WALLET:
        outside = sorted(set(normalised["currencies"]) - set(entity.wallet_currencies))
        if outside:
            raise ValidationFailed(
                f"{entity.code} does not offer wallets in {', '.join(outside)}.",
                code="currency_not_offered",
            )
    now = timezone.now()
    effective_from = effective_from or now
    if effective_from < now - timedelta(minutes=5):
        raise ValidationFailed("Rules cannot take effect in the past.", code="ruleset_backdated")
    with transaction.atomic():
        # Lock the entity row: two publishers of the same kind get consecutive versions.
        LegalEntity.objects.select_for_update().get(pk=entity.pk)
        latest = (
            RuleSet.objects.in_entity(entity)
            .filter(kind=kind, country=country)
            .aggregate(latest=Max("version"))["latest"]
        )
        ruleset = RuleSet.objects.create(
            entity=entity,
            kind=kind,
            country=country,
            version=(latest or 0) + 1,
            effective_from=effective_from,
            document=normalised,
            note=note,
            created_by=None if is_system(actor) else actor,
        )
        audit_record(
            actor=actor,
            action=actions.RULESET_PUBLISHED,
            entity=entity,
            obj=ruleset,
            after={
                "reference": ruleset.reference,
                "effective_from": effective_from,
                "document": normalised,
            },
            reason=note,
        )
    return ruleset


def legal_document_publish(
    *,
    actor: Any,
    entity: LegalEntity,
    kind: str,
    title: str,
    body: str = "",
    url: str = "",
    published_at: datetime | None = None,
    reason: str = "",
) -> LegalDocument:
    """Publish the next version of one of the entity's legal documents. A published version
    is never edited: clients who accepted it keep pointing at the text they read."""
    require(actor, "entities.add_legaldocument", entity.pk)
    if kind not in LegalDocument.Kind.values:
        raise ValidationFailed(
            f"Unknown document kind {kind!r}; one of {', '.join(LegalDocument.Kind.values)}.",
            code="document_kind_unknown",
        )
    title, body, url = (title or "").strip(), (body or "").strip(), (url or "").strip()
    if not body and not url:
        raise ValidationFailed(
            "Give the document's text or the address where it is published.",
            code="document_text_missing",
        )
    now = timezone.now()
    published_at = published_at or now
    if published_at < now - timedelta(minutes=5):
        raise ValidationFailed(
            "A document cannot be published in the past.", code="document_backdated"
        )
    document = LegalDocument(
        entity=entity, kind=kind, title=title, body=body, url=url, published_at=published_at
    )
    _full_clean(document, exclude=["version", "created_by"])
    with transaction.atomic():
        # Lock the entity row: two publishers of the same kind get consecutive versions.
        LegalEntity.objects.select_for_update().get(pk=entity.pk)
        latest = (
            LegalDocument.objects.in_entity(entity)
            .filter(kind=kind)
            .aggregate(latest=Max("version"))["latest"]
        )
        document.version = (latest or 0) + 1
        document.created_by = None if is_system(actor) else actor
        document.save()
        audit_record(
            actor=actor,
            action=actions.LEGAL_DOCUMENT_PUBLISHED,
            entity=entity,
            obj=document,
            after={
                "reference": document.reference,
                "title": title,
                "url": url,
                "published_at": published_at,
                "body_sha256": _sha256(body),
            },
            reason=reason,
        )
    return document


def _sha256(text: str) -> str:
    return hashlib.sha256(text.encode()).hexdigest()
