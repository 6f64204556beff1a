"""Roles, grants and client logins: every write to who-may-do-what goes through here and is
audited."""

from __future__ import annotations

import hashlib
import logging
from datetime import timedelta
from fnmatch import fnmatchcase
from typing import Any

from django.conf import settings
from django.contrib.auth.models import Permission
from django.contrib.auth.password_validation import validate_password
from django.contrib.contenttypes.models import ContentType
from django.core.cache import cache
from django.core.exceptions import ValidationError as DjangoValidationError
from django.db import IntegrityError, transaction
from django.utils import timezone
from guardian.models import UserObjectPermission
from rest_framework.authtoken.models import Token

from audit.services import audit_record
from brokercrm.errors import (
    ApplicationError,
    Conflict,
    NotFound,
    PermissionDenied,
    ValidationFailed,
)
from brokercrm.scoping import forget_scopes, scope_for

from .models import Role, RoleGrant, User
from .roles import ROLE_DEFINITIONS, SCOPED_APPS, oversight_allows

logger = logging.getLogger(__name__)


def _scope_content_types() -> tuple[ContentType, ContentType]:
    from entities.models import Desk, LegalEntity

    return (ContentType.objects.get_for_model(LegalEntity), ContentType.objects.get_for_model(Desk))


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
    from entities.models import LegalEntity

    entity_ct, desk_ct = _scope_content_types()
    mirrors = {
        (perm.content_type_id, perm.codename): perm.pk
        for perm in Permission.objects.filter(
            content_type__in=[entity_ct, desk_ct], codename__contains="."
        )
    }
    all_entity_ids = list(LegalEntity.objects.values_list("pk", flat=True))
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


def _ensure_may_manage_grants(actor: User | None, *, perm: str, entity_id: int | None) -> None:
    """System actions (actor None) and superusers may; otherwise the entity permission."""
    if actor is None or actor.is_superuser:
        return
    if entity_id is None:
        raise PermissionDenied(
            "Only a superuser can grant or revoke group-wide roles.", code="grant_denied"
        )
    if not scope_for(actor, perm).allows_entity(entity_id):
        raise PermissionDenied("You may not manage grants in this entity.", code="grant_denied")


def role_grant(
    *,
    actor: User | None,
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
    _ensure_may_manage_grants(
        actor, perm="accounts.add_rolegrant", entity_id=None if group_wide else entity.pk
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
                granted_by=actor,
                granted_at=timezone.now(),
            )
            if not user.is_staff:
                # The admin site is the staff back office; a grant is what opens it.
                user.is_staff = True
                user.save(update_fields=["is_staff"])
            user_grants_sync(user)
            audit_record(
                actor=actor,
                action="access.role_granted",
                entity=entity,
                obj=grant,
                after=_grant_snapshot(grant),
                reason=reason,
            )
    except IntegrityError as exc:
        raise Conflict("The user already holds this role there.", code="grant_exists") from exc
    return grant


def role_revoke(*, actor: User | None, grant: RoleGrant, reason: str = "") -> RoleGrant:
    _ensure_may_manage_grants(actor, perm="accounts.delete_rolegrant", entity_id=grant.entity_id)
    with transaction.atomic():
        grant = RoleGrant.objects.select_for_update().get(pk=grant.pk)
        if grant.revoked_at is not None:
            raise Conflict("This grant was already revoked.", code="grant_already_revoked")
        before = {**_grant_snapshot(grant), "active": True}
        grant.revoked_at = timezone.now()
        grant.revoked_by = actor
        grant.revoke_reason = reason
        grant.save(update_fields=["revoked_at", "revoked_by", "revoke_reason"])
        user_grants_sync(grant.user)
        audit_record(
            actor=actor,
            action="access.role_revoked",
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


# --- client logins ----------------------------------------------------------------------

# Failed logins allowed per (entity, e-mail as typed) within the window, whether or not a
# login exists for it: the limit itself then tells nothing about which addresses are clients.
CLIENT_LOGIN_MAX_FAILURES = 10
CLIENT_LOGIN_FAILURE_WINDOW_SECONDS = 15 * 60


class LoginFailed(ApplicationError):
    code = "login_failed"
    status = 400
    # One answer for a wrong password, an unknown address and another entity's login.
    default_detail = "The e-mail address or the password is wrong."


class LoginThrottled(ApplicationError):
    code = "login_throttled"
    status = 429
    default_detail = "Too many failed attempts. Please wait a few minutes and try again."


def client_username(*, entity_code: str, email_canonical: str) -> str:
    """The username of a client login: one per e-mail address per entity."""
    username = f"{entity_code.lower()}+{email_canonical}"
    if len(username) > 150:  # AbstractUser.username; the hash keeps it deterministic
        username = f"{entity_code.lower()}+{hashlib.sha256(email_canonical.encode()).hexdigest()}"
    return username


def client_login_create(*, actor: User | None, profile: Any, password: str) -> User:
    """Open a portal login for `profile`: the profile's e-mail address, the client's password.

    System calls (actor None) may; staff need to change client profiles in the entity."""
    if actor is not None and not actor.is_superuser:
        if not scope_for(actor, "identity.view_clientprofile").contains(profile):
            raise NotFound("No such client profile.", code="profile_not_found")
        if not scope_for(actor, "identity.change_clientprofile").contains(profile):
            raise PermissionDenied(
                "You may not open logins for this entity's clients.", code="permission_denied"
            )
    if profile.status == "closed":
        raise ValidationFailed("The client profile is closed.", code="profile_closed")
    if not profile.email_canonical:
        raise ValidationFailed("The client profile has no e-mail address.", code="email_missing")
    user = User(
        username=client_username(
            entity_code=profile.entity.code, email_canonical=profile.email_canonical
        ),
        email=profile.email,
        kind=User.Kind.CLIENT,
        profile=profile,
        is_staff=False,
    )
    if not isinstance(password, str) or not password:
        raise ValidationFailed("Choose a password.", code="password_required")
    try:
        validate_password(password, user=user)
    except DjangoValidationError as exc:
        raise ValidationFailed(
            " ".join(exc.messages),
            code="password_weak",
            extra={"errors": {"password": exc.messages}},
        ) from exc
    user.set_password(password)
    try:
        with transaction.atomic(durable=True):
            if User.objects.filter(profile=profile).exists():
                raise Conflict("This client profile has a login already.", code="login_exists")
            if User.objects.filter(username=user.username).exists():
                raise Conflict(
                    "Another client of this entity logs in with this e-mail address.",
                    code="login_email_taken",
                )
            user.save()
            audit_record(
                actor=actor,
                actor_label=None if actor is not None else "system:client_login",
                action="access.client_login_created",
                entity=profile.entity_id,
                obj=user,
                after={"user_id": user.pk, "profile_id": profile.pk},
            )
    except IntegrityError as exc:  # a concurrent create won the race
        raise Conflict("This client profile has a login already.", code="login_exists") from exc
    return user


def _failures_key(entity_code: str, email: str) -> str:
    digest = hashlib.sha256(email.strip().lower().encode("utf-8", "replace")).hexdigest()
    return f"client-login-failures:{entity_code}:{digest}"


def _failures(key: str) -> int:
    try:
        return int(cache.get(key) or 0)
    except Exception:  # the cache is down: log in without the limit rather than fail
        logger.warning("Failed-login counter unavailable", exc_info=True)
        return 0


def _failure_count(key: str) -> None:
    try:
        if not cache.add(key, 1, timeout=CLIENT_LOGIN_FAILURE_WINDOW_SECONDS):
            try:
                cache.incr(key)
            except ValueError:  # expired between add and incr
                cache.set(key, 1, timeout=CLIENT_LOGIN_FAILURE_WINDOW_SECONDS)
    except Exception:
        logger.warning("Failed-login counter unavailable", exc_info=True)


def _failures_clear(key: str) -> None:
    try:
        cache.delete(key)
    except Exception:
        logger.warning("Failed-login counter unavailable", exc_info=True)


def _email_canonical(email: str) -> str | None:
    from identity.normalize import NormalizationError, normalize_email

    try:
        return normalize_email(email)
    except NormalizationError:
        return None


def _client_login_find(
    *, brand: Any, entity_code: str, canonical: str | None
) -> tuple[User | None, str]:
    """The client login of the address in the entity asked for (the brand's own when none
    is named), and the entity's code. A brand reaches the logins of its own entity, and
    those of another entity only for profiles it onboarded there (its country routes)."""
    code = entity_code or brand.entity.code
    if canonical is None:
        return None, code
    logins = User.objects.filter(
        username=client_username(entity_code=code, email_canonical=canonical),
        kind=User.Kind.CLIENT,
        profile__entity__code=code,
    )
    if code != brand.entity.code:
        logins = logins.filter(profile__brand_id=brand.pk)
    return logins.select_related("profile").first(), code


def client_token_ttl() -> timedelta:
    return timedelta(seconds=getattr(settings, "CLIENT_TOKEN_TTL", 12 * 3600))


def token_expired(token: Token) -> bool:
    """Whether a client login's token has outlived its time (staff tokens never do)."""
    return (
        token.user.kind == User.Kind.CLIENT and token.created < timezone.now() - client_token_ttl()
    )


def client_token_revoke(*, token: Token) -> None:
    """End a client login's token now (logout), audited."""
    user = token.user
    with transaction.atomic(durable=True):
        Token.objects.filter(pk=token.pk).delete()
        audit_record(
            actor=user,
            action="access.client_token_revoked",
            entity=user.profile.entity_id if user.profile_id else None,
            obj=user,
        )


def client_token_obtain(*, brand: Any, email: str, password: str, entity_code: str = "") -> Token:
    """The API token of the client login with this e-mail and password that `brand` may
    open: in the brand's entity, or in `entity_code` for a client the brand onboarded there.

    Every failure raises the same LoginFailed, and an unknown address costs the same password
    hashing as a known one, so the answer tells nothing about who is a client where."""
    canonical = _email_canonical(email)
    user, code = _client_login_find(brand=brand, entity_code=entity_code, canonical=canonical)
    # Counted per entity and mailbox, so spelling variants of one address share the limit.
    key = _failures_key(code, canonical or email)
    if _failures(key) >= CLIENT_LOGIN_MAX_FAILURES:
        raise LoginThrottled()
    if user is None:
        User().set_password(password)  # the same work as a real check
        valid = False
    else:
        valid = (
            user.check_password(password)
            and user.is_active
            and user.profile is not None
            and user.profile.status != "closed"
        )
    if not valid or user is None:
        _failure_count(key)
        raise LoginFailed()
    _failures_clear(key)
    with transaction.atomic(durable=True):
        token = Token.objects.select_for_update().filter(user=user).first()
        if token is not None and token_expired(token):
            token.delete()  # a fresh key, with a fresh lifetime
            token = None
        if token is None:
            token = Token.objects.create(user=user)
        User.objects.filter(pk=user.pk).update(last_login=timezone.now())
        audit_record(
            actor=user,
            action="access.client_token_issued",
            entity=user.profile.entity_id,
            obj=user,
            after={"profile_id": user.profile_id},
        )
    return token
