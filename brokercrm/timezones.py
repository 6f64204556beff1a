"""Staff read dates and times in their own time zone: for a signed-in staff member the request
runs with `User.time_zone` active, so admin pages and the `staff_time` filter show local time.
Clients and anonymous requests keep the server's zone (settings.TIME_ZONE)."""

from __future__ import annotations

import zoneinfo
from collections.abc import Callable

from django.http import HttpRequest, HttpResponse
from django.utils import timezone


def staff_zone(user: object) -> zoneinfo.ZoneInfo | None:
    """The zone a signed-in staff member chose, or None (not staff, or a zone this server's
    tz database does not know)."""
    if not getattr(user, "is_authenticated", False) or getattr(user, "kind", "") != "staff":
        return None
    name = getattr(user, "time_zone", "") or ""
    try:
        return zoneinfo.ZoneInfo(name) if name else None
    except (zoneinfo.ZoneInfoNotFoundError, ValueError):
        return None


class StaffTimeZoneMiddleware:
    """After AuthenticationMiddleware: activates the staff member's zone for the request."""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        zone = staff_zone(getattr(request, "user", None))
        if zone is None:
            return self.get_response(request)
        timezone.activate(zone)
        try:
            return self.get_response(request)
        finally:
            timezone.deactivate()
