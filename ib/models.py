"""Introducing brokers: partners, referral codes, hierarchy over time, rebate plans and the
commission lines computed from imported deals. See docs/adr/0010-ib-commissions.md."""

from __future__ import annotations

from decimal import Decimal

from django.contrib.postgres.fields import ArrayField
from django.db import models

from brokercrm.reference import CURRENCY_CHOICES
from brokercrm.scoping import EntityOwned

MONEY = {"max_digits": 24, "decimal_places": 8}


class IbProgramme(EntityOwned):
    """Per-entity settings of the IB programme (one row per entity; absent = defaults)."""

    max_depth = models.PositiveSmallIntegerField(
        default=3, help_text="How many tiers (the IB itself and its ancestors) earn on a deal."
    )

    class Meta:
        constraints = [models.UniqueConstraint(fields=["entity"], name="ibprogramme_entity_unique")]

    def __str__(self) -> str:
        return f"IB programme of entity {self.entity_id}"


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
    """Amount per lot for a symbol group; optionally only for one account group or server.
    The most specific matching rate wins."""

    version = models.ForeignKey(RebatePlanVersion, on_delete=models.CASCADE, related_name="rates")
    symbols = ArrayField(models.CharField(max_length=32), default=list, blank=True)
    account_group = models.CharField(max_length=64, blank=True)
    server = models.ForeignKey(
        "platforms.TradingServer", null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    amount_per_lot = models.DecimalField(**MONEY)

    def __str__(self) -> str:
        return f"{','.join(self.symbols) or '*'}: {self.amount_per_lot}/lot"


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

    def __str__(self) -> str:
        return self.code


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
    """A referral that attributed nothing and needs a person to look at it."""

    profile = models.ForeignKey(
        "identity.ClientProfile", on_delete=models.PROTECT, related_name="+"
    )
    code_text = models.CharField(max_length=40)
    reason = models.CharField(max_length=40)
    created_at = models.DateTimeField(auto_now_add=True)

    def __str__(self) -> str:
        return f"{self.code_text}: {self.reason}"


class CommissionRun(models.Model):
    """One batch run (system job, spans entities)."""

    started_at = models.DateTimeField(auto_now_add=True)
    finished_at = models.DateTimeField(null=True, blank=True)
    deal_id_from = models.BigIntegerField(default=0)
    deal_id_to = models.BigIntegerField(default=0)
    lines_created = models.PositiveIntegerField(default=0)
    payouts = models.PositiveIntegerField(default=0)
    payout_total = models.DecimalField(**MONEY, default=Decimal(0))

    class Meta:
        ordering = ["-pk"]

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
        DELAYED = "delayed", "Delayed (opening leg missing)"
        VOID = "void", "Void"

    # Few indexes on purpose: the batch inserts and updates lines by the hundred thousand.
    # The unique constraint leads with deal; (ib, deal_time) serves the IB's lines.
    deal = models.ForeignKey(
        "platforms.Deal", on_delete=models.PROTECT, related_name="+", db_index=False
    )
    ib = models.ForeignKey(
        IbPartner, on_delete=models.PROTECT, related_name="lines", db_index=False
    )
    tier = models.PositiveSmallIntegerField()
    kind = models.CharField(max_length=10, choices=Kind.choices)
    deal_time = models.DateTimeField()
    lots = models.DecimalField(max_digits=20, decimal_places=4)
    amount = models.DecimalField(**MONEY)
    currency = models.CharField(max_length=3, choices=CURRENCY_CHOICES)
    plan_version = models.ForeignKey(
        RebatePlanVersion, on_delete=models.PROTECT, related_name="+", db_index=False
    )
    status = models.CharField(max_length=10, choices=Status.choices)
    # Which run wrote / paid the line: bookkeeping, no constraint checked per row.
    run = models.ForeignKey(
        CommissionRun,
        null=True,
        blank=True,
        on_delete=models.DO_NOTHING,
        related_name="+",
        db_index=False,
        db_constraint=False,
    )
    payout_run = models.ForeignKey(
        CommissionRun,
        null=True,
        blank=True,
        on_delete=models.DO_NOTHING,
        related_name="+",
        db_index=False,
        db_constraint=False,
    )
    # Set at payout: the line's share of the rounded payout (sums exactly to the payout).
    paid_amount = models.DecimalField(**MONEY, null=True, blank=True)
    # Not indexed: the payout then updates lines in place (HOT, see the fillfactor in
    # migration 0002) without touching any index. Statements reach lines by IB.
    payout_journal = models.ForeignKey(
        "wallets.JournalEntry",
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="+",
        db_index=False,
    )

    class Meta:
        ordering = ["deal_time", "pk"]
        constraints = [
            models.UniqueConstraint(
                fields=["deal", "ib", "tier", "kind"], name="commissionline_unique"
            ),
        ]
        indexes = [
            models.Index(fields=["ib", "deal_time"], name="commissionline_ib_time"),
            models.Index(fields=["plan_version", "kind"], name="commissionline_version"),
        ]

    def __str__(self) -> str:
        return f"{self.kind} deal {self.deal_id} IB {self.ib_id} tier {self.tier}"
