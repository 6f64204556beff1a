"""The Idempotency-Key header every money-moving endpoint requires: one check, one schema."""

from __future__ import annotations

from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter
from rest_framework.request import Request

from brokercrm.errors import ValidationFailed

IDEMPOTENCY_HEADER = OpenApiParameter(
    "Idempotency-Key",
    OpenApiTypes.STR,
    OpenApiParameter.HEADER,
    required=True,
    description="Unique per money-moving request; a repeat returns the first result.",
)


def idempotency_key_from(request: Request) -> str:
    key = request.headers.get("Idempotency-Key", "")
    if not key or len(key) > 100:
        raise ValidationFailed(
            "Send an Idempotency-Key header (1-100 characters).", code="idempotency_key_invalid"
        )
    return key
