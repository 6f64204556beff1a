"""Roles and grants: every write to who-may-do-what goes through here and is audited.

Client logins (one per client profile) are opened and checked by `identity.logins`."""

from __future__ import annotations

from fnmatch import fnmatchcase
from typing import Any

from django.apps import apps
from django.contrib.auth.models import Permission
from django.contrib.contenttypes.models import ContentType
from django.db import IntegrityError, transaction
from django.utils import timezone
from guardian.models import UserObjectPermission

from brokercrm.auditing import audit as audit_record
from brokercrm.errors import (
    Conflict,
    NotFound,
    ValidationFailed,
)
from brokercrm.gate import is_system, require, require_superuser
from brokercrm.scoping import forget_scopes

from . import audit_actions as actions
from .models import Role, RoleGrant, User
from .roles import ROLE_DEFINITIONS, SCOPED_APPS, oversight_allows


def _scope_content_types() -> tuple[ContentType, ContentType]:
    # Grants live on the entity rows (ADR 0001); the kernel names the models, it does not import
    # the app that defines them.
    return (
        ContentType.objects.get_for_model(apps.get_model("entities", "LegalEntity")),
        ContentType.objects.get_for_model(apps.get_model("entities", "Desk")),
    )


def _grantable_permissions() -> dict[str, Permission]:
    """Model permissions of the entity-scoped apps, keyed "app_label.codename"."""
    permissions = Permission.objects.filter(content_type__app_label__in=SCOPED_APPS).select_related(
        "content_type"
    )
    return {
        f"{perm.content_type.app_label}.{perm.codename}": perm
        for perm in permissions
        if "." not in perm.codename  # not a mirror (see permissions_sync)
    }


def permissions_sync() -> int:
    """Make a LegalEntity and a Desk permission mirror every grantable model permission.

    guardian stores an object permission only for a permission of the object's own content
    type; a grant "kyc.approve_kycfile on the EU entity" is therefore stored as the
    LegalEntity permission whose codename is "kyc.approve_kycfile". Returns rows created.
    """
    created = 0
    grantable = _grantable_permissions()
    for content_type in _scope_content_types():
        existing = set(
            Permission.objects.filter(
                content_type=content_type, codename__contains="."
            ).values_list("codename", flat=True)
        )
        missing = [
            Permission(
                content_type=content_type,
                codename=name,
                name=f"{content_type.model}-wide: {perm.name}"[:255],
            )
            for name, perm in grantable.items()
            if name not in existing
        ]
        Permission.objects.bulk_create(missing, ignore_conflicts=True)
        created += len(missing)
    return created


def roles_sync() -> list[Role]:
    """Bring the Role rows in line with `roles.ROLE_DEFINITIONS`."""
    grantable = _grantable_permissions()
    roles = []
    for definition in ROLE_DEFINITIONS:
        names = sorted(
            name
            for name in grantable
            if any(fnmatchcase(name, pattern) for pattern in definition.patterns)
            and (not definition.oversight or oversight_allows(name))
        )
        role, _ = Role.objects.update_or_create(
            code=definition.code,
            defaults={
                "name": definition.name,
                "description": definition.description,
                "oversight": definition.oversight,
            },
        )
        role.permissions.set([grantable[name] for name in names])
        roles.append(role)
    return roles


def role_permission_names(role: Role) -> set[str]:
    return {
        f"{app_label}.{codename}"
        for app_label, codename in role.permissions.values_list(
            "content_type__app_label", "codename"
        )
    }


def user_grants_sync(user: User) -> None:
    """Rewrite the user's guardian object permissions from their active grants."""
    legal_entity = apps.get_model("entities", "LegalEntity")
    entity_ct, desk_ct = _scope_content_types()
    mirrors = {
        (perm.content_type_id, perm.codename): perm.pk
        for perm in Permission.objects.filter(
            content_type__in=[entity_ct, desk_ct], codename__contains="."
        )
    }
    all_entity_ids = list(legal_entity.objects.values_list("pk", flat=True))
    wanted: set[tuple[int, int, str]] = set()  # (permission id, content type id, object pk)
    for grant in RoleGrant.objects.filter(user=user, revoked_at__isnull=True).select_related(
        "role"
    ):
        names = role_permission_names(grant.role)
        if grant.group_wide:
            targets = [(entity_ct.pk, pk) for pk in all_entity_ids]
        elif grant.desk_id is not None:
            targets = [(desk_ct.pk, grant.desk_id)]
        else:
            targets = [(entity_ct.pk, grant.entity_id)]
        for content_type_id, object_pk in targets:
            for name in names:
                perm_id = mirrors.get((content_type_id, name))
                if perm_id is not None:
                    wanted.add((perm_id, content_type_id, str(object_pk)))
    existing = {
        (row.permission_id, row.content_type_id, row.object_pk): row.pk
        for row in UserObjectPermission.objects.filter(
            user=user, content_type__in=[entity_ct, desk_ct]
        )
    }
    stale = [pk for key, pk in existing.items() if key not in wanted]
    if stale:
        UserObjectPermission.objects.filter(pk__in=stale).delete()
    UserObjectPermission.objects.bulk_create(
        [
            UserObjectPermission(
                user=user, permission_id=perm_id, content_type_id=ct_id, object_pk=pk
            )
            for perm_id, ct_id, pk in wanted - existing.keys()
        ],
        ignore_conflicts=True,
    )
    forget_scopes(user)


def grants_resync() -> int:
    """After the roles change (a release adds a model, a role gains a permission), rewrite
    every holder's object permissions: a grant means its role as the code now defines it.
    Returns how many users were brought up to date."""
    user_ids = set(
        RoleGrant.objects.filter(revoked_at__isnull=True).values_list("user_id", flat=True)
    )
    users = User.objects.filter(pk__in=user_ids)
    for user in users:
        user_grants_sync(user)
    return len(user_ids)


def entity_grants_sync() -> None:
    """After an entity is created, extend every group-wide grant to it."""
    user_ids = RoleGrant.objects.filter(group_wide=True, revoked_at__isnull=True).values_list(
        "user_id", flat=True
    )
    for user in User.objects.filter(pk__in=set(user_ids)):
        user_grants_sync(user)


def _grant_snapshot(grant: RoleGrant) -> dict[str, Any]:
    return {
        "user": grant.user.get_username(),
        "role": grant.role.code,
        "entity_id": grant.entity_id,
        "desk_id": grant.desk_id,
        "group_wide": grant.group_wide,
    }


def role_grant(
    *,
    actor: Any,
    user: User,
    role: Role,
    entity: Any = None,
    desk: Any = None,
    group_wide: bool = False,
    reason: str = "",
) -> RoleGrant:
    """Give `user` the role on an entity, on a desk of it, or group-wide (oversight roles)."""
    if desk is not None:
        if entity is not None and desk.entity_id != entity.pk:
            raise ValidationFailed(
                "The desk belongs to another entity.", code="desk_entity_mismatch"
            )
        entity = desk.entity
    if group_wide:
        if entity is not None:
            raise ValidationFailed(
                "A group-wide grant names no entity or desk.", code="grant_scope_invalid"
            )
        if not role.oversight:
            raise ValidationFailed(
                f"Role {role.code} acts inside one entity; "
                "only oversight roles are granted group-wide.",
                code="role_not_group_wide",
            )
    elif entity is None:
        raise ValidationFailed(
            "Name an entity or a desk, or grant group-wide.", code="grant_scope_invalid"
        )
    elif role.oversight:
        raise ValidationFailed(
            f"Role {role.code} is an oversight role; grant it group-wide.",
            code="role_group_wide_only",
        )
    if not user.is_active:
        raise ValidationFailed("The user is deactivated.", code="user_inactive")
    if user.kind != User.Kind.STAFF:
        raise ValidationFailed("Roles are for staff users only.", code="user_not_staff")
    entity_id = None if group_wide else entity.pk
    if entity_id is None:
        require_superuser(actor, "Only a superuser can grant or revoke group-wide roles.")
    else:
        require(
            actor, "accounts.add_rolegrant", entity_id, detail="You may not manage grants here."
        )
    try:
        with transaction.atomic():
            grant = RoleGrant.objects.create(
                user=user,
                role=role,
                entity=entity,
                desk=desk,
                group_wide=group_wide,
                reason=reason,
                granted_by=None if is_system(actor) else actor,
                granted_at=timezone.now(),
            )
            if not user.is_staff:
                # The admin site is the staff back office; a grant is what opens it.
                user.is_staff = True
                user.save(update_fields=["is_staff"])
            user_grants_sync(user)
            audit_record(
                actor=actor,
                action=actions.ROLE_GRANTED,
                entity=entity,
                obj=grant,
                after=_grant_snapshot(grant),
                reason=reason,
            )
    except IntegrityError as exc:
        raise Conflict("The user already holds this role there.", code="grant_exists") from exc
    return grant


def role_revoke(*, actor: Any, grant: RoleGrant, reason: str = "") -> RoleGrant:
    if grant.entity_id is None:
        require_superuser(actor, "Only a superuser can grant or revoke group-wide roles.")
    else:
        require(
            actor,
            "accounts.delete_rolegrant",
            grant.entity_id,
            detail="You may not manage grants here.",
        )
    with transaction.atomic():
        grant = RoleGrant.objects.select_for_update().get(pk=grant.pk)
        if grant.revoked_at is not None:
            raise Conflict("This grant was already revoked.", code="grant_already_revoked")
        before = {**_grant_snapshot(grant), "active": True}
        grant.revoked_at = timezone.now()
        grant.revoked_by = None if is_system(actor) else actor
        grant.revoke_reason = reason
        grant.save(update_fields=["revoked_at", "revoked_by", "revoke_reason"])
        user_grants_sync(grant.user)
        audit_record(
            actor=actor,
            action=actions.ROLE_REVOKED,
            entity=grant.entity_id,
            obj=grant,
            before=before,
            after={**_grant_snapshot(grant), "active": False},
            reason=reason,
        )
    return grant


def role_get(code: str) -> Role:
    try:
        return Role.objects.get(code=code)
    except Role.DoesNotExist as exc:
        known = ", ".join(Role.objects.values_list("code", flat=True))
        raise NotFound(f"No role {code!r}. Known roles: {known}.", code="role_unknown") from exc
