"""My work: every queue the staff member may act on, merged into one list with counts, age,
due time, priority and one assignee; claim, assign, release and reassign in place."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from django.conf import settings
from django.contrib import messages
from django.contrib.admin import site
from django.contrib.auth import get_user_model
from django.core.cache import cache
from django.db.models import Q
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect
from django.template.response import TemplateResponse
from django.urls import reverse
from django.utils import timezone
from django.views.decorators.http import require_POST

from brokercrm.errors import ApplicationError
from brokercrm.scoping import scope_for

from . import registry, services

# Items shown per queue on one page: the most urgent first; the count says how many there are.
ITEMS_PER_QUEUE = 50
COUNTS_MEMO_ATTR = "_backoffice_queue_counts"


@dataclass(frozen=True)
class Row:
    item: registry.WorkItem
    queue: registry.Queue
    assignee: Any
    overdue: bool

    @property
    def priority_label(self) -> str:
        return registry.PRIORITY_LABELS.get(self.item.priority, "normal")


def queues_for(user: Any) -> list[registry.Queue]:
    return [queue for queue in registry.queues() if not scope_for(user, queue.perm).is_empty]


def _counts_key(user: Any) -> str:
    return f"backoffice:counts:{user.pk}"


def queue_counts(user: Any) -> dict[str, int]:
    """Items per queue for the sidebar, reused for a few seconds (every page shows them)."""
    if not getattr(user, "is_authenticated", False):
        return {}
    # One count per request at most (the page and its sidebar both ask), and across requests
    # for a few seconds.
    memo = user.__dict__.get(COUNTS_MEMO_ATTR)
    if memo is not None:
        return memo
    key = _counts_key(user)
    counts = cache.get(key)
    if counts is None:
        counts = {
            queue.key: queue.fetch(scope_for(user, queue.perm), 0).count
            for queue in queues_for(user)
        }
        cache.set(key, counts, settings.BACKOFFICE_COUNTS_SECONDS)
    user.__dict__[COUNTS_MEMO_ATTR] = counts
    return counts


def _forget_counts(user: Any) -> None:
    cache.delete(_counts_key(user))
    user.__dict__.pop(COUNTS_MEMO_ATTR, None)


def work_rows(
    user: Any, *, queue_key: str = "", holder: str = "", entity_id: int | None = None
) -> tuple[list[Row], dict[str, int]]:
    """The rows to show and the count of each queue. `holder`: "mine", "unassigned" or ""."""
    now = timezone.now()
    rows: list[Row] = []
    counts: dict[str, int] = {}
    for queue in queues_for(user):
        if queue_key and queue.key != queue_key:
            continue
        fetched = queue.fetch(scope_for(user, queue.perm), ITEMS_PER_QUEUE)
        counts[queue.key] = fetched.count
        holders = services.assignees_for(queue.key, [item.object_id for item in fetched.items])
        for item in fetched.items:
            if entity_id and item.entity_id != entity_id:
                continue
            assignee = holders.get(item.object_id)
            if holder == "mine" and assignee != user:
                continue
            if holder == "unassigned" and assignee is not None:
                continue
            overdue = item.due_at is not None and item.due_at < now
            rows.append(Row(item, queue, assignee, overdue))
    far = datetime.max.replace(tzinfo=now.tzinfo)
    rows.sort(key=lambda row: (-row.item.priority, row.item.due_at or far, row.item.opened_at))
    return rows, counts


def _entity_names(entity_ids: set[int]) -> dict[int, str]:
    # The entity's code names it on every row; the registry's items carry only the id.
    from django.apps import apps

    model = apps.get_model("entities", "LegalEntity")
    return dict(model.objects.filter(pk__in=entity_ids).values_list("pk", "code"))


def work_view(request: HttpRequest) -> HttpResponse:
    queue_key = request.GET.get("queue", "")
    holder = request.GET.get("holder", "")
    if holder not in ("", "mine", "unassigned"):
        holder = ""
    try:
        entity_id = int(request.GET.get("entity") or 0) or None
    except ValueError:
        entity_id = None
    if queue_key and registry.queue(queue_key) is None:
        raise Http404("No such queue.")
    rows, counts = work_rows(request.user, queue_key=queue_key, holder=holder, entity_id=entity_id)
    if not queue_key:
        request.user.__dict__[COUNTS_MEMO_ATTR] = counts
    all_counts = queue_counts(request.user)
    entity_codes = _entity_names({row.item.entity_id for row in rows})
    context = {
        **site.each_context(request),
        "title": "My work",
        "rows": rows,
        "entity_codes": entity_codes,
        "queues": [
            {"queue": queue, "count": all_counts.get(queue.key, 0)}
            for queue in queues_for(request.user)
        ],
        "current_queue": registry.queue(queue_key) if queue_key else None,
        "holder": holder,
        "entity_id": entity_id,
        "entity_choices": _entity_choices(request.user),
        "total": sum(all_counts.values()),
        "shown_limit": ITEMS_PER_QUEUE,
        "staff": _assignable_staff(request.user, rows),
        "now": timezone.now(),
    }
    template = "backoffice/work_rows.html" if request.htmx else "backoffice/work.html"
    return TemplateResponse(request, template, context)


def _entity_choices(user: Any) -> list[tuple[int, str]]:
    """The entities in which the user works at least one queue, for the filter."""
    from django.apps import apps

    model = apps.get_model("entities", "LegalEntity")
    scopes = [scope_for(user, queue.perm) for queue in queues_for(user)]
    rows = model.objects.order_by("code")
    if not any(scope.everything for scope in scopes):
        ids = set().union(*(scope.any_entity_ids for scope in scopes)) if scopes else set()
        rows = rows.filter(pk__in=ids)
    return list(rows.values_list("pk", "code"))


def _assignable_staff(user: Any, rows: list[Row]) -> list[Any]:
    """Colleagues an item may be given to: active staff holding a grant in an entity of the
    items shown (never the staff of other entities). Whether one may work a given item is
    checked by the service when it is assigned."""
    entity_ids = {row.item.entity_id for row in rows}
    if not entity_ids:
        return []
    in_entities = Q(grants__entity_id__in=entity_ids) | Q(grants__desk__entity_id__in=entity_ids)
    return list(
        get_user_model()
        .objects.filter(is_active=True, is_staff=True, grants__revoked_at__isnull=True)
        .filter(in_entities)
        .distinct()
        .order_by("username")
        .only("id", "username", "first_name", "last_name")[:200]
    )


@require_POST
def work_item_action(request: HttpRequest, queue_key: str, object_id: str) -> HttpResponse:
    action = request.POST.get("action", "")
    try:
        _apply(request, action, queue_key, object_id, request.POST.get("assignee"))
    except ApplicationError as error:
        messages.error(request, f"{error.detail} ({error.code})")
    return redirect(_back(request))


@require_POST
def work_bulk_action(request: HttpRequest) -> HttpResponse:
    """Safe bulk actions only: claim, release, or assign the chosen items to one colleague.
    Each item is checked on its own; one refusal does not undo the others."""
    action = request.POST.get("action", "")
    done, refused = 0, []
    for ref in request.POST.getlist("item"):
        queue_key, _, object_id = ref.partition(":")
        try:
            _apply(request, action, queue_key, object_id, request.POST.get("assignee"))
            done += 1
        except ApplicationError as error:
            refused.append(f"{ref}: {error.detail}")
    if done:
        messages.success(request, f"{done} item(s) updated.")
    for line in refused[:10]:
        messages.error(request, line)
    return redirect(_back(request))


def _apply(
    request: HttpRequest, action: str, queue_key: str, object_id: str, assignee_id: Any
) -> None:
    user = request.user
    if action == "claim":
        services.work_item_assign(actor=user, queue_key=queue_key, object_id=object_id)
    elif action == "release":
        services.work_item_release(actor=user, queue_key=queue_key, object_id=object_id)
    elif action == "assign":
        assignee = _user_or_none(assignee_id)
        if assignee is None:
            raise ValidationFailedChoice()
        services.work_item_assign(
            actor=user, queue_key=queue_key, object_id=object_id, assignee=assignee
        )
    else:
        raise UnknownAction()
    _forget_counts(user)


class UnknownAction(ApplicationError):
    code = "action_unknown"
    default_detail = "Choose claim, release or assign."


class ValidationFailedChoice(ApplicationError):
    code = "assignee_required"
    default_detail = "Choose whom to assign the item to."


def _user_or_none(value: Any) -> Any:
    try:
        return get_user_model().objects.filter(pk=int(value)).first()
    except (TypeError, ValueError):
        return None


def _back(request: HttpRequest) -> str:
    target = request.POST.get("next", "")
    # Only back to a page of this back office: never an address the form was given from outside.
    if target.startswith("/") and not target.startswith("//"):
        return target
    return reverse("admin:work")
