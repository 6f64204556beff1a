from __future__ import annotations

from typing import Any

import factory

from brokercrm.gate import SYSTEM
from entities.models import Brand, Desk, LegalEntity, RuleSet
from entities.services import ruleset_publish


class LegalEntityFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = LegalEntity
        django_get_or_create = ("code",)

    code = factory.Sequence(lambda n: f"E{n}")
    legal_name = factory.LazyAttribute(lambda e: f"{e.code} Markets Ltd")
    regulator = "CySEC"
    licence_number = factory.Sequence(lambda n: f"LIC-{n:04d}")
    jurisdiction = "CY"
    base_currency = "EUR"
    wallet_currencies = factory.LazyFunction(lambda: ["EUR", "USD"])


class BrandFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Brand

    entity = factory.SubFactory(LegalEntityFactory)
    code = factory.Sequence(lambda n: f"brand-{n}")
    name = factory.LazyAttribute(lambda b: b.code.replace("-", " ").title())
    domain = factory.LazyAttribute(lambda b: f"{b.code}.example.com")


class DeskFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Desk

    entity = factory.SubFactory(LegalEntityFactory)
    code = factory.Sequence(lambda n: f"desk-{n}")
    name = factory.LazyAttribute(lambda d: d.code.title())


def publish_rules(
    entity: LegalEntity, kind: str, document: dict[str, Any], **kwargs: Any
) -> RuleSet:
    return ruleset_publish(actor=SYSTEM, entity=entity, kind=kind, document=document, **kwargs)
