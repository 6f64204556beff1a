"""A transfer quote the client confirms: what leaves, what arrives and at which rate.

Stored, not signed: the client holds only the quote's random `token`, so nothing it sends can
change the amounts or the rate. A quote moves money at most once (the ledger and trading
transfers are keyed by the quote), and the client's Idempotency-Key is bound to the quote
that executed under it (`idempotency_key`, unique per entity)."""

from __future__ import annotations

import uuid

from django.db import models
from django.db.models import Q

from brokercrm.labels import amount_label
from brokercrm.money import MONEY
from brokercrm.reference import CURRENCY_CHOICES
from brokercrm.scoping import EntityOwned


class TransferQuote(EntityOwned):
    class Kind(models.TextChoices):
        WALLET_TO_WALLET = "wallet_to_wallet", "Wallet → wallet"
        WALLET_TO_ACCOUNT = "wallet_to_account", "Wallet → trading account"
        ACCOUNT_TO_WALLET = "account_to_wallet", "Trading account → wallet"

    token = models.UUIDField(default=uuid.uuid4, unique=True, editable=False)
    profile = models.ForeignKey(
        "identity.ClientProfile", on_delete=models.PROTECT, related_name="+"
    )
    kind = models.CharField(max_length=20, choices=Kind.choices)
    source_wallet = models.ForeignKey(
        "wallets.LedgerAccount", null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    source_account = models.ForeignKey(
        "platforms.TradingAccount",
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="+",
    )
    target_wallet = models.ForeignKey(
        "wallets.LedgerAccount", null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    target_account = models.ForeignKey(
        "platforms.TradingAccount",
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="+",
    )
    from_amount = models.DecimalField(**MONEY)
    from_currency = models.CharField(max_length=3, choices=CURRENCY_CHOICES)
    to_amount = models.DecimalField(**MONEY)
    to_currency = models.CharField(max_length=3, choices=CURRENCY_CHOICES)
    rate = models.DecimalField(max_digits=24, decimal_places=10)
    # The published rate behind `rate` (mid, markup, source, as_of); empty in one currency.
    fx = models.JSONField(default=dict, blank=True)
    expires_at = models.DateTimeField()
    created_at = models.DateTimeField(auto_now_add=True)
    # Set when the quote executed: the client's key, and what it moved.
    idempotency_key = models.CharField(max_length=100, blank=True)
    executed_at = models.DateTimeField(null=True, blank=True)
    journal = models.ForeignKey(
        "wallets.JournalEntry", null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    trading_transfer = models.ForeignKey(
        "platforms.TradingTransfer",
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="+",
    )

    class Meta:
        ordering = ["-pk"]
        constraints = [
            models.UniqueConstraint(
                fields=["entity", "idempotency_key"],
                condition=~Q(idempotency_key=""),
                name="transferquote_idempotency_key",
            ),
            models.CheckConstraint(
                name="transferquote_amounts_positive",
                condition=Q(from_amount__gt=0, to_amount__gt=0, rate__gt=0),
            ),
            models.CheckConstraint(
                name="transferquote_one_source_one_target",
                condition=(
                    Q(
                        kind="wallet_to_wallet",
                        source_wallet__isnull=False,
                        target_wallet__isnull=False,
                        source_account__isnull=True,
                        target_account__isnull=True,
                    )
                    | Q(
                        kind="wallet_to_account",
                        source_wallet__isnull=False,
                        target_account__isnull=False,
                        source_account__isnull=True,
                        target_wallet__isnull=True,
                    )
                    | Q(
                        kind="account_to_wallet",
                        source_account__isnull=False,
                        target_wallet__isnull=False,
                        source_wallet__isnull=True,
                        target_account__isnull=True,
                    )
                ),
            ),
        ]

    def __str__(self) -> str:
        return (
            f"Quote {amount_label(self.from_amount, self.from_currency)}"
            f" → {amount_label(self.to_amount, self.to_currency)}"
        )
