"""Choices of identity rows that other apps compare against (a profile's status)."""

from django.db import models


class ProfileStatus(models.TextChoices):
    LEAD = "lead", "Lead"
    APPLICANT = "applicant", "Applicant"
    PENDING = "pending", "Held for duplicate review"
    ACTIVE = "active", "Active"
    RESTRICTED = "restricted", "Restricted"
    CLOSED = "closed", "Closed"
