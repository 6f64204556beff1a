"""The base of every endpoint an outside system calls back (PSP, KYC vendor): no user, no
session, no CSRF — the HMAC signature over the raw body is the authentication. A missing,
tampered or stale signature is refused with its code and logged; the body is parsed only after
it has been verified."""

from __future__ import annotations

import json
import logging
from typing import Any

from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import extend_schema
from rest_framework.permissions import AllowAny
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from brokercrm.errors import ApplicationError, ValidationFailed
from brokercrm.signing import SIGNATURE_HEADER, WebhookSignatureError, webhook_verify

logger = logging.getLogger("brokercrm.webhooks")

MAX_WEBHOOK_BYTES = 256 * 1024


class WebhookNotConfigured(ApplicationError):
    code = "webhook_not_configured"
    status = 503
    default_detail = "This deployment has no secret for these webhooks."


class SignedWebhookView(APIView):
    authentication_classes: list[Any] = []
    permission_classes = [AllowAny]
    parser_classes: list[Any] = []  # the raw body is read, verified, then parsed here
    source = "webhook"

    def secret_for(self, request: Request, **kwargs: Any) -> str:
        raise NotImplementedError

    def handle_event(self, event: dict[str, Any], raw: bytes, **kwargs: Any) -> Response:
        raise NotImplementedError

    @extend_schema(
        request={"application/json": OpenApiTypes.OBJECT},
        responses={200: OpenApiTypes.OBJECT},
        auth=[],
        description="Signed with HMAC-SHA256 over `<timestamp>.<raw body>` in the "
        f"`{SIGNATURE_HEADER}` header (`t=...,v1=...`); 300 s tolerance.",
    )
    def post(self, request: Request, **kwargs: Any) -> Response:
        raw = request.body  # the exact bytes that were signed
        if len(raw) > MAX_WEBHOOK_BYTES:
            raise ValidationFailed("The webhook body is too large.", code="payload_too_large")
        secret = self.secret_for(request, **kwargs)
        if not secret:
            raise WebhookNotConfigured()
        try:
            webhook_verify(secret=secret, header=request.headers.get(SIGNATURE_HEADER), body=raw)
        except WebhookSignatureError as exc:
            logger.warning(
                "%s webhook refused: %s (%s bytes from %s)",
                self.source,
                exc.code,
                len(raw),
                request.META.get("REMOTE_ADDR"),
            )
            raise
        try:
            event = json.loads(raw)
        except ValueError:
            raise ValidationFailed("The body is not JSON.", code="parse_error") from None
        if not isinstance(event, dict) or not isinstance(event.get("data"), dict):
            raise ValidationFailed("The event has no data object.", code="webhook_event_invalid")
        return self.handle_event(event, raw, **kwargs)
