"""Entity scoping: the one place that decides which rows a user may see or change.

- `EntityOwned` is the abstract base of every model whose rows belong to one legal entity.
  Its default manager refuses to evaluate a query that was not scoped first: call
  `.visible_to(user, perm)`, `.in_entity(entity)` or, for system jobs, migrations and tests,
  the loudly named `.unscoped()`.
- `scope_for(user, perm)` answers "in which entities (and desks) may this user do `perm`".
  API views, the admin, selectors, exports and jobs all go through it; none writes its own
  filter. Grants live as django-guardian object permissions on LegalEntity and Desk rows
  (see `brokercrm.accounts`), so one grant covers every row the entity owns.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, ClassVar, Self

from django.apps import apps
from django.conf import settings
from django.db import models
from django.db.models import Q

from .errors import ScopeRequired

if TYPE_CHECKING:
    from django.contrib.auth.models import AbstractBaseUser, AnonymousUser

_system_access: ContextVar[str | None] = ContextVar("brokercrm_system_access", default=None)


@contextmanager
def system_access(reason: str) -> Iterator[None]:
    """Let code that acts for the system (not for a user) query entity-owned tables unscoped.

    Prefer `.unscoped()` on the queryset; this exists for framework paths that build their
    own querysets, such as Django's unique-constraint validation.
    """
    token = _system_access.set(reason)
    try:
        yield
    finally:
        _system_access.reset(token)


@dataclass(frozen=True)
class Scope:
    """Where one user may do one permission."""

    perm: str
    entity_ids: frozenset[int] = frozenset()
    # Desk-level grants: rows of these desks only, not the whole entity.
    desk_ids: frozenset[int] = frozenset()
    # Rows that concern no entity (group-level audit events, for example).
    group_wide: bool = False
    everything: bool = False
    desk_entity_ids: frozenset[int] = field(default=frozenset())

    @property
    def is_empty(self) -> bool:
        return not (self.everything or self.entity_ids or self.desk_ids or self.group_wide)

    @property
    def any_entity_ids(self) -> frozenset[int]:
        """Entities in which the user may do `perm` at least on part of the rows."""
        return self.entity_ids | self.desk_entity_ids

    def allows_entity(self, entity_id: int | None) -> bool:
        """May the user do `perm` on any row of this entity (whole-entity grant)?"""
        if self.everything:
            return True
        if entity_id is None:
            return self.group_wide
        return entity_id in self.entity_ids

    def q(self, model: type[models.Model]) -> Q:
        if self.everything:
            return Q()
        entity_field = getattr(model, "scope_entity_field", "entity")
        condition = (
            Q(**{f"{entity_field}__in": self.entity_ids}) if self.entity_ids else Q(pk__in=[])
        )
        desk_field = getattr(model, "scope_desk_field", None)
        if desk_field and self.desk_ids:
            condition |= Q(**{f"{desk_field}__in": self.desk_ids})
        if self.group_wide and getattr(model, "scope_entity_nullable", False):
            condition |= Q(**{f"{entity_field}__isnull": True})
        return condition

    def contains(self, obj: models.Model) -> bool:
        if self.everything:
            return True
        model = type(obj)
        entity_field = getattr(model, "scope_entity_field", "entity")
        entity_id = obj.pk if entity_field == "id" else _resolve_attr(obj, entity_field + "_id")
        if entity_id is None:
            return self.group_wide and getattr(model, "scope_entity_nullable", False)
        if entity_id in self.entity_ids:
            return True
        desk_field = getattr(model, "scope_desk_field", None)
        if desk_field and self.desk_ids:
            return _resolve_attr(obj, desk_field + "_id") in self.desk_ids
        return False


def _resolve_attr(obj: Any, path: str) -> Any:
    for part in path.split("__"):
        if obj is None:
            return None
        obj = getattr(obj, part)
    return obj


EMPTY_SCOPE_CACHE_ATTR = "_brokercrm_scope_cache"


def scope_for(user: AbstractBaseUser | AnonymousUser | None, perm: str) -> Scope:
    """In which entities (and desks) may `user` do `perm` ("app_label.codename")?

    Superusers may do everything. Inactive and anonymous users may do nothing. Group-wide
    grants exist only for oversight roles, which hold view permissions; so "view across
    entities, edit nothing" follows from the grants themselves.
    """
    if user is None or not user.is_authenticated or not user.is_active:
        return Scope(perm=perm)
    if not isinstance(user, apps.get_model(settings.AUTH_USER_MODEL)):
        # API principals that are not users (a brand's registration key) hold no grants.
        return Scope(perm=perm)
    cache: dict[str, Scope] = user.__dict__.setdefault(EMPTY_SCOPE_CACHE_ATTR, {})
    if perm in cache:
        return cache[perm]
    if user.is_superuser:
        scope = Scope(perm=perm, everything=True, group_wide=True)
    else:
        scope = _compute_scope(user, perm)
    cache[perm] = scope
    return scope


def forget_scopes(user: Any) -> None:
    """Drop the per-user cache after grants change."""
    user.__dict__.pop(EMPTY_SCOPE_CACHE_ATTR, None)
    user.__dict__.pop(GRANTS_CACHE_ATTR, None)


@dataclass(frozen=True)
class _Grants:
    """Everything a user's grants say, read once per user object: the entities and desks of
    each permission, which desk lies in which entity, and the group-wide permissions."""

    entities: dict[str, set[int]]
    desks: dict[str, set[int]]
    desk_entity: dict[int, int]
    group_wide: frozenset[str]


GRANTS_CACHE_ATTR = "_brokercrm_grants"


def _grants_of(user: Any) -> _Grants:
    cached = user.__dict__.get(GRANTS_CACHE_ATTR)
    if cached is not None:
        return cached
    from django.contrib.contenttypes.models import ContentType
    from guardian.models import UserObjectPermission

    legal_entity = apps.get_model("entities", "LegalEntity")
    desk_model = apps.get_model("entities", "Desk")
    role_grant = apps.get_model("accounts", "RoleGrant")
    entity_ct = ContentType.objects.get_for_model(legal_entity)
    desk_ct = ContentType.objects.get_for_model(desk_model)

    entities: dict[str, set[int]] = {}
    desks: dict[str, set[int]] = {}
    # The grants' permissions are mirrors on LegalEntity and Desk named "app_label.codename".
    rows = UserObjectPermission.objects.filter(
        user_id=user.pk, content_type__in=[entity_ct, desk_ct]
    ).values_list("permission__codename", "content_type_id", "object_pk")
    for codename, content_type_id, object_pk in rows:
        target = entities if content_type_id == entity_ct.pk else desks
        target.setdefault(codename, set()).add(int(object_pk))
    all_desks = set().union(*desks.values()) if desks else set()
    desk_entity = dict(
        desk_model.objects.unscoped().filter(pk__in=all_desks).values_list("pk", "entity_id")
        if all_desks
        else []
    )
    group_wide = frozenset(
        f"{app_label}.{codename}"
        for app_label, codename in role_grant.objects.filter(
            user_id=user.pk, group_wide=True, revoked_at__isnull=True
        ).values_list("role__permissions__content_type__app_label", "role__permissions__codename")
        if codename
    )
    grants = _Grants(entities, desks, desk_entity, group_wide)
    user.__dict__[GRANTS_CACHE_ATTR] = grants
    return grants


def _compute_scope(user: Any, perm: str) -> Scope:
    grants = _grants_of(user)
    entity_ids = grants.entities.get(perm, set())
    granted_desks = grants.desks.get(perm, set())
    desk_entity_ids = {
        grants.desk_entity[desk] for desk in granted_desks if desk in grants.desk_entity
    }
    # A whole-entity grant already covers that entity's desks.
    desk_ids = {
        desk
        for desk in granted_desks
        if desk in grants.desk_entity and grants.desk_entity[desk] not in entity_ids
    }
    return Scope(
        perm=perm,
        entity_ids=frozenset(entity_ids),
        desk_ids=frozenset(desk_ids),
        group_wide=perm in grants.group_wide,
        desk_entity_ids=frozenset(desk_entity_ids) - frozenset(entity_ids),
    )


class EntityOwnedQuerySet(models.QuerySet):
    """A queryset that will not run until someone has said whose rows it may return."""

    _scoped: bool = False

    def _clone(self) -> Self:
        clone = super()._clone()
        clone._scoped = self._scoped
        return clone

    def _mark_scoped(self) -> Self:
        clone = self._chain()
        clone._scoped = True
        return clone

    def _guard(self) -> None:
        if not self._scoped and _system_access.get() is None:
            raise ScopeRequired(
                f"{self.model._meta.label} was queried without a scope: use "
                ".visible_to(user, perm), .in_entity(entity) or, for system jobs, .unscoped()"
            )

    # --- the ways to say whose rows these are ------------------------------------------
    def visible_to(self, user: Any, perm: str) -> Self:
        return self.within(scope_for(user, perm))

    def within(self, scope: Scope) -> Self:
        return self.filter(scope.q(self.model))._mark_scoped()

    def in_entity(self, entity: Any) -> Self:
        entity_id = entity if isinstance(entity, int) else entity.pk
        field_name = getattr(self.model, "scope_entity_field", "entity")
        return self.filter(**{f"{field_name}_id": entity_id})._mark_scoped()

    def in_entities(self, entity_ids: Iterable[int]) -> Self:
        field_name = getattr(self.model, "scope_entity_field", "entity")
        return self.filter(**{f"{field_name}_id__in": list(entity_ids)})._mark_scoped()

    def unscoped(self) -> Self:
        """Every entity's rows. For migrations, jobs acting for the system, and tests."""
        return self._mark_scoped()

    # --- every way a queryset reaches the database --------------------------------------
    def _fetch_all(self) -> None:
        if self._result_cache is None:
            self._guard()
        super()._fetch_all()

    def iterator(self, *args: Any, **kwargs: Any) -> Any:
        self._guard()
        return super().iterator(*args, **kwargs)

    def count(self) -> int:
        self._guard()
        return super().count()

    def exists(self) -> bool:
        self._guard()
        return super().exists()

    def contains(self, obj: models.Model) -> bool:
        self._guard()
        return super().contains(obj)

    def aggregate(self, *args: Any, **kwargs: Any) -> dict[str, Any]:
        self._guard()
        return super().aggregate(*args, **kwargs)

    def update(self, **kwargs: Any) -> int:
        self._guard()
        return super().update(**kwargs)

    def _update(self, values: Any) -> Any:
        self._guard()
        return super()._update(values)

    def delete(self) -> tuple[int, dict[str, int]]:
        self._guard()
        return super().delete()

    def in_bulk(self, *args: Any, **kwargs: Any) -> dict[Any, Any]:
        self._guard()
        return super().in_bulk(*args, **kwargs)

    def explain(self, *args: Any, **kwargs: Any) -> str:
        self._guard()
        return super().explain(*args, **kwargs)


class EntityOwnedManager(models.Manager.from_queryset(EntityOwnedQuerySet)):  # type: ignore[misc]
    pass


class EntityOwned(models.Model):
    """Base of every model whose rows belong to exactly one legal entity."""

    entity = models.ForeignKey(
        "entities.LegalEntity",
        on_delete=models.PROTECT,
        related_name="+",
        db_index=True,
    )

    objects = EntityOwnedManager()

    # Path (Django lookup syntax) to a Desk FK, for models whose rows a desk grant covers.
    scope_desk_field: ClassVar[str | None] = None
    scope_entity_field: ClassVar[str] = "entity"
    scope_entity_nullable: ClassVar[bool] = False

    class Meta:
        abstract = True

    # Django validates unique constraints through the default manager; that check is a
    # group-wide fact (the database constraint is group-wide), so it runs unscoped.
    def validate_unique(self, exclude: Any = None) -> None:
        with system_access("unique validation"):
            super().validate_unique(exclude=exclude)

    def validate_constraints(self, exclude: Any = None) -> None:
        with system_access("constraint validation"):
            super().validate_constraints(exclude=exclude)
