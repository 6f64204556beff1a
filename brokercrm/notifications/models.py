"""What a client was told: one row per event, kind and profile, in the client's language."""

from __future__ import annotations

from django.db import models
from django.db.models import Q
from django.utils import timezone

from brokercrm.scoping import EntityOwned


class Notification(EntityOwned):
    class EmailStatus(models.TextChoices):
        PENDING = "pending", "To be sent"
        SENT = "sent", "Sent"
        UNVERIFIED = "unverified", "Not sent: the address is not verified"
        NO_ADDRESS = "no_address", "Not sent: no address"

    # The profile is a plain id, as on the events it comes from: the kernel sits below identity.
    profile_id = models.BigIntegerField()
    kind = models.CharField(max_length=40)
    event = models.ForeignKey("events.Event", on_delete=models.PROTECT, related_name="+")
    # The language the texts were written in (the client's when the event was delivered).
    language = models.CharField(max_length=8)
    title = models.CharField(max_length=200)
    body = models.TextField()
    created_at = models.DateTimeField(default=timezone.now)
    read_at = models.DateTimeField(null=True, blank=True)
    email_status = models.CharField(
        max_length=10, choices=EmailStatus.choices, default=EmailStatus.PENDING
    )
    emailed_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at", "-pk"]
        constraints = [
            # A redelivered event tells the client nothing twice.
            models.UniqueConstraint(
                fields=["event", "kind", "profile_id"], name="notification_once_per_event"
            )
        ]
        indexes = [
            models.Index(fields=["profile_id", "-created_at"], name="notification_profile"),
            models.Index(
                fields=["profile_id"], condition=Q(read_at__isnull=True), name="notification_unread"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.title} · client profile #{self.profile_id}"

    @property
    def is_read(self) -> bool:
        return self.read_at is not None
