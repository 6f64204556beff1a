"""The IB programme of each entity over time and the rebate plans: their versions and the
rates a deal of a symbol group earns before the tier split."""

from __future__ import annotations

from decimal import Decimal

from django.contrib.postgres.fields import ArrayField
from django.db import models
from django.db.models import Q

from brokercrm.labels import loaded, number
from brokercrm.reference import CURRENCY_CHOICES
from brokercrm.scoping import EntityOwned

from .base import MONEY, _epoch


class IbProgramme(EntityOwned):
    """Per-entity settings of the IB programme from `valid_from` until `valid_to` (None: in
    force). No row for a deal's time means the defaults. A deal earns by the settings of its
    time, like the hierarchy and the plan."""

    max_depth = models.PositiveSmallIntegerField(
        default=3, help_text="How many tiers (the IB itself and its ancestors) earn on a deal."
    )
    valid_from = models.DateTimeField(default=_epoch)
    valid_to = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["entity_id", "valid_from"]
        constraints = [
            models.UniqueConstraint(
                fields=["entity"],
                condition=Q(valid_to__isnull=True),
                name="ibprogramme_one_in_force",
            ),
            models.CheckConstraint(
                name="ibprogramme_depth_range", condition=Q(max_depth__gte=1, max_depth__lte=10)
            ),
        ]

    def __str__(self) -> str:
        return f"IB programme {number(self)} from {self.valid_from:%Y-%m-%d}"


class RebatePlan(EntityOwned):
    name = models.CharField(max_length=100)
    currency = models.CharField(max_length=3, choices=CURRENCY_CHOICES)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["entity_id", "name"]
        constraints = [
            models.UniqueConstraint(fields=["entity", "name"], name="rebateplan_name_unique")
        ]

    def __str__(self) -> str:
        return f"{self.name} ({self.currency})"


class RebatePlanVersion(EntityOwned):
    """What a plan pays from `valid_from` until the next version (or a correction) starts."""

    plan = models.ForeignKey(RebatePlan, on_delete=models.PROTECT, related_name="versions")
    number = models.PositiveIntegerField()
    valid_from = models.DateTimeField()
    valid_to = models.DateTimeField(null=True, blank=True)
    # Percent of the deal's rebate per tier: index 0 is the client's own IB, 1 its parent...
    tier_split = ArrayField(models.DecimalField(max_digits=7, decimal_places=4))
    per_trade_ceiling = models.DecimalField(**MONEY, null=True, blank=True)
    min_holding_seconds = models.PositiveIntegerField(default=0)
    # A correction replaces the version it corrects for the same period.
    corrects = models.OneToOneField(
        "self", null=True, blank=True, on_delete=models.PROTECT, related_name="corrected_by"
    )
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["plan_id", "number"]
        constraints = [
            models.UniqueConstraint(fields=["plan", "number"], name="rebateplanversion_unique"),
        ]
        indexes = [models.Index(fields=["plan", "valid_from"], name="rebateplanversion_from")]

    def __str__(self) -> str:
        plan = loaded(self, "plan")
        return f"{plan.name if plan is not None else f'Plan #{self.plan_id}'} v{self.number}"


class RebateRate(EntityOwned):
    """What a deal of a symbol group earns before the tier split; optionally only for one
    account group or server. The most specific matching rate wins.

    - `per_lot`: `amount_per_lot` x lots;
    - `spread_share`: `share_percent` of the spread the entity earns, `spread_per_lot` x lots
      (the markup of the symbol group, in the plan's currency);
    - `commission_share`: `share_percent` of the commission the client paid on the trade
      (opening leg and closing deal), converted to the plan's currency at the deal's time."""

    class Basis(models.TextChoices):
        PER_LOT = "per_lot", "Amount per lot"
        SPREAD_SHARE = "spread_share", "Share of the spread"
        COMMISSION_SHARE = "commission_share", "Share of the commission"

    version = models.ForeignKey(RebatePlanVersion, on_delete=models.CASCADE, related_name="rates")
    symbols = ArrayField(models.CharField(max_length=32), default=list, blank=True)
    account_group = models.CharField(max_length=64, blank=True)
    server = models.ForeignKey(
        "platforms.TradingServer", null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    basis = models.CharField(max_length=16, choices=Basis.choices, default=Basis.PER_LOT)
    amount_per_lot = models.DecimalField(**MONEY, null=True, blank=True)
    spread_per_lot = models.DecimalField(**MONEY, null=True, blank=True)
    share_percent = models.DecimalField(max_digits=7, decimal_places=4, null=True, blank=True)

    class Meta:
        constraints = [
            models.CheckConstraint(
                name="rebaterate_basis_complete",
                condition=(
                    Q(basis="per_lot", amount_per_lot__gte=0)
                    | Q(basis="spread_share", spread_per_lot__gte=0, share_percent__gte=0)
                    | Q(basis="commission_share", share_percent__gte=0)
                )
                & (Q(share_percent__isnull=True) | Q(share_percent__lte=100)),
            )
        ]

    def __str__(self) -> str:
        where = ",".join(self.symbols) or "*"

        def figure(value: Decimal | None) -> str:
            return format(value.normalize(), "f") if value is not None else "?"

        if self.basis == self.Basis.PER_LOT:
            return f"{where}: {figure(self.amount_per_lot)}/lot"
        if self.basis == self.Basis.SPREAD_SHARE:
            share, spread = figure(self.share_percent), figure(self.spread_per_lot)
            return f"{where}: {share}% of {spread}/lot spread"
        return f"{where}: {figure(self.share_percent)}% of commission"
