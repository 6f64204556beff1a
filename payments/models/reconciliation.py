"""Daily reconciliation of each merchant account's settlement against the ledger: the runs and
the breaks they find."""

from __future__ import annotations

from django.conf import settings
from django.db import models

from brokercrm.labels import number
from brokercrm.money import MONEY
from brokercrm.reference import CURRENCY_CHOICES
from brokercrm.scoping import EntityOwned

from .providers import MerchantAccount


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

    def __str__(self) -> str:
        return (
            f"Reconciliation {number(self)} · merchant account #{self.merchant_account_id}"
            f" on {self.day:%Y-%m-%d} ({self.breaks} breaks)"
        )


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
        "wallets.JournalEntry", null=True, blank=True, on_delete=models.PROTECT, related_name="+"
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

    def __str__(self) -> str:
        status = self.get_status_display().lower()
        return f"Break {number(self)} · {self.get_kind_display()} ({status})"
