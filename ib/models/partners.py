"""IB partners and how clients reach them: referral codes, the plan and parent of each IB over
time with its ancestor closure, client attributions and the referrals left for review."""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.db.models import Q

from brokercrm.labels import person_name
from brokercrm.scoping import EntityOwned

from .plans import RebatePlan


def referral_link(domain: str, code: str) -> str:
    """The registration page of a brand's site with the referral code."""
    return f"https://{domain}/register?ref={code}"


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
        return referral_link(self.brand.domain, self.code)

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
        return f"IB #{self.ib_id} on plan #{self.plan_id} from {self.valid_from:%Y-%m-%d}"


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
        return f"IB #{self.ib_id} under IB #{self.parent_id} from {self.valid_from:%Y-%m-%d}"


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
        return f"IB #{self.ancestor_id} is {self.depth} level(s) above IB #{self.ib_id}"


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
        return f"{person_name(self)} referred by IB #{self.ib_id}"


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
