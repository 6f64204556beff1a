"""The back office's admin site: unfold's themed admin, with the shared screens added (the
work queue, the client 360, the dashboards) and a sidebar that shows live counts per queue."""

from __future__ import annotations

from typing import Any

from django.http import HttpRequest
from django.templatetags.static import static
from django.urls import NoReverseMatch, path, reverse
from unfold.sites import UnfoldAdminSite

from brokercrm.scoping import scope_for

from . import client360, dashboard, work


class BackOfficeSite(UnfoldAdminSite):
    site_header = "brokercrm back office"
    site_title = "brokercrm"
    index_title = "Dashboard"
    site_url = None  # there is no public site behind the back office

    def extra_urls(self) -> list[Any]:
        view = self.admin_view
        return [
            path("work/", view(work.work_view), name="work"),
            path(
                "work/<str:queue_key>/<str:object_id>/",
                view(work.work_item_action),
                name="work-item",
            ),
            path("work/bulk/", view(work.work_bulk_action), name="work-bulk"),
            path("clients/", view(client360.client_search_view), name="clients"),
            path("clients/<int:person_id>/", view(client360.client_view), name="client"),
            path(
                "clients/<int:person_id>/timeline/",
                view(client360.timeline_view),
                name="client-timeline",
            ),
        ]

    def index(self, request: HttpRequest, extra_context: dict[str, Any] | None = None) -> Any:
        return dashboard.dashboard_view(request, self.each_context(request))


# The lists staff open most, shown in the sidebar to those who may view them (every other
# list is under "All applications").
RECORDS = (
    ("Client profiles", "badge", "identity", "clientprofile"),
    ("KYC files", "verified_user", "kyc", "kycfile"),
    ("Duplicate cases", "group", "identity", "duplicatecase"),
    ("Deposits", "south_west", "payments", "deposit"),
    ("Withdrawals", "north_east", "payments", "withdrawal"),
    ("Trading accounts", "candlestick_chart", "platforms", "tradingaccount"),
    ("Audit log", "history", "audit", "auditevent"),
)


def _records(request: HttpRequest) -> list[dict[str, Any]]:
    items = []
    for title, icon, app_label, model in RECORDS:
        if scope_for(request.user, f"{app_label}.view_{model}").is_empty:
            continue
        try:
            link = reverse(f"admin:{app_label}_{model}_changelist")
        except NoReverseMatch:
            continue
        items.append({"title": title, "icon": icon, "link": link})
    return items


def navigation(request: HttpRequest) -> list[dict[str, Any]]:
    """The sidebar: the shared screens first, each queue with its live count."""
    counts = work.queue_counts(request.user)
    queue_items = [
        {
            "title": queue.label,
            "icon": "inbox",
            "link": f"{reverse('admin:work')}?queue={queue.key}",
            "active": request.GET.get("queue") == queue.key,
            **({"badge": str(counts[queue.key])} if counts.get(queue.key) else {}),
        }
        for queue in work.queues_for(request.user)
    ]
    total = sum(counts.values())
    return [
        {
            "title": "Back office",
            "separator": False,
            "items": [
                {"title": "Dashboard", "icon": "monitoring", "link": reverse("admin:index")},
                {
                    "title": "My work",
                    "icon": "task_alt",
                    "link": reverse("admin:work"),
                    "active": request.path == reverse("admin:work")
                    and not request.GET.get("queue"),
                    **({"badge": str(total)} if total else {}),
                },
                {"title": "Clients", "icon": "person_search", "link": reverse("admin:clients")},
            ],
        },
        *([{"title": "Queues", "separator": True, "items": queue_items}] if queue_items else []),
        *(
            [{"title": "Records", "separator": True, "items": records}]
            if (records := _records(request))
            else []
        ),
    ]


def stylesheet(request: HttpRequest) -> str:
    return static("backoffice/backoffice.css")
