from __future__ import annotations

import zoneinfo
from functools import cache
from typing import ClassVar

from django.conf import settings
from django.contrib.auth.models import AbstractUser, Permission
from django.db import models
from django.db.models import Q


@cache
def time_zone_choices() -> list[tuple[str, str]]:
    """Every IANA zone the server knows, by name (a callable, so a tzdata update needs no
    migration)."""
    return [(name, name.replace("_", " ")) for name in sorted(zoneinfo.available_timezones())]


def default_time_zone() -> str:
    return settings.TIME_ZONE


class User(AbstractUser):
    """Staff and clients alike. A client login belongs to one ClientProfile, hence one
    entity; staff reach entities only through role grants."""

    class Kind(models.TextChoices):
        STAFF = "staff", "Staff"
        CLIENT = "client", "Client"

    kind = models.CharField(max_length=10, choices=Kind.choices, default=Kind.STAFF)
    profile = models.OneToOneField(
        "identity.ClientProfile",
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="login",
        help_text="The one client profile a client login opens; none for staff.",
    )
    # Staff read dates and times in their own zone (the back office activates it per request).
    time_zone = models.CharField(
        max_length=64,
        choices=time_zone_choices,
        default=default_time_zone,
        help_text="Dates and times in the back office are shown in this time zone.",
    )

    class Meta:
        db_table = "accounts_user"
        constraints = [
            models.CheckConstraint(
                name="user_client_has_profile",
                condition=Q(kind="client", profile__isnull=False)
                | Q(kind="staff", profile__isnull=True),
            ),
        ]


class Role(models.Model):
    """A named set of permissions, kept in step with `roles.ROLE_DEFINITIONS`."""

    code = models.SlugField(max_length=40, unique=True)
    name = models.CharField(max_length=80)
    description = models.TextField(blank=True)
    oversight = models.BooleanField(
        default=False, help_text="May be granted group-wide; holds view permissions only."
    )
    permissions = models.ManyToManyField(Permission, related_name="+", blank=True)

    class Meta:
        ordering = ["code"]

    def __str__(self) -> str:
        return self.name


class RoleGrant(models.Model):
    """A role given to a user on one entity, on one desk of it, or group-wide (oversight).

    The grant row is the record of who decided what; the effective permissions are the
    guardian object permissions it produces on LegalEntity and Desk rows.
    """

    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="grants"
    )
    role = models.ForeignKey(Role, on_delete=models.PROTECT, related_name="grants")
    entity = models.ForeignKey(
        "entities.LegalEntity", null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    desk = models.ForeignKey(
        "entities.Desk", null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    group_wide = models.BooleanField(default=False)
    reason = models.TextField(blank=True)
    granted_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    granted_at = models.DateTimeField()
    revoked_at = models.DateTimeField(null=True, blank=True)
    revoked_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    revoke_reason = models.TextField(blank=True)

    scope_entity_field: ClassVar[str] = "entity"
    scope_entity_nullable: ClassVar[bool] = True

    class Meta:
        ordering = ["-granted_at"]
        constraints = [
            models.CheckConstraint(
                name="rolegrant_one_scope",
                condition=(
                    Q(group_wide=True, entity__isnull=True, desk__isnull=True)
                    | Q(group_wide=False, entity__isnull=False)
                ),
            ),
            models.UniqueConstraint(
                name="rolegrant_one_active",
                fields=["user", "role", "entity", "desk"],
                condition=Q(revoked_at__isnull=True),
                nulls_distinct=False,
            ),
        ]

    def __str__(self) -> str:
        where = "group-wide" if self.group_wide else (self.desk or self.entity)
        return f"{self.user} · {self.role.code} · {where}"

    @property
    def is_active(self) -> bool:
        return self.revoked_at is None


class ClientToken(models.Model):
    """One signed-in session of a client login: the API token a brand front end obtained.

    A login holds one per sign-in (phone, laptop, the brand's app), so logging out ends one
    and "log out everywhere" ends them all. Only a SHA-256 digest of the key is stored; the
    key itself is shown once, when the token is issued (`key` is set on that instance only).
    """

    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="client_tokens"
    )
    key_digest = models.CharField(max_length=64, unique=True, editable=False)
    created = models.DateTimeField(db_index=True)

    key: str = ""  # the plain key, on the instance that issued it only

    class Meta:
        ordering = ["-created"]

    def __str__(self) -> str:
        return f"session of {self.user} since {self.created:%Y-%m-%d %H:%M}"
