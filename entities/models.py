"""Legal entities, the brands on top of them, desks inside them, country routing and the
versioned rule sets that every later decision records."""

from __future__ import annotations

from typing import ClassVar

from django.conf import settings
from django.contrib.postgres.fields import ArrayField
from django.core.validators import RegexValidator
from django.db import models
from django.db.models import Q

from brokercrm.labels import loaded
from brokercrm.reference import COUNTRY_CHOICES, CURRENCY_CHOICES
from brokercrm.scoping import EntityOwned

entity_code_validator = RegexValidator(
    r"^[A-Z][A-Z0-9_]{1,15}$", "Use 2-16 upper-case letters, digits or underscores, e.g. EU."
)


def country_field(**kwargs: object) -> models.CharField:
    return models.CharField(max_length=2, choices=COUNTRY_CHOICES, **kwargs)


def currency_field(**kwargs: object) -> models.CharField:
    return models.CharField(max_length=3, choices=CURRENCY_CHOICES, **kwargs)


class LegalEntity(models.Model):
    """A licensed legal entity. Every client, wallet and payment belongs to exactly one."""

    class Status(models.TextChoices):
        ACTIVE = "active", "Active"
        SUSPENDED = "suspended", "Suspended (no new clients)"
        CLOSED = "closed", "Closed"

    code = models.CharField(max_length=16, unique=True, validators=[entity_code_validator])
    legal_name = models.CharField(max_length=200)
    regulator = models.CharField(max_length=80, help_text="e.g. CySEC, FCA, Seychelles FSA")
    licence_number = models.CharField(max_length=60)
    jurisdiction = country_field()
    base_currency = currency_field()
    wallet_currencies = ArrayField(
        models.CharField(max_length=3, choices=CURRENCY_CHOICES),
        help_text="Currencies client wallets may hold in this entity.",
    )
    status = models.CharField(max_length=10, choices=Status.choices, default=Status.ACTIVE)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    # LegalEntity rows are scoped by their own id.
    scope_entity_field: ClassVar[str] = "id"

    class Meta:
        ordering = ["code"]
        verbose_name_plural = "legal entities"
        constraints = [
            models.CheckConstraint(
                name="legalentity_code_format", condition=Q(code__regex=r"^[A-Z][A-Z0-9_]{1,15}$")
            ),
        ]

    def __str__(self) -> str:
        return f"{self.code} · {self.legal_name}"


class Brand(EntityOwned):
    """A marketing brand. It belongs to one entity; its country routes say which entity
    onboards a client who arrives through it."""

    class Status(models.TextChoices):
        ACTIVE = "active", "Active"
        INACTIVE = "inactive", "Inactive"

    code = models.SlugField(max_length=40, unique=True)
    name = models.CharField(max_length=120)
    domain = models.CharField(max_length=253, unique=True)
    support_email = models.EmailField(blank=True)
    theme = models.JSONField(default=dict, blank=True)
    status = models.CharField(max_length=10, choices=Status.choices, default=Status.ACTIVE)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["code"]

    def __str__(self) -> str:
        return self.name


class Desk(EntityOwned):
    """A sales or regional desk inside one entity. Grants may be limited to a desk."""

    code = models.SlugField(max_length=40)
    name = models.CharField(max_length=120)
    countries = ArrayField(models.CharField(max_length=2), default=list, blank=True)
    active = models.BooleanField(default=True)

    class Meta:
        ordering = ["entity_id", "code"]
        constraints = [
            models.UniqueConstraint(fields=["entity", "code"], name="desk_code_per_entity")
        ]

    def __str__(self) -> str:
        return f"{self.name}"


class CountryRoute(EntityOwned):
    """Residents of `country` arriving through `brand` are onboarded by `entity`.

    `country` "*" is the brand's default route. The route belongs to the onboarding entity:
    each entity decides which brands' traffic it accepts; its onboarding rule set still
    decides whether a given country is allowed.
    """

    ANY_COUNTRY = "*"

    brand = models.ForeignKey(Brand, on_delete=models.PROTECT, related_name="routes")
    country = models.CharField(max_length=2, help_text='ISO country code, or "*" for any other')
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["brand_id", "country"]
        constraints = [
            models.UniqueConstraint(
                fields=["brand", "country"], name="countryroute_one_per_country"
            ),
            models.CheckConstraint(
                name="countryroute_country_format", condition=Q(country__regex=r"^([A-Z]{2}|\*)$")
            ),
        ]

    def __str__(self) -> str:
        entity = loaded(self, "entity")
        where = entity.code if entity is not None else f"entity #{self.entity_id}"
        brand = loaded(self, "brand")
        via = brand.name if brand is not None else f"brand #{self.brand_id}"
        return f"{self.country} via {via} → {where}"


class RuleSet(EntityOwned):
    """One version of an entity's rules of one kind, optionally for one country.

    Rows are never updated or deleted (the database refuses): a change is a new version with
    its own effective date, so a recorded decision always points at the rules it applied.
    """

    class Kind(models.TextChoices):
        ONBOARDING = "onboarding", "Onboarding (countries)"
        KYC = "kyc", "KYC requirements"
        WALLET = "wallet", "Wallet rules"
        COOLING_OFF = "cooling_off", "Cooling-off"
        DEPOSIT = "deposit", "Deposits"
        WITHDRAWAL = "withdrawal", "Withdrawal approvals"
        RISK = "risk", "Risk scoring"
        SLA = "sla", "Work-queue deadlines"

    ALL_COUNTRIES = ""

    kind = models.CharField(max_length=20, choices=Kind.choices)
    country = models.CharField(
        max_length=2, blank=True, default=ALL_COUNTRIES, help_text="Blank: the entity's default."
    )
    version = models.PositiveIntegerField()
    effective_from = models.DateTimeField()
    document = models.JSONField()
    note = models.CharField(max_length=200, blank=True)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["entity_id", "kind", "country", "-version"]
        constraints = [
            models.UniqueConstraint(
                fields=["entity", "kind", "country", "version"], name="ruleset_version_unique"
            ),
            models.CheckConstraint(
                name="ruleset_country_format",
                condition=Q(country="") | Q(country__regex=r"^[A-Z]{2}$"),
            ),
        ]
        indexes = [models.Index(fields=["entity", "kind", "country", "effective_from"])]

    def __str__(self) -> str:
        return self.reference

    @property
    def reference(self) -> str:
        """How decisions cite this version, e.g. "EU/kyc/DE/v3"."""
        return f"{self.entity.code}/{self.kind}/{self.country or '*'}/v{self.version}"


class LegalDocument(EntityOwned):
    """One published version of a legal document an entity's clients accept: the client
    agreement, the risk disclosure, the privacy notice.

    Rows are never updated or deleted (the database refuses): a new text is a new version, and
    a client's acceptance points at the version they read. The version in force is the latest
    one published by now; `published_at` may lie ahead, for a text announced in advance.
    """

    class Kind(models.TextChoices):
        CLIENT_AGREEMENT = "client_agreement", "Client agreement"
        RISK_DISCLOSURE = "risk_disclosure", "Risk disclosure"
        PRIVACY_NOTICE = "privacy_notice", "Privacy notice"

    kind = models.CharField(max_length=20, choices=Kind.choices)
    version = models.PositiveIntegerField()
    title = models.CharField(max_length=200)
    body = models.TextField(blank=True, help_text="The text itself, or leave blank and give a URL.")
    url = models.URLField(max_length=500, blank=True, help_text="Where the text is published.")
    published_at = models.DateTimeField()
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["entity_id", "kind", "-version"]
        constraints = [
            models.UniqueConstraint(
                fields=["entity", "kind", "version"], name="legaldocument_version_unique"
            ),
            models.CheckConstraint(
                name="legaldocument_has_text", condition=~Q(body="") | ~Q(url="")
            ),
        ]
        indexes = [models.Index(fields=["entity", "kind", "published_at"])]

    def __str__(self) -> str:
        return f"{self.title} (v{self.version})"

    @property
    def reference(self) -> str:
        """How a profile cites the version it accepted, e.g. "EU/client_agreement/v2"."""
        return f"{self.entity.code}/{self.kind}/v{self.version}"
