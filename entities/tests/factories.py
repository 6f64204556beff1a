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


def publish_document(entity: Any, kind: str, version_note: str = "", **fields: Any) -> Any:
    """Publish the next version of one of the entity's legal documents, now."""
    from entities.services import legal_document_publish

    values = {
        "title": f"{kind.replace('_', ' ').capitalize()} {version_note}".strip(),
        "body": f"The {kind.replace('_', ' ')} of {entity.code}. {version_note}".strip(),
        **fields,
    }
    return legal_document_publish(actor=SYSTEM, entity=entity, kind=kind, **values)


def publish_documents(entity: Any) -> dict[str, Any]:
    """The three documents every entity's clients accept, one version each."""
    return {
        kind: publish_document(entity, kind)
        for kind in ("client_agreement", "risk_disclosure", "privacy_notice")
    }
