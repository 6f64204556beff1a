from __future__ import annotations

from typing import ClassVar

from django.conf import settings
from django.db import models


class AuditEvent(models.Model):
    """One append-only line of the audit log.

    The database refuses UPDATE, DELETE and TRUNCATE on this table (triggers in migration
    0002). Each row carries the SHA-256 of its canonical form chained to the previous row's
    hash, so `manage.py audit_verify` finds an edited, deleted or reordered row even if
    someone disabled the triggers to tamper.
    """

    seq = models.BigIntegerField(unique=True, help_text="Position in the chain, gap-free.")
    created_at = models.DateTimeField()
    actor = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    actor_label = models.CharField(max_length=150, help_text="Who, as known at the time.")
    action = models.CharField(max_length=100)
    entity = models.ForeignKey(
        "entities.LegalEntity", null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    object_type = models.CharField(max_length=100, blank=True)
    object_id = models.CharField(max_length=64, blank=True)
    # The client (Person) the row concerns, when there is one: the client 360's timeline and
    # the audit search by client read it.
    person_id = models.BigIntegerField(null=True, blank=True)
    before = models.JSONField(null=True, blank=True)
    after = models.JSONField(null=True, blank=True)
    reason = models.TextField(blank=True)
    request_id = models.CharField(max_length=64, blank=True)
    ip = models.GenericIPAddressField(null=True, blank=True)
    prev_hash = models.CharField(max_length=64)
    hash = models.CharField(max_length=64, unique=True)

    # Scoped like entity-owned rows; rows about no entity are for group-wide viewers.
    scope_entity_field: ClassVar[str] = "entity"
    scope_entity_nullable: ClassVar[bool] = True

    class Meta:
        ordering = ["-seq"]
        indexes = [
            models.Index(fields=["entity", "created_at"]),
            models.Index(fields=["object_type", "object_id"]),
            models.Index(fields=["person_id", "created_at"]),
            models.Index(fields=["actor", "created_at"]),
        ]

    def __str__(self) -> str:
        return f"#{self.seq} {self.action} by {self.actor_label}"
