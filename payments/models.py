"""Money in and out: providers, merchant accounts, routing, deposits, withdrawals, webhooks and
reconciliation. Every row that touches a client or money is owned by one entity; a route, an
attempt or a payout leg can only name a merchant account of its own entity (the database checks
it, see migrations/0002_same_entity.py)."""

from __future__ import annotations

from typing import ClassVar

from django.conf import settings
from django.db import models
from django.db.models import Q

from brokercrm.reference import CURRENCY_CHOICES
from brokercrm.scoping import EntityOwned
from wallets.models import MONEY, Hold, JournalEntry, LedgerAccount


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


class BankAccount(EntityOwned):
    """A client's bank account for payouts; paid to only once verified."""

    profile = models.ForeignKey(
        "identity.ClientProfile", on_delete=models.PROTECT, related_name="+"
    )
    iban = models.CharField(max_length=34)
    bic = models.CharField(max_length=11, blank=True)
    holder = models.CharField(max_length=200)
    verified = models.BooleanField(default=False)
    created_at = models.DateTimeField(auto_now_add=True)

    scope_desk_field: ClassVar[str] = "profile__desk"

    class Meta:
        ordering = ["-pk"]
        constraints = [
            models.UniqueConstraint(fields=["profile", "iban"], name="bankaccount_once_per_profile")
        ]

    def __str__(self) -> str:
        return f"{self.iban[:4]}…{self.iban[-4:]}"


class Deposit(EntityOwned):
    class Status(models.TextChoices):
        PROCESSING = "processing", "Processing"
        AUTHORISED = "authorised", "Authorised, awaiting the PSP's confirmation"
        CREDITED = "credited", "Credited"
        PARKED = "parked", "Credited and parked until KYC approval"
        DECLINED = "declined", "Declined"
        FAILED = "failed", "Failed (offer another method)"

    profile = models.ForeignKey(
        "identity.ClientProfile", on_delete=models.PROTECT, related_name="+"
    )
    wallet = models.ForeignKey(LedgerAccount, on_delete=models.PROTECT, related_name="+")
    amount = models.DecimalField(**MONEY)
    currency = models.CharField(max_length=3, choices=CURRENCY_CHOICES)
    method = models.ForeignKey(PaymentMethod, on_delete=models.PROTECT, related_name="+")
    # Never the card number: a keyed fingerprint for return-to-source, and the last four.
    instrument_fingerprint = models.CharField(max_length=64, blank=True)
    instrument_label = models.CharField(max_length=40, blank=True)
    status = models.CharField(max_length=12, choices=Status.choices, default=Status.PROCESSING)
    decline_code = models.CharField(max_length=40, blank=True)
    alternatives = models.JSONField(default=list, blank=True)
    routing_rule = models.ForeignKey(
        RoutingRule, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    idempotency_key = models.CharField(max_length=100)
    request_hash = models.CharField(max_length=64)
    journal = models.OneToOneField(
        JournalEntry, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    park_hold = models.OneToOneField(
        Hold, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    created_by = models.CharField(max_length=150)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    scope_desk_field: ClassVar[str] = "profile__desk"

    class Meta:
        ordering = ["-pk"]
        permissions = [("override_deposit", "Override a deposit")]
        constraints = [
            models.CheckConstraint(name="deposit_amount_positive", condition=Q(amount__gt=0)),
            models.UniqueConstraint(
                fields=["entity", "idempotency_key"], name="deposit_idempotency_key_unique"
            ),
        ]
        indexes = [
            # The stuck-deposit sweep and the parked-deposit release read only these few.
            models.Index(
                fields=["updated_at"],
                condition=Q(status__in=["processing", "parked"]),
                name="deposit_unsettled",
            ),
        ]

    def __str__(self) -> str:
        return f"Deposit {self.pk} {self.amount} {self.currency}"


class DepositAttempt(EntityOwned):
    class Status(models.TextChoices):
        SENT = "sent", "Sent"
        APPROVED = "approved", "Approved"
        DECLINED = "declined", "Declined"
        UNKNOWN = "unknown", "No answer (timed out, not found)"

    deposit = models.ForeignKey(Deposit, on_delete=models.PROTECT, related_name="attempts")
    merchant_account = models.ForeignKey(
        MerchantAccount, on_delete=models.PROTECT, related_name="+"
    )
    number = models.PositiveSmallIntegerField()
    reference = models.CharField(max_length=60, unique=True)
    psp_transaction_id = models.CharField(max_length=80, blank=True)
    status = models.CharField(max_length=8, choices=Status.choices, default=Status.SENT)
    decline_code = models.CharField(max_length=40, blank=True)
    decline_category = models.CharField(max_length=4, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    scope_desk_field: ClassVar[str] = "deposit__profile__desk"

    class Meta:
        ordering = ["deposit_id", "number"]
        constraints = [
            models.UniqueConstraint(fields=["deposit", "number"], name="attempt_number_unique"),
            models.UniqueConstraint(
                fields=["merchant_account", "psp_transaction_id"],
                condition=~Q(psp_transaction_id=""),
                name="attempt_psp_transaction_unique",
            ),
        ]


class Withdrawal(EntityOwned):
    class Status(models.TextChoices):
        PENDING_APPROVAL = "pending_approval", "Waiting for approval"
        APPROVED = "approved", "Approved, paying out"
        PAID = "paid", "Paid"
        PARTIALLY_PAID = "partially_paid", "Partly paid, rest returned to the wallet"
        FAILED = "failed", "Payout failed, returned to the wallet"
        REJECTED = "rejected", "Rejected"

    class Approval(models.TextChoices):
        AUTO = "auto", "Automatic"
        FINANCE = "finance", "Finance"
        FINANCE_AND_COMPLIANCE = "finance_compliance", "Finance and compliance"

    profile = models.ForeignKey(
        "identity.ClientProfile", on_delete=models.PROTECT, related_name="+"
    )
    wallet = models.ForeignKey(LedgerAccount, on_delete=models.PROTECT, related_name="+")
    amount = models.DecimalField(**MONEY)
    currency = models.CharField(max_length=3, choices=CURRENCY_CHOICES)
    payout_currency = models.CharField(max_length=3, choices=CURRENCY_CHOICES)
    fx_rate = models.DecimalField(max_digits=24, decimal_places=10, null=True, blank=True)
    fx_source = models.CharField(max_length=120, blank=True)
    status = models.CharField(
        max_length=16, choices=Status.choices, default=Status.PENDING_APPROVAL
    )
    approval_needed = models.CharField(max_length=18, choices=Approval.choices)
    risk_level = models.CharField(max_length=6, blank=True)
    withdrawal_ruleset = models.CharField(max_length=80, blank=True)
    finance_approver = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    compliance_approver = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    requested_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    requested_label = models.CharField(max_length=150)
    decision_reason = models.TextField(blank=True)
    idempotency_key = models.CharField(max_length=100)
    request_hash = models.CharField(max_length=64)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    scope_desk_field: ClassVar[str] = "profile__desk"

    class Meta:
        ordering = ["-pk"]
        permissions = [
            ("approve_withdrawal", "Approve a withdrawal (finance)"),
            ("approve_withdrawal_compliance", "Approve a large withdrawal (compliance)"),
        ]
        constraints = [
            models.CheckConstraint(name="withdrawal_amount_positive", condition=Q(amount__gt=0)),
            models.UniqueConstraint(
                fields=["entity", "idempotency_key"], name="withdrawal_idempotency_key_unique"
            ),
            # Maker-checker, kept by the database too.
            models.CheckConstraint(
                name="withdrawal_two_different_approvers",
                condition=Q(finance_approver__isnull=True)
                | Q(compliance_approver__isnull=True)
                | ~Q(finance_approver=models.F("compliance_approver")),
            ),
        ]

    def __str__(self) -> str:
        return f"Withdrawal {self.pk} {self.amount} {self.currency}"


class WithdrawalLeg(EntityOwned):
    """One destination of a withdrawal: a card refund (return to source) or a bank payout, each
    with its own hold so each is posted or voided on its own outcome."""

    class Destination(models.TextChoices):
        CARD = "card", "Card refund"
        BANK = "bank", "Bank payout"

    class Status(models.TextChoices):
        WAITING = "waiting", "Waiting"
        SENT = "sent", "Sent"
        PAID = "paid", "Paid"
        FAILED = "failed", "Failed"
        VOIDED = "voided", "Voided"

    withdrawal = models.ForeignKey(Withdrawal, on_delete=models.PROTECT, related_name="legs")
    number = models.PositiveSmallIntegerField()
    destination = models.CharField(max_length=4, choices=Destination.choices)
    source_deposit = models.ForeignKey(
        Deposit, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    bank_account = models.ForeignKey(
        BankAccount, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    amount = models.DecimalField(**MONEY)
    payout_amount = models.DecimalField(**MONEY, null=True, blank=True)
    merchant_account = models.ForeignKey(
        MerchantAccount, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    hold = models.OneToOneField(Hold, on_delete=models.PROTECT, related_name="+")
    reference = models.CharField(max_length=60, unique=True)
    psp_transaction_id = models.CharField(max_length=80, blank=True)
    status = models.CharField(max_length=8, choices=Status.choices, default=Status.WAITING)
    decline_code = models.CharField(max_length=40, blank=True)

    scope_desk_field: ClassVar[str] = "withdrawal__profile__desk"

    class Meta:
        ordering = ["withdrawal_id", "number"]
        constraints = [
            models.UniqueConstraint(fields=["withdrawal", "number"], name="leg_number_unique"),
            models.CheckConstraint(
                name="leg_has_its_destination",
                condition=Q(destination="card", source_deposit__isnull=False)
                | Q(destination="bank", bank_account__isnull=False),
            ),
        ]


class WebhookEvent(EntityOwned):
    """Every verified PSP delivery, once per event id; duplicates are counted, not processed."""

    merchant_account = models.ForeignKey(
        MerchantAccount, on_delete=models.PROTECT, related_name="+"
    )
    event_id = models.CharField(max_length=100)
    type = models.CharField(max_length=40)
    psp_transaction_id = models.CharField(max_length=80, blank=True)
    signature = models.CharField(max_length=120)
    body = models.JSONField()
    outcome = models.CharField(max_length=40, blank=True)
    deliveries = models.PositiveIntegerField(default=1)
    received_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["-pk"]
        constraints = [
            models.UniqueConstraint(
                fields=["merchant_account", "event_id"], name="webhook_event_once"
            )
        ]


class ReconciliationRun(EntityOwned):
    merchant_account = models.ForeignKey(
        MerchantAccount, on_delete=models.PROTECT, related_name="+"
    )
    day = models.DateField()
    lines = models.PositiveIntegerField(default=0)
    matched = models.PositiveIntegerField(default=0)
    breaks = models.PositiveIntegerField(default=0)
    # Per currency: settled total minus ledger total, after explained breaks: zero when clean.
    unexplained = models.JSONField(default=dict)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["-day", "merchant_account_id"]
        constraints = [
            models.UniqueConstraint(fields=["merchant_account", "day"], name="recon_run_once")
        ]


class ReconciliationBreak(EntityOwned):
    class Kind(models.TextChoices):
        MISSING_CALLBACK = "missing_callback", "Settled, but never confirmed to us"
        MISSING_SETTLEMENT = "missing_settlement", "On our ledger, not in the settlement"
        AMOUNT_MISMATCH = "amount_mismatch", "Amount differs"
        CURRENCY_MISMATCH = "currency_mismatch", "Currency differs"
        DUPLICATE = "duplicate", "Settled more than once"
        WRONG_ENTITY = "wrong_entity", "Posted under another entity"
        UNKNOWN_TRANSACTION = "unknown_transaction", "Unknown to us"

    class Status(models.TextChoices):
        OPEN = "open", "Open"
        RESOLVED = "resolved", "Resolved"

    run = models.ForeignKey(ReconciliationRun, on_delete=models.PROTECT, related_name="items")
    kind = models.CharField(max_length=20, choices=Kind.choices)
    psp_transaction_id = models.CharField(max_length=80, blank=True)
    reference = models.CharField(max_length=60, blank=True)
    currency = models.CharField(max_length=3, choices=CURRENCY_CHOICES)
    settled_amount = models.DecimalField(**MONEY, null=True, blank=True)
    ledger_amount = models.DecimalField(**MONEY, null=True, blank=True)
    detail = models.TextField(blank=True)
    status = models.CharField(max_length=8, choices=Status.choices, default=Status.OPEN)
    resolution_journal = models.OneToOneField(
        JournalEntry, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    resolved_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    resolution_note = models.TextField(blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["status", "-pk"]
        permissions = [("resolve_reconciliationbreak", "Resolve a reconciliation break")]
        constraints = [
            models.UniqueConstraint(
                fields=["run", "kind", "psp_transaction_id", "reference"],
                name="recon_break_once",
            )
        ]
