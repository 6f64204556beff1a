"""Demo staff: the superuser `admin`, a login for every role in every entity, a desk-scoped
sales login and the group-wide oversight logins, all with the demo password. Adds only what is
missing; roles are granted through the role services."""

from __future__ import annotations

import os
from typing import Any

from brokercrm.gate import SYSTEM

from .models import RoleGrant, User
from .services import role_get, role_grant

DEMO_PASSWORD_DEFAULT = "brokercrm-demo"  # noqa: S105 - demo logins, printed on purpose

ENTITY_ROLES = [
    "sales",
    "retention",
    "compliance",
    "finance",
    "support",
    "ib_manager",
    "entity_admin",
]
GROUP_ROLES = ["group_compliance", "group_risk"]
DESK_LOGINS = [("sales.eu.dach", "sales", ("EU", "dach"), "sales on the EU DACH desk only")]
# Where each entity's staff sit: their pages show times in that zone; the others read UTC.
STAFF_TIME_ZONES = {"EU": "Europe/Berlin", "UK": "Europe/London"}


def demo_password() -> str:
    """The password of every demo login: DEMO_PASSWORD, or the documented default."""
    return os.environ.get("DEMO_PASSWORD", DEMO_PASSWORD_DEFAULT)


def seed(
    *, entities: dict[str, Any], desks: dict[tuple[str, str], Any], password: str
) -> list[tuple[str, str]]:
    """The staff logins and their role grants; returns (username, what it may do) to print."""
    logins = [("admin", "superuser: every entity, every action")]
    _user("admin", password, superuser=True)
    for code, entity in entities.items():
        for role_code in ENTITY_ROLES:
            username = f"{role_code.replace('_', '-')}.{code.lower()}"
            zone = STAFF_TIME_ZONES.get(code, "UTC")
            _grant(_user(username, password, time_zone=zone), role_code, entity=entity)
            logins.append((username, f"{role_code} in {code}"))
    for username, role_code, desk, description in DESK_LOGINS:
        zone = STAFF_TIME_ZONES.get(desk[0], "UTC")
        _grant(_user(username, password, time_zone=zone), role_code, desk=desks[desk])
        logins.append((username, description))
    for role_code in GROUP_ROLES:
        username = role_code.replace("_", ".")
        _grant(_user(username, password), role_code, group_wide=True)
        logins.append((username, f"{role_code}: views every entity, edits nothing"))
    return logins


def _user(username: str, password: str, *, superuser: bool = False, time_zone: str = "UTC") -> User:
    user, created = User.objects.get_or_create(
        username=username,
        defaults={
            "email": f"{username}@demo.brokercrm.local",
            "is_staff": True,
            "is_superuser": superuser,
            "time_zone": time_zone,
        },
    )
    if created:
        user.set_password(password)
        user.save(update_fields=["password"])
    return user


def _grant(user: User, role_code: str, **where: Any) -> None:
    role = role_get(role_code)
    desk = where.get("desk")
    exists = RoleGrant.objects.filter(
        user=user,
        role=role,
        revoked_at__isnull=True,
        entity=desk.entity if desk is not None else where.get("entity"),
        desk=desk,
        group_wide=where.get("group_wide", False),
    ).exists()
    if not exists:
        role_grant(actor=SYSTEM, user=user, role=role, reason="demo data", **where)
