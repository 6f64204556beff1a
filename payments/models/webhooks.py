"""Webhook deliveries from the PSPs, each verified event kept once."""

from __future__ import annotations

from django.db import models

from brokercrm.scoping import EntityOwned

from .providers import MerchantAccount


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

    def __str__(self) -> str:
        return f"{self.type} {self.event_id} ({self.outcome or 'received'})"
