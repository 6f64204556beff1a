from __future__ import annotations

from django.test import Client

from brokercrm.accounts.tests.factories import PASSWORD
from identity.models import DuplicateCase

from .factories import register


def login(user) -> Client:
    client = Client()
    assert client.login(username=user.username, password=PASSWORD)
    return client


def test_profiles_admin_is_scoped(world):
    eu = register(world.eu_brand)
    uk = register(
        world.uk_brand,
        residence_country="GB",
        email="gb@example.com",
        phone="+44 7911 123456",
        given_name="John",
        family_name="Smith",
        birth_date="1977-03-03",
        document=None,
    )
    client = login(world.eu_compliance)
    page = client.get("/admin/identity/clientprofile/")
    assert page.status_code == 200
    assert b"ivan.petrov@example.com" in page.content
    assert b"gb@example.com" not in page.content
    assert client.get(f"/admin/identity/clientprofile/{uk.profile.pk}/change/").status_code == 404
    assert client.get(f"/admin/identity/clientprofile/{eu.profile.pk}/change/").status_code == 200
    # Persons are visible where they are clients.
    assert client.get(f"/admin/identity/person/{uk.person.pk}/change/").status_code == 404
    assert client.get(f"/admin/identity/person/{eu.person.pk}/change/").status_code == 200


def test_document_numbers_are_masked_in_the_admin(world):
    register(world.eu_brand)
    page = login(world.eu_compliance).get("/admin/identity/identitydocument/")
    assert b"C01X00T47" not in page.content
    assert "••••••T47".encode() in page.content


def test_review_queue_action_in_the_admin(world):
    register(world.uk_brand, residence_country="GB", birth_date="1985-07-04", document=None)
    register(world.eu_brand, birth_date="1985-04-07", document=None)
    case = DuplicateCase.objects.unscoped().get()
    client = login(world.eu_compliance)
    assert b"decide_distinct" in client.get("/admin/identity/duplicatecase/").content
    response = client.post(
        "/admin/identity/duplicatecase/",
        {"action": "decide_distinct", "_selected_action": [case.pk]},
        follow=True,
    )
    assert response.status_code == 200
    case.refresh_from_db()
    assert (case.status, case.decided_by) == ("distinct", world.eu_compliance)
    # Support sees no queue at all.
    assert login(world.eu_support).get("/admin/identity/duplicatecase/").status_code == 403


def test_staff_see_a_clients_sessions_and_end_them_from_the_profile(world):
    from audit.models import AuditEvent
    from brokercrm.accounts.models import ClientToken
    from brokercrm.accounts.tests.factories import client_login

    from .factories import signed_in

    profile = register(world.eu_brand).profile
    login_user = client_login(profile)
    phone, laptop = signed_in(profile), signed_in(profile)
    assert phone.get("/api/v1/me").status_code == 200
    admin_client = login(world.eu_support)
    page = admin_client.get(f"/admin/identity/clientprofile/{profile.pk}/change/")
    assert b"Signed-in sessions" in page.content
    assert b"2, the latest since" in page.content
    # Another entity's administrator neither sees the profile nor ends its sessions.
    uk = login(world.uk_compliance)
    assert uk.get(f"/admin/identity/clientprofile/{profile.pk}/change/").status_code == 404
    uk.post(
        "/admin/identity/clientprofile/",
        {"action": "end_client_sessions", "_selected_action": [profile.pk]},
    )
    assert ClientToken.objects.filter(user=login_user).count() == 2
    listing = admin_client.get("/admin/identity/clientprofile/")
    assert b"end_client_sessions" in listing.content
    done = admin_client.post(
        "/admin/identity/clientprofile/",
        {"action": "end_client_sessions", "_selected_action": [profile.pk]},
        follow=True,
    )
    assert b"2 session(s) ended" in done.content
    assert phone.get("/api/v1/me").status_code == 401
    assert laptop.get("/api/v1/me").status_code == 401
    event = AuditEvent.objects.get(action="access.client_sessions_ended")
    assert (event.actor_id, event.after["sessions_ended"]) == (world.eu_support.pk, 2)
    page = admin_client.get(f"/admin/identity/clientprofile/{profile.pk}/change/")
    assert b"Signed-in sessions" in page.content
    assert b"none" in page.content


def test_ending_sessions_needs_a_reason_and_a_login(world):
    import pytest

    from brokercrm.errors import ApplicationError
    from identity.logins import client_sessions_end

    profile = register(world.eu_brand).profile
    with pytest.raises(ApplicationError) as no_login:
        client_sessions_end(actor=world.eu_support, profile=profile, reason="lost phone")
    assert no_login.value.code == "login_not_found"
    with pytest.raises(ApplicationError) as no_reason:
        client_sessions_end(actor=world.eu_support, profile=profile, reason="  ")
    assert no_reason.value.code == "reason_required"
    with pytest.raises(ApplicationError) as refused:
        client_sessions_end(actor=world.uk_compliance, profile=profile, reason="lost phone")
    assert refused.value.code in ("permission_denied", "not_found", "forbidden")
