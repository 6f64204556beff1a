"""The double-entry, append-only ledger and the client wallets on it.

Sign convention: a posting's amount is positive for a credit and negative for a debit. A client
wallet is a liability of the entity to the client, so deposits credit it and its `balance`
(the sum of its postings, kept by a database trigger) is what the client owns. `held` is the
part reserved by pending holds; `balance - held` is available, and the database refuses any
change that would make it negative on a client wallet.
"""

from __future__ import annotations

from decimal import Decimal
from typing import ClassVar

from django.conf import settings
from django.db import models
from django.db.models import F, Q

from brokercrm.labels import amount_label, number, person_name
from brokercrm.money import MONEY
from brokercrm.reference import CURRENCY_CHOICES
from brokercrm.scoping import EntityOwned

from .choices import AccountKind, JournalType


class LedgerAccount(EntityOwned):
    Kind = AccountKind

    class Side(models.TextChoices):
        DEBIT = "debit", "Debit"
        CREDIT = "credit", "Credit"

    kind = models.CharField(max_length=20, choices=Kind.choices)
    currency = models.CharField(max_length=3, choices=CURRENCY_CHOICES)
    normal_side = models.CharField(max_length=6, choices=Side.choices)
    name = models.CharField(max_length=100, default="main")
    profile = models.ForeignKey(
        "identity.ClientProfile", null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    # Kept by the posting trigger (balance) and the hold services (held); never set by hand.
    balance = models.DecimalField(**MONEY, default=Decimal(0))
    held = models.DecimalField(**MONEY, default=Decimal(0))
    created_at = models.DateTimeField(auto_now_add=True)
    # A closed wallet takes no money in; what it still holds may only leave it.
    closed_at = models.DateTimeField(null=True, blank=True)

    scope_desk_field: ClassVar[str] = "profile__desk"

    class Meta:
        ordering = ["entity_id", "kind", "currency", "pk"]
        permissions = [
            ("transfer_ledgeraccount", "Can move money between wallets of one client"),
        ]
        constraints = [
            models.CheckConstraint(
                name="ledgeraccount_wallet_available_not_negative",
                condition=~Q(kind="client_wallet") | Q(balance__gte=F("held")),
            ),
            models.CheckConstraint(
                name="ledgeraccount_held_not_negative", condition=Q(held__gte=0)
            ),
            models.CheckConstraint(
                name="ledgeraccount_wallet_has_profile",
                condition=Q(kind="client_wallet", profile__isnull=False)
                | (~Q(kind="client_wallet") & Q(profile__isnull=True)),
            ),
            models.UniqueConstraint(
                fields=["profile", "currency"],
                condition=Q(kind="client_wallet"),
                name="ledgeraccount_one_wallet_per_currency",
            ),
            models.UniqueConstraint(
                fields=["entity", "kind", "currency", "name"],
                condition=Q(profile__isnull=True),
                name="ledgeraccount_system_account_unique",
            ),
        ]

    def __str__(self) -> str:
        owner = person_name(self) if self.profile_id else self.name
        return f"{self.get_kind_display()} {self.currency} ({owner})"

    @property
    def available(self) -> Decimal:
        return self.balance - self.held


class JournalEntry(EntityOwned):
    """One business event as balanced postings. Never updated or deleted (triggers)."""

    Type = JournalType

    type = models.CharField(max_length=20, choices=Type.choices)
    idempotency_key = models.CharField(max_length=100)
    request_hash = models.CharField(max_length=64)
    reference = models.CharField(max_length=100, blank=True)
    reverses = models.ForeignKey(
        "self", null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    actor = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    actor_label = models.CharField(max_length=150)
    metadata = models.JSONField(default=dict, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["-pk"]
        verbose_name_plural = "journal entries"
        constraints = [
            models.UniqueConstraint(
                fields=["entity", "idempotency_key"], name="journal_idempotency_key_unique"
            ),
            models.UniqueConstraint(
                fields=["reverses"],
                condition=Q(reverses__isnull=False),
                name="journal_reversed_once",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.get_type_display()} #{self.pk}"


class Posting(EntityOwned):
    journal = models.ForeignKey(JournalEntry, on_delete=models.PROTECT, related_name="postings")
    account = models.ForeignKey(LedgerAccount, on_delete=models.PROTECT, related_name="postings")
    amount = models.DecimalField(**MONEY, help_text="Credit positive, debit negative")
    currency = models.CharField(max_length=3, choices=CURRENCY_CHOICES)

    scope_desk_field: ClassVar[str] = "account__profile__desk"

    class Meta:
        ordering = ["pk"]
        constraints = [
            models.CheckConstraint(name="posting_amount_not_zero", condition=~Q(amount=0))
        ]
        indexes = [models.Index(fields=["account", "id"], name="posting_account_id")]

    def __str__(self) -> str:
        return f"{amount_label(self.amount, self.currency)} on account #{self.account_id}"


class Hold(EntityOwned):
    """A pending transfer out of a client wallet: reserved now, posted or voided exactly once."""

    class Status(models.TextChoices):
        PENDING = "pending", "Pending"
        POSTED = "posted", "Posted"
        VOIDED = "voided", "Voided"

    account = models.ForeignKey(LedgerAccount, on_delete=models.PROTECT, related_name="holds")
    counter_account = models.ForeignKey(LedgerAccount, on_delete=models.PROTECT, related_name="+")
    amount = models.DecimalField(**MONEY)
    currency = models.CharField(max_length=3, choices=CURRENCY_CHOICES)
    status = models.CharField(max_length=8, choices=Status.choices, default=Status.PENDING)
    purpose = models.CharField(max_length=40)
    idempotency_key = models.CharField(max_length=100)
    request_hash = models.CharField(max_length=64)
    journal = models.OneToOneField(
        JournalEntry, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    metadata = models.JSONField(default=dict, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    resolved_at = models.DateTimeField(null=True, blank=True)

    scope_desk_field: ClassVar[str] = "account__profile__desk"

    class Meta:
        ordering = ["-pk"]
        constraints = [
            models.CheckConstraint(name="hold_amount_positive", condition=Q(amount__gt=0)),
            models.UniqueConstraint(
                fields=["entity", "idempotency_key"], name="hold_idempotency_key_unique"
            ),
            models.CheckConstraint(
                name="hold_posted_has_journal",
                condition=Q(status="posted", journal__isnull=False) | ~Q(status="posted"),
            ),
        ]

    def __str__(self) -> str:
        status = self.get_status_display().lower()
        return f"Hold {number(self)} · {amount_label(self.amount, self.currency)} ({status})"


class FxRate(models.Model):
    """Group reference data: 1 `base` = `rate` `quote`, as published by `source` at `as_of`."""

    base = models.CharField(max_length=3, choices=CURRENCY_CHOICES)
    quote = models.CharField(max_length=3, choices=CURRENCY_CHOICES)
    rate = models.DecimalField(max_digits=24, decimal_places=10)
    source = models.CharField(max_length=40)
    as_of = models.DateTimeField()
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["-as_of"]
        indexes = [models.Index(fields=["base", "quote", "-as_of"], name="fxrate_pair_latest")]
        constraints = [
            models.CheckConstraint(name="fxrate_positive", condition=Q(rate__gt=0)),
            models.CheckConstraint(name="fxrate_distinct_pair", condition=~Q(base=F("quote"))),
        ]

    def __str__(self) -> str:
        return (
            f"1 {self.base} = {self.rate} {self.quote} ({self.source}, {self.as_of:%Y-%m-%d %H:%M})"
        )
