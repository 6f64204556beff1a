"""My notifications, newest first with the unread ones marked; marking one or all read (the
same services as the client API's MyNotificationViewSet)."""

from __future__ import annotations

from django.contrib import messages
from django.core.paginator import Paginator
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils.translation import gettext as _
from django.utils.translation import ngettext
from django.views.decorators.http import require_POST

from brokercrm.notifications import services as notification_services
from brokercrm.notifications.selectors import client_notification, client_notifications

from .common import client_required, not_found, safe_next

PAGE_SIZE = 25


@client_required
def notifications(request: HttpRequest) -> HttpResponse:
    profile = request.client.profile
    rows = client_notifications(entity_id=profile.entity_id, profile_id=profile.pk)
    page = Paginator(rows, PAGE_SIZE).get_page(request.GET.get("page"))
    return render(
        request,
        "portal/notifications/notifications.html",
        {
            "title": _("Notifications"),
            "page": page,
            "notifications": [
                {
                    "id": row.pk,
                    "title": row.title,
                    "body": row.body,
                    "at": row.created_at,
                    "read": row.read_at is not None,
                }
                for row in page
            ],
            "unread": notification_services.unread_count(
                entity_id=profile.entity_id, profile_id=profile.pk
            ),
        },
    )


@require_POST
@client_required
def read(request: HttpRequest, notification_id: int) -> HttpResponse:
    profile = request.client.profile
    notification = client_notification(
        entity_id=profile.entity_id, profile_id=profile.pk, notification_id=notification_id
    )
    if notification is None:
        raise not_found()
    notification_services.notification_read(actor=request.client, notification=notification)
    return redirect(safe_next(request, reverse("portal:notifications")))


@require_POST
@client_required
def read_all(request: HttpRequest) -> HttpResponse:
    marked = notification_services.notifications_read_all(
        actor=request.client, profile=request.client.profile
    )
    messages.success(
        request,
        ngettext(
            "%(count)s notification marked read.",
            "%(count)s notifications marked read.",
            marked,
        )
        % {"count": marked},
    )
    return redirect("portal:notifications")
