"""Role x entity isolation through the API, persona by persona (DESIGN.md section 9)."""

from __future__ import annotations

import pytest
from rest_framework.test import APIClient

from audit.models import AuditEvent
from entities.models import Brand, RuleSet

ONBOARDING = {"allowed_countries": ["DE"], "restricted_countries": ["US"]}


def client_for(user=None) -> APIClient:
    client = APIClient()
    if user is not None:
        client.force_authenticate(user)
    return client


def brand_codes(response) -> list[str]:
    assert response.status_code == 200, response.content
    return sorted(row["code"] for row in response.json()["results"])


def test_list_shows_only_the_users_entities(world):
    assert brand_codes(client_for(world.eu_compliance).get("/api/v1/brands")) == ["eu-brand"]
    assert brand_codes(client_for(world.uk_compliance).get("/api/v1/brands")) == ["uk-brand"]
    assert brand_codes(client_for(world.group_compliance).get("/api/v1/brands")) == [
        "eu-brand",
        "uk-brand",
    ]
    assert brand_codes(client_for(world.superuser).get("/api/v1/brands")) == [
        "eu-brand",
        "uk-brand",
    ]
    entities = client_for(world.eu_compliance).get("/api/v1/entities").json()["results"]
    assert [row["code"] for row in entities] == ["EU"]


def test_foreign_entity_objects_answer_404_not_403(world):
    eu_client = client_for(world.eu_compliance)
    for url in (
        f"/api/v1/brands/{world.uk_brand.pk}",
        f"/api/v1/entities/{world.uk.pk}",
        f"/api/v1/rule-sets/{world.uk_onboarding.pk}",
    ):
        response = eu_client.get(url)
        assert response.status_code == 404, url
        assert response.json() == {"code": "not_found", "detail": "Not found."}
    assert eu_client.get(f"/api/v1/brands/{world.eu_brand.pk}").json()["code"] == "eu-brand"


def test_foreign_object_is_404_for_writes_too_and_unchanged(world):
    response = client_for(world.eu_admin).patch(
        f"/api/v1/brands/{world.uk_brand.pk}", {"name": "Hijacked"}, format="json"
    )
    assert response.status_code == 404
    assert Brand.objects.unscoped().get(pk=world.uk_brand.pk).name == world.uk_brand.name


def test_staff_with_the_permission_may_change_and_it_is_audited(world):
    response = client_for(world.eu_admin).patch(
        f"/api/v1/brands/{world.eu_brand.pk}",
        {"name": "Atlas Prime", "reason": "rebrand"},
        format="json",
        HTTP_X_REQUEST_ID="rebrand-request-0001",
        REMOTE_ADDR="198.51.100.20",
    )
    assert response.status_code == 200, response.content
    assert response.json()["name"] == "Atlas Prime"
    assert response["X-Request-ID"] == "rebrand-request-0001"
    event = AuditEvent.objects.get(action="entities.brand_updated")
    assert (event.actor, event.entity_id, event.reason) == (world.eu_admin, world.eu.pk, "rebrand")
    assert (event.before["name"], event.after["name"]) == (world.eu_brand.name, "Atlas Prime")
    assert (event.request_id, event.ip) == ("rebrand-request-0001", "198.51.100.20")


def test_staff_without_the_permission_is_refused_and_nothing_changes(world):
    events = AuditEvent.objects.count()
    response = client_for(world.eu_support).patch(
        f"/api/v1/brands/{world.eu_brand.pk}", {"name": "Nope"}, format="json"
    )
    assert response.status_code == 403
    assert response.json()["code"] == "permission_denied"
    assert Brand.objects.unscoped().get(pk=world.eu_brand.pk).name == world.eu_brand.name
    assert AuditEvent.objects.count() == events


def test_group_oversight_reads_everything_and_writes_nothing(world):
    oversight = client_for(world.group_compliance)
    assert oversight.get(f"/api/v1/brands/{world.uk_brand.pk}").status_code == 200
    patch = oversight.patch(f"/api/v1/brands/{world.uk_brand.pk}", {"name": "x"}, format="json")
    assert patch.status_code == 403
    publish = oversight.post(
        "/api/v1/rule-sets",
        {"entity": world.uk.pk, "kind": "onboarding", "document": ONBOARDING},
        format="json",
    )
    assert publish.status_code == 403
    assert RuleSet.objects.unscoped().count() == 2


def test_publish_rules_in_own_entity_only(world):
    admin = client_for(world.eu_admin)
    ok = admin.post(
        "/api/v1/rule-sets",
        {"entity": world.eu.pk, "kind": "onboarding", "document": ONBOARDING},
        format="json",
    )
    assert ok.status_code == 201, ok.content
    assert ok.json()["reference"] == "EU/onboarding/*/v2"
    foreign = admin.post(
        "/api/v1/rule-sets",
        {"entity": world.uk.pk, "kind": "onboarding", "document": ONBOARDING},
        format="json",
    )
    # The UK entity is not visible to an EU admin: it reads as an unknown id.
    assert foreign.status_code == 400
    assert foreign.json()["code"] == "invalid"
    assert "entity" in foreign.json()["errors"]
    assert RuleSet.objects.unscoped().filter(entity=world.uk).count() == 1


def test_desk_grant_sees_no_entity_wide_configuration(world):
    assert brand_codes(client_for(world.eu_desk_sales).get("/api/v1/brands")) == []
    assert (
        client_for(world.eu_desk_sales).get(f"/api/v1/brands/{world.eu_brand.pk}").status_code
        == 404
    )


def test_anonymous_gets_401(world):
    response = client_for().get("/api/v1/brands")
    assert response.status_code == 401
    assert response.json()["code"] == "not_authenticated"
    assert response["WWW-Authenticate"] == "Token"


def test_token_authentication(world):
    from rest_framework.authtoken.models import Token

    token = Token.objects.create(user=world.uk_compliance)
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Token {token.key}")
    assert brand_codes(client.get("/api/v1/brands")) == ["uk-brand"]


def test_audit_events_are_scoped_by_entity(world):
    eu_events = client_for(world.eu_compliance).get("/api/v1/audit-events?page_size=500").json()
    assert eu_events["count"] > 0
    assert {row["entity"] for row in eu_events["results"]} == {world.eu.pk}
    all_events = client_for(world.group_compliance).get("/api/v1/audit-events?page_size=500").json()
    assert all_events["count"] == AuditEvent.objects.count()
    # Support holds no audit permission.
    assert client_for(world.eu_support).get("/api/v1/audit-events").json()["count"] == 0


def test_routing_resolve_endpoint(world):
    client = client_for(world.eu_compliance)
    ok = client.get("/api/v1/country-routes/resolve", {"brand": "eu-brand", "country": "de"})
    assert ok.status_code == 200
    assert ok.json() == {
        "brand": "eu-brand",
        "country": "DE",
        "entity": "EU",
        "route": "*",
        "ruleset": "EU/onboarding/*/v1",
    }
    refused = client.get("/api/v1/country-routes/resolve", {"brand": "eu-brand", "country": "US"})
    assert refused.status_code == 400
    assert refused.json()["code"] == "country_restricted"
    foreign = client.get("/api/v1/country-routes/resolve", {"brand": "uk-brand", "country": "GB"})
    assert foreign.status_code == 404
    assert foreign.json()["code"] == "brand_not_found"


@pytest.mark.parametrize("path", ["/api/v1/me"])
def test_me_lists_grants(world, path):
    body = client_for(world.eu_desk_sales).get(path).json()
    assert body["grants"] == [
        {"role": "sales", "entity": "EU", "desk": "dach", "group_wide": False}
    ]
