"""Payment providers and routing: the PSPs, the payment methods, each entity's merchant
accounts, and the rules that route a deposit to an ordered list of merchant accounts."""

from __future__ import annotations

from django.db import models
from django.db.models import Q

from brokercrm.labels import loaded
from brokercrm.money import MONEY
from brokercrm.reference import CURRENCY_CHOICES
from brokercrm.scoping import EntityOwned


class PaymentProvider(models.Model):
    """A PSP: an outside company, shared by the group; its merchant accounts are per entity."""

    code = models.SlugField(max_length=40, unique=True)
    name = models.CharField(max_length=100)
    base_url = models.URLField(help_text="The PSP's API (the simulator in the demo).")

    class Meta:
        ordering = ["code"]

    def __str__(self) -> str:
        return self.name


class PaymentMethod(models.Model):
    """Reference data: card, bank wire, and local methods that only some countries have."""

    class Kind(models.TextChoices):
        CARD = "card", "Card"
        BANK = "bank", "Bank transfer"
        LOCAL = "local", "Local method"

    code = models.SlugField(max_length=30, unique=True)
    name = models.CharField(max_length=100)
    kind = models.CharField(max_length=5, choices=Kind.choices)
    # ISO countries where a local method exists; empty means everywhere.
    countries = models.JSONField(default=list, blank=True)

    class Meta:
        ordering = ["code"]

    def __str__(self) -> str:
        return self.name

    def available_in(self, country: str) -> bool:
        return not self.countries or country in self.countries


class MerchantAccount(EntityOwned):
    """Our account at a PSP, contracted by one entity."""

    provider = models.ForeignKey(PaymentProvider, on_delete=models.PROTECT, related_name="+")
    code = models.SlugField(max_length=60, help_text="The merchant id at the PSP.")
    gateway_family = models.SlugField(
        max_length=40, help_text="Soft declines are retried within one family."
    )
    currencies = models.JSONField(default=list)
    methods = models.JSONField(default=list)
    # Name of the environment variable that holds the webhook secret: never stored here.
    webhook_secret_env = models.CharField(max_length=80)
    active = models.BooleanField(default=True)

    class Meta:
        ordering = ["entity_id", "code"]
        constraints = [
            models.UniqueConstraint(fields=["provider", "code"], name="merchant_code_unique"),
        ]

    def __str__(self) -> str:
        return f"{self.provider.code}/{self.code}"


class RoutingRule(EntityOwned):
    """(entity, residence country, currency, method, amount range) → ordered merchant accounts."""

    name = models.CharField(max_length=100)
    countries = models.JSONField(default=list, help_text='ISO codes, or ["*"] for any.')
    currency = models.CharField(max_length=3, choices=CURRENCY_CHOICES)
    method = models.ForeignKey(PaymentMethod, on_delete=models.PROTECT, related_name="+")
    min_amount = models.DecimalField(**MONEY, default=0)
    max_amount = models.DecimalField(**MONEY, null=True, blank=True)
    priority = models.PositiveIntegerField(default=100, help_text="Lower wins.")
    soft_retries = models.PositiveSmallIntegerField(
        default=2, help_text="Further attempts within the family after a soft decline."
    )
    active = models.BooleanField(default=True)

    class Meta:
        ordering = ["entity_id", "priority", "pk"]
        constraints = [
            models.CheckConstraint(
                name="routingrule_amount_range",
                condition=Q(max_amount__isnull=True) | Q(max_amount__gte=models.F("min_amount")),
            ),
        ]

    def __str__(self) -> str:
        return self.name


class RoutingTarget(EntityOwned):
    rule = models.ForeignKey(RoutingRule, on_delete=models.CASCADE, related_name="targets")
    merchant_account = models.ForeignKey(MerchantAccount, on_delete=models.PROTECT)
    position = models.PositiveSmallIntegerField()

    class Meta:
        ordering = ["rule_id", "position"]
        constraints = [
            models.UniqueConstraint(fields=["rule", "position"], name="routingtarget_position"),
            models.UniqueConstraint(
                fields=["rule", "merchant_account"], name="routingtarget_once_per_rule"
            ),
        ]

    def __str__(self) -> str:
        rule = loaded(self, "rule")
        name = rule.name if rule is not None else f"rule #{self.rule_id}"
        return f"{name}, choice {self.position}: merchant account #{self.merchant_account_id}"
