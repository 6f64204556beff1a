from __future__ import annotations

from django.conf import settings
from django.db import models

from brokercrm.scoping import EntityOwned


class Assignment(EntityOwned):
    """Who works one item of a queue. Items are rows of other apps (a KYC file, a withdrawal);
    the queue key and the row's id name them, so every queue shares one way to claim work."""

    queue = models.CharField(max_length=60)
    object_id = models.CharField(max_length=64)
    assignee = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="work_assignments"
    )
    assigned_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+"
    )
    assigned_at = models.DateTimeField()

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["queue", "object_id"], name="one_assignee_per_item")
        ]
        indexes = [models.Index(fields=["assignee", "queue"])]

    def __str__(self) -> str:
        return f"{self.queue} #{self.object_id} → {self.assignee}"
