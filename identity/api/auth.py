"""Brand API keys: how a brand's own front end calls the registration API.

Header: `Authorization: Api-Key <prefix>.<secret>`. Only a SHA-256 of the secret is stored;
the key fixes the brand, hence which entities a registration can route to.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
from dataclasses import dataclass
from typing import Any

from django.utils import timezone
from drf_spectacular.extensions import OpenApiAuthenticationExtension
from rest_framework import authentication, exceptions, permissions
from rest_framework.request import Request

from ..models import BrandApiKey

KEYWORD = "Api-Key"


@dataclass(frozen=True)
class BrandPrincipal:
    """The caller behind a brand key. Not a user: it holds no staff grants."""

    brand_code: str
    is_authenticated: bool = True
    is_active: bool = True
    is_superuser: bool = False
    pk: None = None

    def get_username(self) -> str:
        return f"brand:{self.brand_code}"


def secret_hash(secret: str) -> str:
    return hashlib.sha256(secret.encode()).hexdigest()


def brand_api_key_create(*, brand: Any, name: str) -> tuple[BrandApiKey, str]:
    """A new key; the full key string is returned once and never stored."""
    prefix = secrets.token_hex(5)
    secret = secrets.token_urlsafe(32)
    key = BrandApiKey.objects.create(
        entity_id=brand.entity_id,
        brand=brand,
        name=name,
        prefix=prefix,
        secret_hash=secret_hash(secret),
    )
    return key, f"{prefix}.{secret}"


class BrandKeyAuthentication(authentication.BaseAuthentication):
    def authenticate(self, request: Request) -> tuple[BrandPrincipal, BrandApiKey] | None:
        header = authentication.get_authorization_header(request).decode("latin-1")
        if not header.startswith(f"{KEYWORD} "):
            return None
        prefix, _, secret = header[len(KEYWORD) + 1 :].strip().partition(".")
        if not prefix or not secret or len(prefix) > 12 or len(secret) > 128:
            raise exceptions.AuthenticationFailed("Malformed API key.", code="api_key_invalid")
        key = (
            BrandApiKey.objects.unscoped()
            .filter(prefix=prefix, active=True)
            .select_related("brand", "brand__entity")
            .first()
        )
        # Compare even when no key matched, so timing does not tell which prefixes exist.
        expected = key.secret_hash if key is not None else secret_hash("no-such-key")
        if not hmac.compare_digest(expected, secret_hash(secret)) or key is None:
            raise exceptions.AuthenticationFailed(
                "Unknown or revoked API key.", code="api_key_invalid"
            )
        BrandApiKey.objects.unscoped().filter(pk=key.pk).update(last_used_at=timezone.now())
        return BrandPrincipal(brand_code=key.brand.code), key

    def authenticate_header(self, request: Request) -> str:
        return KEYWORD


class IsBrandKey(permissions.BasePermission):
    message = "This endpoint takes a brand API key."

    def has_permission(self, request: Request, view: Any) -> bool:
        return isinstance(request.auth, BrandApiKey)


class BrandKeyScheme(OpenApiAuthenticationExtension):
    """Describes the brand key in the OpenAPI schema."""

    target_class = BrandKeyAuthentication
    name = "brandApiKey"

    def get_security_definition(self, auto_schema: Any) -> dict[str, str]:
        return {
            "type": "apiKey",
            "in": "header",
            "name": "Authorization",
            "description": "Api-Key <prefix>.<secret> (manage.py brand_api_key BRAND).",
        }
