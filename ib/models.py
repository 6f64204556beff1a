"""Introducing brokers: partners, referral codes, hierarchy over time, rebate plans and the
commission lines computed from imported deals. See docs/adr/0010-ib-commissions.md."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from typing import Any

from django.conf import settings
from django.contrib.postgres.fields import ArrayField
from django.contrib.postgres.indexes import BrinIndex
from django.db import models
from django.db.models import Q

from brokercrm.money import MONEY
from brokercrm.reference import CURRENCY_CHOICES
from brokercrm.scoping import EntityOwned


def _named(
    to: Any, *, null: bool = False, on_delete: Any = models.PROTECT, related_name: str = "+"
) -> Any:
    """A reference from a commission line, which the batch writes by the million: not
    indexed and not checked row by row (see CommissionLine)."""
    return models.ForeignKey(
        to,
        on_delete=on_delete,
        null=null,
        blank=null,
        related_name=related_name,
        db_index=False,
        db_constraint=False,
    )


def _epoch() -> dt.datetime:
    return dt.datetime(1970, 1, 1, tzinfo=dt.UTC)


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
        return f"IB programme of entity {self.entity_id} from {self.valid_from:%Y-%m-%d}"


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
        return f"{self.plan_id} v{self.number}"


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


class IbPartner(EntityOwned):
    class Status(models.TextChoices):
        ACTIVE = "active", "Active"
        SUSPENDED = "suspended", "Suspended"

    person = models.ForeignKey("identity.Person", on_delete=models.PROTECT, related_name="+")
    profile = models.ForeignKey(
        "identity.ClientProfile", on_delete=models.PROTECT, related_name="+"
    )
    name = models.CharField(max_length=150)
    plan = models.ForeignKey(
        RebatePlan, null=True, blank=True, on_delete=models.PROTECT, related_name="partners"
    )
    status = models.CharField(max_length=10, choices=Status.choices, default=Status.ACTIVE)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["entity_id", "name", "pk"]
        constraints = [
            models.UniqueConstraint(fields=["entity", "profile"], name="ibpartner_profile_unique")
        ]

    def __str__(self) -> str:
        return self.name


class ReferralCode(EntityOwned):
    ib = models.ForeignKey(IbPartner, on_delete=models.PROTECT, related_name="codes")
    brand = models.ForeignKey("entities.Brand", on_delete=models.PROTECT, related_name="+")
    code = models.SlugField(max_length=40, unique=True)
    active = models.BooleanField(default=True)
    created_at = models.DateTimeField(auto_now_add=True)

    @property
    def link(self) -> str:
        """The referral link on the brand's site; its registration page sends `ref` on as the
        registration's `referral_code`."""
        return f"https://{self.brand.domain}/register?ref={self.code}"

    def __str__(self) -> str:
        return self.code


class IbPlanPeriod(EntityOwned):
    """The plan an IB's clients' deals earn by, from `valid_from` until `valid_to` (None:
    still in force). The batch takes the period of the deal's time, so moving an IB to
    another plan never reprices deals made before the move."""

    ib = models.ForeignKey(IbPartner, on_delete=models.PROTECT, related_name="plan_periods")
    plan = models.ForeignKey(RebatePlan, on_delete=models.PROTECT, related_name="+")
    valid_from = models.DateTimeField()
    valid_to = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["ib_id", "valid_from"]
        indexes = [models.Index(fields=["ib", "valid_from"], name="ibplanperiod_ib_from")]
        constraints = [
            models.CheckConstraint(
                name="ibplanperiod_ordered",
                condition=Q(valid_to__isnull=True) | Q(valid_to__gt=models.F("valid_from")),
            ),
            models.UniqueConstraint(
                fields=["ib"], condition=Q(valid_to__isnull=True), name="ibplanperiod_one_open"
            ),
        ]

    def __str__(self) -> str:
        return f"IB {self.ib_id} on plan {self.plan_id} from {self.valid_from:%Y-%m-%d}"


class IbLink(EntityOwned):
    """The IB's parent from `valid_from` until `valid_to` (None: still valid)."""

    ib = models.ForeignKey(IbPartner, on_delete=models.PROTECT, related_name="links")
    parent = models.ForeignKey(
        IbPartner, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    valid_from = models.DateTimeField()
    valid_to = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["ib_id", "valid_from"]
        indexes = [models.Index(fields=["ib", "valid_from"], name="iblink_ib_from")]

    def __str__(self) -> str:
        return f"{self.ib_id} → {self.parent_id} from {self.valid_from:%Y-%m-%d}"


class IbClosure(EntityOwned):
    """Ancestor closure over time: `ancestor` is `depth` levels above `ib` (0 = itself)
    during [valid_from, valid_to). All ancestors at time t are one indexed range query."""

    ib = models.ForeignKey(IbPartner, on_delete=models.CASCADE, related_name="+")
    ancestor = models.ForeignKey(IbPartner, on_delete=models.CASCADE, related_name="+")
    depth = models.PositiveSmallIntegerField()
    valid_from = models.DateTimeField()
    valid_to = models.DateTimeField(null=True, blank=True)

    class Meta:
        indexes = [
            models.Index(fields=["ib", "valid_from", "depth"], name="ibclosure_ib_from"),
            models.Index(fields=["ancestor"], name="ibclosure_ancestor"),
        ]

    def __str__(self) -> str:
        return f"{self.ancestor_id} is {self.depth} above {self.ib_id}"


class IbAssignment(EntityOwned):
    """Which IB a client profile is attributed to, over time."""

    class Source(models.TextChoices):
        REFERRAL = "referral", "Referral code"
        MANAGER = "manager", "IB manager"

    profile = models.ForeignKey(
        "identity.ClientProfile", on_delete=models.PROTECT, related_name="+"
    )
    ib = models.ForeignKey(IbPartner, on_delete=models.PROTECT, related_name="assignments")
    valid_from = models.DateTimeField()
    valid_to = models.DateTimeField(null=True, blank=True)
    source = models.CharField(max_length=10, choices=Source.choices)
    code = models.ForeignKey(
        ReferralCode, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )

    class Meta:
        indexes = [models.Index(fields=["profile", "valid_from"], name="ibassignment_profile")]

    def __str__(self) -> str:
        return f"{self.profile_id} → IB {self.ib_id}"


class ReferralReview(EntityOwned):
    """A referral that attributed nothing and needs a person to look at it: an IB manager
    attributes the client to an IB of the review's entity, or dismisses it, once."""

    class Status(models.TextChoices):
        OPEN = "open", "Open"
        ATTRIBUTED = "attributed", "Attributed to an IB"
        DISMISSED = "dismissed", "Dismissed"

    profile = models.ForeignKey(
        "identity.ClientProfile", on_delete=models.PROTECT, related_name="+"
    )
    code_text = models.CharField(max_length=40)
    reason = models.CharField(max_length=40)
    created_at = models.DateTimeField(auto_now_add=True)
    status = models.CharField(max_length=10, choices=Status.choices, default=Status.OPEN)
    decided_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="+",
    )
    decided_at = models.DateTimeField(null=True, blank=True)
    decision_reason = models.CharField(max_length=500, blank=True)
    # The attribution the decision made (status `attributed`).
    assignment = models.ForeignKey(
        IbAssignment, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )

    class Meta:
        constraints = [
            models.CheckConstraint(
                name="referralreview_decision_complete",
                condition=Q(status="open", decided_at__isnull=True, assignment__isnull=True)
                | Q(status="dismissed", decided_at__isnull=False, assignment__isnull=True)
                | Q(status="attributed", decided_at__isnull=False, assignment__isnull=False),
            )
        ]
        indexes = [
            models.Index(
                fields=["entity", "created_at"],
                condition=Q(status="open"),
                name="referralreview_open",
            )
        ]

    def __str__(self) -> str:
        return f"{self.code_text}: {self.reason}"


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
        return f"Commission run {self.pk}"


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
        return f"{self.kind} deal {self.deal_id} IB {self.ib_id} tier {self.tier}"
