"""Role x entity isolation in the admin back office."""

from __future__ import annotations

from django.test import Client

from audit.models import AuditEvent
from brokercrm.accounts.models import RoleGrant
from brokercrm.accounts.tests.factories import PASSWORD
from entities.models import Brand


def login(user) -> Client:
    client = Client()
    assert client.login(username=user.username, password=PASSWORD)
    return client


def test_changelist_shows_only_own_entity(world):
    page = login(world.eu_compliance).get("/admin/entities/brand/")
    assert page.status_code == 200
    assert b"eu-brand" in page.content
    assert b"uk-brand" not in page.content
    # Not even the other entity's name in the filter sidebar.
    assert world.uk.legal_name.encode() not in page.content


def test_foreign_object_url_is_404(world):
    client = login(world.eu_compliance)
    assert client.get(f"/admin/entities/brand/{world.uk_brand.pk}/change/").status_code == 404
    assert client.get(f"/admin/entities/legalentity/{world.uk.pk}/change/").status_code == 404
    assert client.get(f"/admin/entities/brand/{world.uk_brand.pk}/history/").status_code == 404
    assert client.get("/admin/entities/brand/999999/change/").status_code == 404
    assert client.get(f"/admin/entities/brand/{world.eu_brand.pk}/change/").status_code == 200


def test_view_only_user_cannot_post_changes(world):
    client = login(world.eu_compliance)
    page = client.get(f"/admin/entities/brand/{world.eu_brand.pk}/change/")
    assert b'name="_save"' not in page.content
    response = client.post(
        f"/admin/entities/brand/{world.eu_brand.pk}/change/",
        {
            "name": "Changed",
            "code": "eu-brand",
            "domain": "eu.example.com",
            "status": "active",
            "theme": "{}",
        },
    )
    assert response.status_code == 403
    assert Brand.objects.unscoped().get(pk=world.eu_brand.pk).name == world.eu_brand.name


def test_group_oversight_sees_every_entity_read_only(world):
    client = login(world.group_compliance)
    page = client.get("/admin/entities/brand/")
    assert b"eu-brand" in page.content
    assert b"uk-brand" in page.content
    change = client.get(f"/admin/entities/brand/{world.uk_brand.pk}/change/")
    assert change.status_code == 200
    assert b'name="_save"' not in change.content


def test_entity_admin_edits_own_brand_audited(world):
    client = login(world.eu_admin)
    response = client.post(
        f"/admin/entities/brand/{world.eu_brand.pk}/change/",
        {
            "name": "Atlas Edited",
            "code": "eu-brand",
            "domain": "eu.example.com",
            "support_email": "",
            "status": "active",
            "theme": "{}",
        },
    )
    assert response.status_code == 302, response.content[:2000]
    assert Brand.objects.unscoped().get(pk=world.eu_brand.pk).name == "Atlas Edited"
    event = AuditEvent.objects.get(action="entities.brand_updated")
    assert (event.actor, event.entity_id, event.after["name"]) == (
        world.eu_admin,
        world.eu.pk,
        "Atlas Edited",
    )


def test_entity_admin_cannot_create_in_a_foreign_entity(world):
    client = login(world.eu_admin)
    response = client.post(
        "/admin/entities/brand/add/",
        {
            "entity": world.uk.pk,
            "name": "Sneaky",
            "code": "sneaky",
            "domain": "sneaky.example.com",
            "status": "active",
            "theme": "{}",
        },
    )
    assert response.status_code == 200  # the form again, with the error
    assert b"Select a valid choice" in response.content
    assert not Brand.objects.unscoped().filter(code="sneaky").exists()


def test_grants_admin_is_scoped(world):
    page = login(world.eu_admin).get("/admin/accounts/rolegrant/")
    assert page.status_code == 200
    assert b"eu.compliance" in page.content
    assert b"uk.compliance" not in page.content
    assert b"group.compliance" not in page.content


def test_grant_and_revoke_through_the_admin(world):
    from brokercrm.accounts.models import Role
    from brokercrm.accounts.tests.factories import UserFactory

    newbie = UserFactory(username="newbie")
    client = login(world.eu_admin)
    response = client.post(
        "/admin/accounts/rolegrant/add/",
        {
            "user": newbie.pk,
            "role": Role.objects.get(code="finance").pk,
            "entity": world.eu.pk,
            "reason": "hire",
        },
    )
    assert response.status_code == 302, response.content[:3000]
    grant = RoleGrant.objects.get(user=newbie)
    assert grant.granted_by == world.eu_admin
    response = client.post(
        f"/admin/accounts/rolegrant/{grant.pk}/change/", {"revoke_reason": "left", "revoke": "on"}
    )
    assert response.status_code == 302
    grant.refresh_from_db()
    assert grant.revoked_at is not None
    assert grant.revoke_reason == "left"
    assert (
        AuditEvent.objects.filter(action="access.role_revoked", object_id=str(grant.pk)).count()
        == 1
    )


def test_service_refusal_is_shown_not_a_server_error(world):
    from brokercrm.accounts.models import Role
    from brokercrm.accounts.tests.factories import UserFactory

    newbie = UserFactory(username="newbie2")
    response = login(world.superuser).post(
        "/admin/accounts/rolegrant/add/",
        {
            "user": newbie.pk,
            "role": Role.objects.get(code="finance").pk,
            "group_wide": "on",
            "reason": "x",
        },
        follow=True,
    )
    assert response.status_code == 200
    assert b"role_not_group_wide" in response.content or b"only oversight roles" in response.content
    assert not RoleGrant.objects.filter(user=newbie).exists()


def test_audit_admin_is_scoped_and_read_only(world):
    client = login(world.eu_compliance)
    page = client.get("/admin/audit/auditevent/")
    assert page.status_code == 200
    uk_event = AuditEvent.objects.filter(entity=world.uk).first()
    assert client.get(f"/admin/audit/auditevent/{uk_event.pk}/change/").status_code == 404
    eu_event = AuditEvent.objects.filter(entity=world.eu).first()
    assert client.get(f"/admin/audit/auditevent/{eu_event.pk}/change/").status_code == 200
    assert client.post(f"/admin/audit/auditevent/{eu_event.pk}/delete/").status_code == 403


def test_anonymous_is_sent_to_login(world):
    response = Client().get("/admin/entities/brand/")
    assert response.status_code == 302
    assert response["Location"].startswith("/admin/login/")


def test_entity_admin_edit_goes_through_the_service_and_refusals_are_shown(world):
    from entities.models import LegalEntity

    client = login(world.eu_admin)
    url = f"/admin/entities/legalentity/{world.eu.pk}/change/"
    form = {
        "legal_name": "EU Markets Ltd (renamed)",
        "regulator": "CySEC",
        "licence_number": "CIF 1/1",
        "wallet_currencies": "EUR,USD,GBP",
        "status": "active",
    }
    assert client.post(url, form).status_code == 302
    entity = LegalEntity.objects.get(pk=world.eu.pk)
    assert (entity.legal_name, entity.wallet_currencies) == (
        "EU Markets Ltd (renamed)",
        ["EUR", "GBP", "USD"],
    )
    assert AuditEvent.objects.filter(action="entities.entity_updated", entity=world.eu).count() == 1
    # Dropping the base currency from the wallets is refused with a message, not a crash.
    refused = client.post(url, {**form, "wallet_currencies": "USD"}, follow=True)
    assert refused.status_code == 200
    assert b"base_currency_not_in_wallets" in refused.content
    assert LegalEntity.objects.get(pk=world.eu.pk).wallet_currencies == ["EUR", "GBP", "USD"]
    # Another entity's settings are not there at all.
    assert (
        client.post(f"/admin/entities/legalentity/{world.uk.pk}/change/", form).status_code == 404
    )


def test_brand_created_in_admin_is_audited_by_the_service(world):
    client = login(world.eu_admin)
    response = client.post(
        "/admin/entities/brand/add/",
        {
            "entity": world.eu.pk,
            "name": "Fresh",
            "code": "fresh",
            "domain": "Fresh.Example.com",
            "status": "active",
            "theme": "{}",
        },
    )
    assert response.status_code == 302, response.content[:2000]
    brand = Brand.objects.unscoped().get(code="fresh")
    assert brand.domain == "fresh.example.com"
    assert AuditEvent.objects.get(action="entities.brand_created").object_id == str(brand.pk)
