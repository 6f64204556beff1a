from __future__ import annotations

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError
from guardian.models import UserObjectPermission

from audit.models import AuditEvent
from brokercrm.accounts.models import Role, RoleGrant
from brokercrm.accounts.services import role_get, role_grant, role_revoke
from brokercrm.errors import Conflict, PermissionDenied, ValidationFailed
from brokercrm.gate import SYSTEM
from brokercrm.scoping import scope_for

from .factories import UserFactory


def test_roles_are_synced_from_definitions(db):
    codes = set(Role.objects.values_list("code", flat=True))
    assert codes == {
        "sales",
        "retention",
        "compliance",
        "finance",
        "support",
        "ib_manager",
        "entity_admin",
        "group_compliance",
        "group_risk",
    }
    oversight_codenames = Role.objects.get(code="group_compliance").permissions.values_list(
        "codename", flat=True
    )
    assert oversight_codenames
    # View permissions, plus only the listed oversight actions.
    actions = {c for c in oversight_codenames if not c.startswith("view_")}
    assert actions == {"review_duplicatecase", "merge_person", "approve_kycfile"}


def test_grant_is_stored_as_guardian_permissions_on_the_entity_and_audited(world):
    user = UserFactory()
    grant = role_grant(
        actor=world.eu_admin,
        user=user,
        role=role_get("finance"),
        entity=world.eu,
        reason="new hire",
    )
    rows = UserObjectPermission.objects.filter(user=user)
    assert rows.count() == role_get("finance").permissions.count()
    assert {row.object_pk for row in rows} == {str(world.eu.pk)}
    assert {row.content_type.model for row in rows} == {"legalentity"}
    event = AuditEvent.objects.get(action="access.role_granted", object_id=str(grant.pk))
    assert event.actor == world.eu_admin
    assert event.entity_id == world.eu.pk
    assert event.after == {
        "user": user.username,
        "role": "finance",
        "entity_id": world.eu.pk,
        "desk_id": None,
        "group_wide": False,
    }
    assert event.reason == "new hire"
    assert scope_for(user, "entities.view_brand").entity_ids == {world.eu.pk}


def test_revoke_removes_permissions_and_keeps_the_history(world):
    grant = RoleGrant.objects.get(user=world.eu_compliance, role__code="compliance")
    role_revoke(actor=world.eu_admin, grant=grant, reason="left the company")
    assert UserObjectPermission.objects.filter(user=world.eu_compliance).count() == 0
    world.eu_compliance.__dict__.pop("_brokercrm_scope_cache", None)
    assert scope_for(world.eu_compliance, "entities.view_brand").is_empty
    grant.refresh_from_db()
    assert grant.revoked_by == world.eu_admin
    assert (
        AuditEvent.objects.filter(action="access.role_revoked", object_id=str(grant.pk)).count()
        == 1
    )
    with pytest.raises(Conflict):
        role_revoke(actor=world.eu_admin, grant=grant, reason="again")


def test_overlapping_grants_revoke_only_what_is_no_longer_granted(world):
    user = UserFactory()
    compliance = role_grant(actor=SYSTEM, user=user, role=role_get("compliance"), entity=world.eu)
    role_grant(actor=SYSTEM, user=user, role=role_get("support"), entity=world.eu)
    role_revoke(actor=SYSTEM, grant=compliance)
    user.__dict__.pop("_brokercrm_scope_cache", None)
    # support still views brands in EU; compliance-only permissions are gone.
    assert scope_for(user, "entities.view_brand").entity_ids == {world.eu.pk}
    assert scope_for(user, "audit.view_auditevent").is_empty


def test_entity_admin_cannot_grant_in_another_entity(world):
    user = UserFactory()
    before = RoleGrant.objects.count()
    with pytest.raises(PermissionDenied):
        role_grant(actor=world.eu_admin, user=user, role=role_get("finance"), entity=world.uk)
    with pytest.raises(PermissionDenied):
        role_grant(actor=world.eu_compliance, user=user, role=role_get("finance"), entity=world.eu)
    assert RoleGrant.objects.count() == before
    assert UserObjectPermission.objects.filter(user=user).count() == 0


def test_scope_rules_of_grants(world):
    user = UserFactory()
    with pytest.raises(ValidationFailed) as exc:
        role_grant(actor=SYSTEM, user=user, role=role_get("finance"), group_wide=True)
    assert exc.value.code == "role_not_group_wide"
    with pytest.raises(ValidationFailed) as exc:
        role_grant(actor=SYSTEM, user=user, role=role_get("group_compliance"), entity=world.eu)
    assert exc.value.code == "role_group_wide_only"
    with pytest.raises(ValidationFailed) as exc:
        role_grant(actor=SYSTEM, user=user, role=role_get("finance"))
    assert exc.value.code == "grant_scope_invalid"
    with pytest.raises(ValidationFailed) as exc:
        role_grant(
            actor=SYSTEM, user=user, role=role_get("sales"), entity=world.uk, desk=world.eu_desk
        )
    assert exc.value.code == "desk_entity_mismatch"
    with pytest.raises(PermissionDenied):
        role_grant(actor=world.eu_admin, user=user, role=role_get("group_risk"), group_wide=True)
    assert RoleGrant.objects.filter(user=user).count() == 0


def test_duplicate_active_grant_is_a_conflict(world):
    with pytest.raises(Conflict):
        role_grant(
            actor=SYSTEM, user=world.eu_compliance, role=role_get("compliance"), entity=world.eu
        )


def test_new_entity_extends_group_wide_grants(world):
    from entities.services import entity_create

    new = entity_create(
        actor=SYSTEM,
        code="SC",
        legal_name="Offshore Ltd",
        regulator="FSA",
        licence_number="SD1",
        jurisdiction="SC",
        base_currency="USD",
        wallet_currencies=["USD"],
    )
    world.group_compliance.__dict__.pop("_brokercrm_scope_cache", None)
    assert new.pk in scope_for(world.group_compliance, "entities.view_brand").entity_ids
    assert new.pk not in scope_for(world.eu_compliance, "entities.view_brand").entity_ids


def test_grant_and_revoke_commands(world, capsys):
    UserFactory(username="newbie")
    call_command("grant_role", "newbie", "finance", entity="uk", reason="onboarding")
    assert "granted" in capsys.readouterr().out
    grant = RoleGrant.objects.get(user__username="newbie", revoked_at__isnull=True)
    assert grant.entity == world.uk
    assert grant.reason == "onboarding (manage.py grant_role)"
    call_command("grant_role", "newbie", "sales", desk="EU/dach", reason="desk cover")
    call_command("list_grants", "newbie")
    listing = capsys.readouterr().out
    assert "finance" in listing
    assert "EU/dach" in listing
    call_command("grant_role", "newbie", "finance", entity="EU", reason="second")
    with pytest.raises(CommandError, match="Several grants match"):
        call_command("revoke_role", "newbie", "finance", reason="x")
    call_command("revoke_role", "newbie", "finance", entity="UK", reason="moved")
    assert RoleGrant.objects.filter(user__username="newbie", revoked_at__isnull=True).count() == 2
    with pytest.raises(CommandError, match="role_unknown"):
        call_command("grant_role", "newbie", "astronaut", entity="EU", reason="x")
    with pytest.raises(CommandError, match="No user"):
        call_command("grant_role", "ghost", "finance", entity="EU", reason="x")
