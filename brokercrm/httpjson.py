"""A small JSON-over-HTTP client for our connectors (PSPs, trading servers, KYC vendors).

Standard library only. It separates the three outcomes a connector must treat differently:
an answer (any HTTP status, with its JSON body), a timeout (the other side may or may not have
acted — the caller must find out before retrying), and no connection at all (nothing happened).
"""

from __future__ import annotations

import json
import urllib.error
import urllib.request
from dataclasses import dataclass
from typing import Any

from brokercrm.errors import ApplicationError


class UpstreamError(ApplicationError):
    code = "upstream_error"
    status = 502
    default_detail = "The outside system did not answer as expected."


class UpstreamTimeout(UpstreamError):
    code = "upstream_timeout"
    status = 504
    default_detail = "The outside system did not answer in time; it may have acted."


class UpstreamUnavailable(UpstreamError):
    code = "upstream_unavailable"
    status = 503
    default_detail = "The outside system could not be reached; nothing was sent."


@dataclass(frozen=True)
class JsonResponse:
    status: int
    body: Any
    headers: dict[str, str]

    @property
    def ok(self) -> bool:
        return 200 <= self.status < 300


def json_request(
    method: str,
    url: str,
    *,
    body: Any = None,
    headers: dict[str, str] | None = None,
    timeout: float = 10.0,
) -> JsonResponse:
    data = None if body is None else json.dumps(body, separators=(",", ":")).encode()
    request = urllib.request.Request(url, data=data, method=method.upper())  # noqa: S310
    request.add_header("Accept", "application/json")
    if data is not None:
        request.add_header("Content-Type", "application/json")
    for name, value in (headers or {}).items():
        request.add_header(name, value)
    try:
        with urllib.request.urlopen(request, timeout=timeout) as response:  # noqa: S310
            raw = response.read()
            status = response.status
            response_headers = dict(response.headers.items())
    except urllib.error.HTTPError as exc:
        raw = exc.read()
        status = exc.code
        response_headers = dict(exc.headers.items()) if exc.headers else {}
    except TimeoutError as exc:
        raise UpstreamTimeout(f"{method} {url} timed out after {timeout} s.") from exc
    except urllib.error.URLError as exc:
        if isinstance(exc.reason, TimeoutError):
            raise UpstreamTimeout(f"{method} {url} timed out after {timeout} s.") from exc
        raise UpstreamUnavailable(f"{method} {url} could not connect: {exc.reason}.") from exc
    except ConnectionError as exc:
        # Reset after sending: the request may have been applied.
        raise UpstreamTimeout(f"{method} {url} lost the connection: {exc}.") from exc
    try:
        parsed = json.loads(raw) if raw else None
    except ValueError as exc:
        raise UpstreamError(
            f"{method} {url} answered {status} with a body that is not JSON."
        ) from exc
    return JsonResponse(status=status, body=parsed, headers=response_headers)
