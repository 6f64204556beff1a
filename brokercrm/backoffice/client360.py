"""The client 360: one page per person, with the person's profiles in every entity (in full
where the user may see them, as existence and status elsewhere), one tab per app, and one
timeline of everything about the person in time order."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from django.contrib.admin import site
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect
from django.template.response import TemplateResponse
from django.urls import reverse
from django.utils.dateparse import parse_datetime

from . import registry

TIMELINE_PAGE = 50
OVERVIEW = "overview"
TIMELINE = "timeline"


def client_search_view(request: HttpRequest) -> HttpResponse:
    text = request.GET.get("q", "").strip()[:120]
    found = registry.subject_find(request.user, text, 50) if len(text) >= 2 else []
    if len(found) == 1 and request.GET.get("go") != "list":
        return redirect(reverse("admin:client", args=[found[0].person_id]))
    context = {
        **site.each_context(request),
        "title": "Clients",
        "q": text,
        "found": found,
        "too_short": 0 < len(text) < 2,
    }
    return TemplateResponse(request, "backoffice/client_search.html", context)


def _subject_or_404(request: HttpRequest, person_id: int) -> registry.ClientSubject:
    subject = registry.subject_load(request.user, person_id)
    if subject is None or not subject.visible_profiles:
        # Someone known only to other entities is, to this user, not there at all.
        raise Http404("No such client.")
    return subject


def client_view(request: HttpRequest, person_id: int) -> HttpResponse:
    subject = _subject_or_404(request, person_id)
    panels = registry.panels()
    tabs = [(OVERVIEW, "Overview")] + [(panel.key, panel.label) for panel in panels]
    tabs.append((TIMELINE, "Timeline"))
    active = request.GET.get("tab", OVERVIEW)
    if active not in {key for key, _ in tabs}:
        active = OVERVIEW
    body = ""
    timeline: dict[str, Any] = {}
    if active == TIMELINE:
        timeline = _timeline_page(request, subject)
    elif active != OVERVIEW:
        panel = next(panel for panel in panels if panel.key == active)
        body = panel.render(request, subject) or ""
    context = {
        **site.each_context(request),
        "title": subject.display_name,
        "subject": subject,
        "tabs": tabs,
        "active": active,
        "panel_html": body,
        "timeline": timeline,
    }
    return TemplateResponse(request, "backoffice/client.html", context)


def timeline_view(request: HttpRequest, person_id: int) -> HttpResponse:
    """The next page of the timeline (htmx), or the whole tab when asked directly."""
    subject = _subject_or_404(request, person_id)
    if not request.htmx:
        return redirect(f"{reverse('admin:client', args=[person_id])}?tab={TIMELINE}")
    context = {"subject": subject, "timeline": _timeline_page(request, subject)}
    return TemplateResponse(request, "backoffice/timeline_rows.html", context)


def _timeline_page(request: HttpRequest, subject: registry.ClientSubject) -> dict[str, Any]:
    sources = registry.timeline_sources()
    kinds = [key for key in request.GET.getlist("kind") if key in {s.key for s in sources}]
    before = _parse_before(request.GET.get("before", ""))
    entries = timeline_entries(request.user, subject, kinds=kinds, before=before)
    more = len(entries) > TIMELINE_PAGE
    entries = entries[:TIMELINE_PAGE]
    return {
        "sources": sources,
        "kinds": kinds,
        "entries": entries,
        "next_before": entries[-1].at.isoformat() if more and entries else "",
    }


def timeline_entries(
    user: Any,
    subject: registry.ClientSubject,
    *,
    kinds: list[str] | None = None,
    before: datetime | None = None,
    limit: int = TIMELINE_PAGE,
) -> list[registry.TimelineEntry]:
    """Newest first, one more than `limit` (so the caller knows whether there is more). Each
    source is asked for at most that many, so a page costs the same however long the
    person's history is."""
    merged: list[registry.TimelineEntry] = []
    for source in registry.timeline_sources():
        if kinds and source.key not in kinds:
            continue
        merged.extend(source.entries(user, subject, before, limit + 1))
    merged.sort(key=lambda entry: entry.at, reverse=True)
    return merged[: limit + 1]


def _parse_before(value: str) -> datetime | None:
    try:
        return parse_datetime(value) if value else None
    except ValueError:
        return None
