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
