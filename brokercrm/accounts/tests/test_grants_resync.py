"""Grants follow their roles after an upgrade: a permission the code adds to a role reaches
the staff who already hold it."""

from __future__ import annotations

from guardian.models import UserObjectPermission

from brokercrm.accounts.services import grants_resync
from brokercrm.scoping import forget_scopes, scope_for


def test_a_permission_lost_from_existing_grants_comes_back_on_resync(world):
    officer = world.eu_compliance
    perm = "identity.view_profilenotice"
    assert scope_for(officer, perm).allows_entity(world.eu.pk)
    # As a database migrated before the model existed would be: the grant lacks the mirror.
    UserObjectPermission.objects.filter(user=officer, permission__codename=perm).delete()
    forget_scopes(officer)
    assert not scope_for(officer, perm).allows_entity(world.eu.pk)

    assert grants_resync() >= 1
    forget_scopes(officer)
    assert scope_for(officer, perm).allows_entity(world.eu.pk)
    assert not scope_for(officer, perm).allows_entity(world.uk.pk)
