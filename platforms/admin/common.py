"""What the trading admin pages share: the read-only base for rows only the services write,
error messages, and the "sync now" request."""

from __future__ import annotations

from django.contrib import messages
from django.db.models import QuerySet
from django.http import HttpRequest

from brokercrm.admin import ReadOnlyAdminMixin, ScopedAdmin
from brokercrm.errors import ApplicationError
from platforms import services


class ReadOnlyScopedAdmin(ReadOnlyAdminMixin, ScopedAdmin):
    """Rows only the platforms services write: shown, never edited in a form."""


def _report_errors(request: HttpRequest, label: str, error: ApplicationError) -> None:
    messages.error(request, f"{label}: {error.detail} ({error.code})")


def _sync(request: HttpRequest, servers: QuerySet) -> None:
    started = 0
    for server in servers:
        try:
            services.trading_sync_request(actor=request.user, server=server)
            started += 1
        except ApplicationError as error:
            _report_errors(request, server.name, error)
    if started:
        messages.success(request, f"Sync queued for {started} server(s).")
