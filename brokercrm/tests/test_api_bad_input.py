"""Every malformed request gets a 4xx with a stable code; none is a 500; nothing is written."""

from __future__ import annotations

import json

import pytest
from rest_framework.test import APIClient

from audit.models import AuditEvent
from entities.models import Brand, RuleSet


@pytest.fixture
def admin_client(world) -> APIClient:
    client = APIClient()
    client.force_authenticate(world.eu_admin)
    return client


def _unchanged(world, events_before: int) -> None:
    assert AuditEvent.objects.count() == events_before
    assert RuleSet.objects.unscoped().count() == 2
    assert Brand.objects.unscoped().count() == 2


@pytest.mark.parametrize(
    ("body", "content_type", "status", "code"),
    [
        (b'{"entity": 1, "kind": ', "application/json", 400, "parse_error"),
        (b"[1, 2, 3]", "application/json", 400, "invalid"),
        (b'"just a string"', "application/json", 400, "invalid"),
        (b"{}", "application/json", 400, "invalid"),
        (b'{"entity": NaN, "kind": "kyc"}', "application/json", 400, "parse_error"),
        (b"[" * 100000 + b"]" * 100000, "application/json", 400, "parse_error"),
        (b"\xff\xfe\x00garbage", "application/json", 400, "parse_error"),
        (b"entity=1&kind=kyc", "application/x-www-form-urlencoded", 415, "unsupported_media_type"),
        (
            b'{"pad": "' + b"x" * (2 * 1024 * 1024) + b'"}',
            "application/json",
            413,
            "payload_too_large",
        ),
    ],
)
def test_malformed_bodies(world, admin_client, body, content_type, status, code):
    events = AuditEvent.objects.count()
    response = admin_client.generic("POST", "/api/v1/rule-sets", body, content_type=content_type)
    assert response.status_code == status, response.content[:500]
    assert response.json()["code"] == code
    assert response.json()["detail"]
    _unchanged(world, events)


@pytest.mark.parametrize(
    ("payload", "field"),
    [
        ({"entity": "abc", "kind": "kyc", "document": {}}, "entity"),
        ({"entity": 10**30, "kind": "kyc", "document": {}}, "entity"),
        ({"entity": None, "kind": "kyc", "document": {}}, "entity"),
        ({"entity": "{eu}", "kind": "tarot", "document": {}}, "kind"),
        (
            {"entity": "{eu}", "kind": "kyc", "document": {}, "effective_from": "yesterday"},
            "effective_from",
        ),
        ({"entity": "{eu}", "kind": "kyc", "document": {}, "note": "x" * 201}, "note"),
        ({"entity": "{eu}", "kind": "kyc", "document": {}, "note": "bad\u0000byte"}, "note"),
    ],
)
def test_invalid_fields(world, admin_client, payload, field):
    events = AuditEvent.objects.count()
    payload = {k: (world.eu.pk if v == "{eu}" else v) for k, v in payload.items()}
    response = admin_client.post("/api/v1/rule-sets", payload, format="json")
    assert response.status_code == 400, response.content
    assert response.json()["code"] == "invalid"
    assert field in response.json()["errors"]
    _unchanged(world, events)


def test_schema_violation_has_its_own_code_and_field_paths(world, admin_client):
    response = admin_client.post(
        "/api/v1/rule-sets",
        {
            "entity": world.eu.pk,
            "kind": "onboarding",
            "document": {"allowed_countries": ["ZZ"], "x": 1},
        },
        format="json",
    )
    assert response.status_code == 400
    body = response.json()
    assert body["code"] == "ruleset_invalid"
    assert set(body["errors"]) == {"x"}


@pytest.mark.parametrize(
    "path",
    [
        "/api/v1/brands/abc",
        "/api/v1/brands/-1",
        "/api/v1/brands/99999999999999999999999999",
        "/api/v1/brands/999999999999999999",
        "/api/v1/brands/1.5",
        "/api/v1/nowhere",
    ],
)
def test_odd_ids_are_404(world, admin_client, path):
    response = admin_client.get(path)
    assert response.status_code == 404
    assert response.json()["code"] == "not_found"


def test_query_parameters_are_tolerated(world, admin_client):
    for query in (
        "?entity=abc",
        "?entity=" + "9" * 40,
        "?kind=" + "x" * 5000,
        "?page=zzz",
        "?page_size=-3",
    ):
        response = admin_client.get("/api/v1/rule-sets" + query)
        assert response.status_code in (200, 404), (query, response.content[:300])
        assert "code" in response.json() or "results" in response.json()


def test_method_not_allowed(world, admin_client):
    response = admin_client.delete(f"/api/v1/brands/{world.eu_brand.pk}")
    assert response.status_code == 405
    assert response.json()["code"] == "method_not_allowed"


def test_duplicate_brand_is_a_conflict_not_a_crash(world, admin_client):
    events = AuditEvent.objects.count()
    response = admin_client.post(
        "/api/v1/brands",
        {"entity": world.eu.pk, "code": "uk-brand", "name": "Copy", "domain": "copy.example.com"},
        format="json",
    )
    assert response.status_code in (400, 409)
    assert response.json()["code"] in ("invalid", "duplicate")
    _unchanged(world, events)


def test_brand_create_happy_path_and_bad_theme(world, admin_client):
    bad = admin_client.post(
        "/api/v1/brands",
        {
            "entity": world.eu.pk,
            "code": "new",
            "name": "New",
            "domain": "new.example.com",
            "theme": [1],
        },
        format="json",
    )
    assert bad.status_code == 400
    ok = admin_client.post(
        "/api/v1/brands",
        {"entity": world.eu.pk, "code": "new", "name": "New", "domain": "NEW.example.com"},
        format="json",
    )
    assert ok.status_code == 201, ok.content
    assert ok.json()["domain"] == "new.example.com"


def test_error_body_shape_is_json_everywhere(world):
    anonymous = APIClient().post(
        "/api/v1/rule-sets", json.dumps({}), content_type="application/json"
    )
    assert anonymous.status_code == 401
    assert set(anonymous.json()) == {"code", "detail"}
