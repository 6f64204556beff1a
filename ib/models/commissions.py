"""Commission runs and the commission lines they compute from imported deals (written by the
million, so lightly indexed and without per-row foreign key checks)."""

from __future__ import annotations

from decimal import Decimal

from django.contrib.postgres.indexes import BrinIndex
from django.db import models
from django.db.models import Q

from brokercrm.labels import number
from brokercrm.reference import CURRENCY_CHOICES
from brokercrm.scoping import EntityOwned

from .base import MONEY, _named
from .partners import IbPartner
from .plans import RebatePlanVersion, RebateRate


class CommissionRun(models.Model):
    """One batch run (system job, spans entities)."""

    started_at = models.DateTimeField(auto_now_add=True)
    finished_at = models.DateTimeField(null=True, blank=True)
    deal_id_from = models.BigIntegerField(default=0)
    deal_id_to = models.BigIntegerField(default=0)
    # Deals linked to their account late (imported before the login was known) up to here.
    linked_to = models.DateTimeField(null=True, blank=True)
    lines_created = models.PositiveIntegerField(default=0)
    payouts = models.PositiveIntegerField(default=0)
    payout_total = models.DecimalField(**MONEY, default=Decimal(0))

    class Meta:
        ordering = ["-pk"]
        # Starting a run is its own right (IB managers, finance): it pays every entity's IBs.
        permissions = [("run_commissionbatch", "Can start the commission batch")]

    def __str__(self) -> str:
        return f"Commission run {number(self)}"


class CommissionLine(EntityOwned):
    class Kind(models.TextChoices):
        COMMISSION = "commission", "Commission"
        REVERSAL = "reversal", "Reversal"
        ADJUSTMENT = "adjustment", "Adjustment"

    class Status(models.TextChoices):
        COMPUTED = "computed", "Computed"
        PAID = "paid", "Paid"
        DELAYED = "delayed", "Delayed (opening leg or FX rate missing)"
        VOID = "void", "Void"

    # Few indexes and no per-row foreign key checks on purpose: the batch writes lines by the
    # million. Lines are only written by set-based statements that join the rows they name,
    # and those rows are never deleted (triggers in migration 0003 refuse it while a line
    # names them; journal entries are append-only). See docs/adr/0010-ib-commissions.md.
    entity = _named("entities.LegalEntity")
    deal = _named("platforms.Deal")
    ib = _named(IbPartner, related_name="lines")
    tier = models.PositiveSmallIntegerField()
    kind = models.CharField(max_length=10, choices=Kind.choices)
    deal_time = models.DateTimeField()
    lots = models.DecimalField(max_digits=20, decimal_places=4)
    amount = models.DecimalField(**MONEY)
    currency = models.CharField(max_length=3, choices=CURRENCY_CHOICES)
    plan_version = _named(RebatePlanVersion)
    # The rate of that version the deal matched: with the deal, the hierarchy at its time and
    # the version, it explains the amount.
    rate = _named(RebateRate, null=True)
    status = models.CharField(max_length=10, choices=Status.choices)
    # Which run wrote / paid the line: bookkeeping.
    run = _named(CommissionRun, null=True, on_delete=models.DO_NOTHING)
    payout_run = _named(CommissionRun, null=True, on_delete=models.DO_NOTHING)
    # Set at payout: the line's share of the rounded payout (sums exactly to the payout).
    paid_amount = models.DecimalField(**MONEY, null=True, blank=True)
    payout_journal = _named("wallets.JournalEntry", null=True)

    class Meta:
        ordering = ["deal_time", "pk"]
        constraints = [
            # A deal pays one commission per tier (one IB holds each tier at the deal's time),
            # whatever the plan version: a rerun, a concurrent run, a re-imported deal or an
            # overlapping attribution cannot add a second one.
            models.UniqueConstraint(
                fields=["deal", "tier"],
                condition=Q(kind="commission"),
                name="commissionline_commission_unique",
            ),
            # Each correction reverses and adjusts a line once per version.
            models.UniqueConstraint(
                fields=["plan_version", "kind", "deal", "tier"],
                condition=~Q(kind="commission"),
                name="commissionline_correction_unique",
            ),
            models.CheckConstraint(
                name="commissionline_paid_complete",
                condition=Q(status="paid", paid_amount__isnull=False, payout_journal__isnull=False)
                | (~Q(status="paid") & Q(paid_amount__isnull=True, payout_journal__isnull=True)),
            ),
        ]
        indexes = [
            models.Index(fields=["ib", "deal_time"], name="commissionline_ib_time"),
            # Lines are written roughly in deal-time order: a block range index finds a plan
            # version's period for a correction at almost no cost to the batch.
            BrinIndex(fields=["deal_time"], name="commissionline_time_brin"),
            # Lines still to be paid or waiting for their opening leg: few at any time.
            models.Index(
                fields=["ib"],
                condition=Q(status__in=["computed", "delayed"]),
                name="commissionline_open",
            ),
        ]

    def __str__(self) -> str:
        kind = self.get_kind_display()
        return f"{kind} for IB #{self.ib_id}, deal #{self.deal_id}, tier {self.tier}"
