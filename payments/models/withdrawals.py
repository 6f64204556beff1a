"""Withdrawals: clients' bank accounts for payouts, the withdrawal with its approvals, and its
legs (card refunds and bank payouts, each with its own hold)."""

from __future__ import annotations

from decimal import Decimal
from typing import ClassVar

from django.conf import settings
from django.db import models
from django.db.models import Q

from brokercrm.labels import amount_label, loaded, number
from brokercrm.money import MONEY
from brokercrm.reference import CURRENCY_CHOICES
from brokercrm.scoping import EntityOwned

from .deposits import Deposit
from .providers import MerchantAccount


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
    wallet = models.ForeignKey("wallets.LedgerAccount", on_delete=models.PROTECT, related_name="+")
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
        status = self.get_status_display().lower()
        return f"Withdrawal {number(self)} · {amount_label(self.amount, self.currency)} ({status})"


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
    hold = models.OneToOneField("wallets.Hold", on_delete=models.PROTECT, related_name="+")
    reference = models.CharField(max_length=60, unique=True)
    psp_transaction_id = models.CharField(max_length=80, blank=True)
    status = models.CharField(max_length=8, choices=Status.choices, default=Status.WAITING)
    decline_code = models.CharField(max_length=40, blank=True)

    scope_desk_field: ClassVar[str] = "withdrawal__profile__desk"

    @property
    def converted(self) -> bool:
        """Paid in the withdrawal's payout currency (a bank leg of a cross-currency payout);
        a card refund goes back in the card's currency, the wallet's."""
        return self.payout_amount is not None

    @property
    def payout(self) -> tuple[Decimal, str]:
        """What this leg pays out, and in which currency."""
        if self.converted:
            return self.payout_amount, self.withdrawal.payout_currency
        return self.amount, self.withdrawal.currency

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

    def __str__(self) -> str:
        withdrawal = loaded(self, "withdrawal")
        amount = (
            amount_label(*self.payout) if withdrawal is not None else amount_label(self.amount, "")
        )
        what = f"{self.get_destination_display().lower()}, {self.get_status_display().lower()}"
        return f"Leg {self.number} of withdrawal #{self.withdrawal_id} · {amount} ({what})"
