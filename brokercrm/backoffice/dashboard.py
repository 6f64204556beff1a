"""The dashboard home: each registered figure, computed over the rows the user's scope covers."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from django.http import HttpRequest, HttpResponse
from django.template.response import TemplateResponse
from django.utils import timezone

from brokercrm.scoping import scope_for

from . import registry

DEFAULT_DAYS = 30


def dashboard_view(request: HttpRequest, context: dict[str, Any]) -> HttpResponse:
    try:
        days = max(1, min(int(request.GET.get("days", DEFAULT_DAYS)), 365))
    except ValueError:
        days = DEFAULT_DAYS
    until = timezone.localdate()
    since = until - timedelta(days=days - 1)
    figures = []
    for figure in registry.figures():
        scope = scope_for(request.user, figure.perm)
        if scope.is_empty:
            continue
        figures.append({"figure": figure, "data": figure.compute(scope, since, until)})
    context = {**context, "title": "Dashboard", "figures": figures, "days": days}
    return TemplateResponse(request, "backoffice/dashboard.html", context)
