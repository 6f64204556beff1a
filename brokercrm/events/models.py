"""The outbox: every announced event, and one delivery per after-commit subscriber.

Rows carry the entity, person and profile they concern (person and profile as plain ids: the
kernel sits below identity), so the client timeline can be read from them."""

from __future__ import annotations

from django.db import models


class Event(models.Model):
    scope_entity_nullable = True  # group oversight sees the group-level events
    type = models.CharField(max_length=80, db_index=True)
    # The entity the event concerns (none for group-level facts such as a person's block when
    # no entity decided it). Named by label, as `EntityOwned` does: the kernel imports no app.
    entity = models.ForeignKey(
        "entities.LegalEntity",
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="+",
    )
    person_id = models.BigIntegerField(null=True, blank=True, db_index=True)
    profile_id = models.BigIntegerField(null=True, blank=True, db_index=True)
    payload = models.JSONField(default=dict, blank=True)
    actor_label = models.CharField(max_length=150, blank=True)
    occurred_at = models.DateTimeField()

    class Meta:
        ordering = ["-pk"]
        indexes = [
            models.Index(fields=["profile_id", "occurred_at"]),
            # The client 360's timeline reads a person's events newest first.
            models.Index(fields=["person_id", "occurred_at"]),
        ]

    def __str__(self) -> str:
        return f"{self.type} #{self.pk}"


class Delivery(models.Model):
    class Status(models.TextChoices):
        PENDING = "pending", "Pending"
        DONE = "done", "Delivered"
        PARKED = "parked", "Parked (kept failing)"

    event = models.ForeignKey(Event, on_delete=models.PROTECT, related_name="deliveries")
    subscriber = models.CharField(max_length=120)
    status = models.CharField(max_length=10, choices=Status.choices, default=Status.PENDING)
    attempts = models.PositiveIntegerField(default=0)
    # When a worker may (next) take it: now, after a backoff, or when a claim's lease runs out.
    due_at = models.DateTimeField()
    delivered_at = models.DateTimeField(null=True, blank=True)
    last_error = models.TextField(blank=True)

    class Meta:
        ordering = ["-pk"]
        verbose_name_plural = "deliveries"
        permissions = [("replay_delivery", "Can replay a parked event delivery")]
        constraints = [
            models.UniqueConstraint(fields=["event", "subscriber"], name="delivery_once_per_sub")
        ]
        indexes = [
            models.Index(
                fields=["due_at"],
                name="delivery_pending_due",
                condition=models.Q(status="pending"),
            )
        ]

    def __str__(self) -> str:
        return f"{self.subscriber} ← {self.event}"
