from __future__ import annotations

import pytest

from brokercrm.errors import ScopeRequired
from brokercrm.scoping import scope_for, system_access
from entities.models import Brand, Desk


def test_entity_owned_query_without_scope_is_refused(world):
    with pytest.raises(ScopeRequired):
        list(Brand.objects.all())
    with pytest.raises(ScopeRequired):
        Brand.objects.count()
    with pytest.raises(ScopeRequired):
        Brand.objects.filter(code="eu-brand").exists()
    with pytest.raises(ScopeRequired):
        Brand.objects.update(name="x")
    with pytest.raises(ScopeRequired):
        Brand.objects.filter(code="eu-brand").delete()
    assert sorted(Brand.objects.unscoped().values_list("code", flat=True)) == [
        "eu-brand",
        "uk-brand",
    ]


def test_scope_survives_chaining(world):
    scoped = Brand.objects.visible_to(world.eu_compliance, "entities.view_brand")
    assert list(scoped.filter(status="active").order_by("code").values_list("code", flat=True)) == [
        "eu-brand"
    ]
    assert scoped.count() == 1


def test_system_access_lets_framework_code_run_unscoped(world):
    with system_access("test"):
        assert Brand.objects.count() == 2
    with pytest.raises(ScopeRequired):
        Brand.objects.count()


def test_entity_grant_covers_exactly_that_entity(world):
    scope = scope_for(world.eu_compliance, "entities.view_brand")
    assert scope.entity_ids == {world.eu.pk}
    assert scope.desk_ids == frozenset()
    assert scope.group_wide is False
    assert scope.contains(world.eu_brand) is True
    assert scope.contains(world.uk_brand) is False


def test_permission_outside_the_role_is_empty(world):
    # Support holds no rule-set permission at all.
    assert scope_for(world.eu_support, "entities.add_ruleset").is_empty
    assert scope_for(world.eu_compliance, "entities.add_ruleset").is_empty


def test_group_oversight_views_everything_and_edits_nothing(world):
    view = scope_for(world.group_compliance, "entities.view_brand")
    assert view.entity_ids == {world.eu.pk, world.uk.pk}
    assert view.group_wide is True
    assert scope_for(world.group_compliance, "entities.change_brand").is_empty
    assert scope_for(world.group_compliance, "entities.add_ruleset").is_empty


def test_desk_grant_sees_only_its_desk_rows(world):
    scope = scope_for(world.eu_desk_sales, "entities.view_desk")
    assert scope.entity_ids == frozenset()
    assert scope.desk_ids == {world.eu_desk.pk}
    assert scope.any_entity_ids == {world.eu.pk}
    # Desk rows themselves are not desk-attributed rows (no scope_desk_field), so nothing shows;
    # a desk grant never widens to the whole entity.
    assert list(Desk.objects.visible_to(world.eu_desk_sales, "entities.view_desk")) == []


def test_anonymous_and_inactive_users_have_no_scope(world, django_user_model):
    from django.contrib.auth.models import AnonymousUser

    assert scope_for(AnonymousUser(), "entities.view_brand").is_empty
    world.eu_compliance.is_active = False
    world.eu_compliance.save(update_fields=["is_active"])
    world.eu_compliance.__dict__.pop("_brokercrm_scope_cache", None)
    assert scope_for(world.eu_compliance, "entities.view_brand").is_empty


def test_superuser_scope_is_everything(world):
    scope = scope_for(world.superuser, "entities.change_brand")
    assert scope.everything is True
    assert Brand.objects.visible_to(world.superuser, "entities.change_brand").count() == 2
