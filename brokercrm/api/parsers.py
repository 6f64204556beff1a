"""JSON parsing with a size limit and no way to crash on pathological input."""

from __future__ import annotations

import io
from typing import Any

from django.conf import settings
from rest_framework import parsers
from rest_framework.exceptions import APIException, ParseError


class PayloadTooLarge(APIException):
    status_code = 413
    default_detail = "The request body is larger than this endpoint accepts."
    default_code = "payload_too_large"


class JSONParser(parsers.JSONParser):
    """DRF reads the request stream directly, bypassing Django's DATA_UPLOAD_MAX_MEMORY_SIZE,
    so the limit is enforced here; deeply nested documents are a parse error, not a crash."""

    def parse(self, stream: Any, media_type: str | None = None, parser_context: Any = None) -> Any:
        limit = settings.DATA_UPLOAD_MAX_MEMORY_SIZE
        body = stream.read(limit + 1) if stream is not None else b""
        if len(body) > limit:
            raise PayloadTooLarge()
        try:
            return super().parse(io.BytesIO(body), media_type, parser_context)
        except RecursionError as exc:
            raise ParseError("JSON parse error - the document is nested too deeply.") from exc
