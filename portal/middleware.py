"""What every portal request needs before its view runs: the brand, the language and the
signed-in client.

- **Brand**: from the host (`Brand.domain`), or from a `/b/<brand>/` prefix
  (`PORTAL_BRAND_PREFIX`, on in the demo and the tests, so one machine shows every brand).
  With the prefix, the script prefix is set to it, so every URL the portal builds stays under
  that brand. Staff pages, the API and static files are never portal requests.
- **Language**: the signed-in client's own, else the one chosen on the page, else the
  browser's (`Accept-Language`), among `LANGUAGES`.
- **Client**: a portal sign-in is a client token kept in the session (`portal.session`); a
  token ended elsewhere (log out everywhere, staff ending the sessions, a password change)
  ends the portal session with it. The session also ends after `PORTAL_IDLE_SECONDS` without
  a request, and when the token outlives `CLIENT_TOKEN_TTL` from sign-in (the absolute limit).
"""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import Any

from csp.middleware import CSPMiddleware
from django.conf import settings
from django.http import HttpRequest, HttpResponse, HttpResponseBase
from django.urls import get_script_prefix, set_script_prefix
from django.utils import translation

from entities.selectors import brand_active_by_code, brand_for_host

from . import session

_PREFIX = re.compile(r"^/b/(?P<code>[a-z0-9][a-z0-9-]{0,39})(?P<rest>/.*)?$")
# Paths that belong to staff, the API or the server, on any host.
_NOT_PORTAL = ("/admin/", "/api/", "/static/", "/healthz", "/media/")


def _language_of(request: HttpRequest) -> str:
    client = getattr(request, "client", None)
    supported = {code for code, _name in settings.LANGUAGES}
    if client is not None and client.profile.language in supported:
        return client.profile.language
    chosen = request.session.get(session.LANGUAGE_KEY)
    if chosen in supported:
        return chosen
    return translation.get_language_from_request(request)


class PortalMiddleware:
    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponseBase:
        request.brand = None
        request.client = None
        request.portal = False
        if request.path_info.startswith(_NOT_PORTAL):
            return self.get_response(request)
        match = _PREFIX.match(request.path_info) if settings.PORTAL_BRAND_PREFIX else None
        if match is None:
            brand = brand_for_host(request.get_host())
            if brand is None:
                return self.get_response(request)
            return self._portal(request, brand)
        brand = brand_active_by_code(match["code"])
        if brand is None:
            return self.get_response(request)
        outer = get_script_prefix()
        set_script_prefix(f"{outer.rstrip('/')}/b/{brand.code}/")
        request.path_info = match["rest"] or "/"
        try:
            return self._portal(request, brand)
        finally:
            set_script_prefix(outer)

    def _portal(self, request: HttpRequest, brand: Any) -> HttpResponseBase:
        request.brand = brand
        request.portal = True
        request.client = session.signed_in_client(request)
        language = _language_of(request)
        translation.activate(language)
        request.LANGUAGE_CODE = language
        try:
            response = self.get_response(request)
        finally:
            translation.deactivate()
        response.headers.setdefault("Content-Language", language)
        # Pages with a client's data are never kept by shared caches or the browser's history.
        response.headers.setdefault("Cache-Control", "no-store")
        return response


class PortalContentSecurityPolicyMiddleware(CSPMiddleware):
    """django-csp's policy on portal pages only: no inline script runs there (scripts come
    from our static files, htmx included). Staff pages keep Django's own headers."""

    def process_request(self, request: HttpRequest) -> None:
        if getattr(request, "portal", False):
            super().process_request(request)

    def process_response(
        self, request: HttpRequest, response: HttpResponseBase
    ) -> HttpResponseBase:
        if not getattr(request, "portal", False):
            return response
        return super().process_response(request, response)
