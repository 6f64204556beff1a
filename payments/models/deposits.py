"""Deposits and their attempts at the PSPs (one per merchant account tried)."""

from __future__ import annotations

from typing import ClassVar

from django.db import models
from django.db.models import Q

from brokercrm.labels import amount_label, number
from brokercrm.money import MONEY
from brokercrm.reference import CURRENCY_CHOICES
from brokercrm.scoping import EntityOwned

from .providers import MerchantAccount, PaymentMethod, RoutingRule


class Deposit(EntityOwned):
    class Status(models.TextChoices):
        PROCESSING = "processing", "Processing"
        AWAITING_PAYER = "awaiting_payer", "Waiting for the payer on the PSP's payment page"
        AUTHORISED = "authorised", "Authorised, awaiting the PSP's confirmation"
        CREDITED = "credited", "Credited"
        PARKED = "parked", "Credited and parked until KYC approval"
        DECLINED = "declined", "Declined"
        FAILED = "failed", "Failed (offer another method)"
        EXPIRED = "expired", "Expired: the payer did not finish on the payment page"

    profile = models.ForeignKey(
        "identity.ClientProfile", on_delete=models.PROTECT, related_name="+"
    )
    wallet = models.ForeignKey("wallets.LedgerAccount", on_delete=models.PROTECT, related_name="+")
    amount = models.DecimalField(**MONEY)
    currency = models.CharField(max_length=3, choices=CURRENCY_CHOICES)
    method = models.ForeignKey(PaymentMethod, on_delete=models.PROTECT, related_name="+")
    # Never the card number: a keyed fingerprint for return-to-source, and the last four.
    instrument_fingerprint = models.CharField(max_length=64, blank=True)
    instrument_label = models.CharField(max_length=40, blank=True)
    status = models.CharField(max_length=16, choices=Status.choices, default=Status.PROCESSING)
    decline_code = models.CharField(max_length=40, blank=True)
    alternatives = models.JSONField(default=list, blank=True)
    # A deposit on the PSP's hosted page: where the payer pays, and where they come back to.
    redirect_url = models.URLField(max_length=2000, blank=True)
    return_url = models.URLField(max_length=2000, blank=True)
    routing_rule = models.ForeignKey(
        RoutingRule, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    idempotency_key = models.CharField(max_length=100)
    request_hash = models.CharField(max_length=64)
    journal = models.OneToOneField(
        "wallets.JournalEntry", null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    park_hold = models.OneToOneField(
        "wallets.Hold", null=True, blank=True, on_delete=models.PROTECT, related_name="+"
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
        status = self.get_status_display().lower()
        return f"Deposit {number(self)} · {amount_label(self.amount, self.currency)} ({status})"


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

    def __str__(self) -> str:
        status = self.get_status_display().lower()
        return f"Attempt {self.number} of deposit #{self.deposit_id} ({status})"
