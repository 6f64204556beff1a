"""The identity app's work for the back office: duplicate cases to decide, and notices that a
client of the entity now also has a profile at another entity of the group (for information).

Each fetch is three queries whatever the number of rows: the count, the first items with
everything their titles need (select_related), and the deadlines of the entities shown.
"""

from __future__ import annotations

from typing import Any

from django.db.models import Case, F, IntegerField, Q, QuerySet, Value, When
from django.urls import reverse

from brokercrm.backoffice.registry import (
    PRIORITY_CRITICAL,
    PRIORITY_HIGH,
    PRIORITY_LOW,
    PRIORITY_NORMAL,
    Queue,
    QueueFetch,
    WorkItem,
    queue_register,
)
from brokercrm.scoping import Scope
from entities.work_queues import row_item, rows_fetch

from ..models import DuplicateCase, ProfileNotice

DUPLICATE_CASE = "identity.duplicate_case"
OTHER_ENTITY_PROFILE = "identity.other_entity_profile"

# A duplicate this likely is worth deciding before the rest.
LIKELY_DUPLICATE = "0.5"


def _built(to_item: Any, queue_key: str) -> Any:
    """An item builder for `rows_fetch`: the row's due time from its arrival (`created_at`)."""
    return lambda row, deadlines: to_item(row, deadlines.due_at(queue_key, row.created_at))


# --- duplicate cases ----------------------------------------------------------------------


def _open_cases(scope: Scope) -> QuerySet:
    return (
        DuplicateCase.objects.within(scope)
        .filter(status=DuplicateCase.Status.OPEN)
        .select_related("profile", "candidate", "decision")
        .annotate(
            urgency=Case(
                When(Q(candidate__aml_blocked=True) | Q(candidate__sanctions_hit=True), then=3),
                When(Q(candidate__pep=True) | Q(candidate__risk_level="high"), then=2),
                When(confidence__gte=LIKELY_DUPLICATE, then=2),
                default=Value(1),
                output_field=IntegerField(),
            )
        )
        .order_by("-urgency", "created_at", "pk")
    )


def _case_reasons(case: DuplicateCase) -> list[str]:
    candidates = (case.explanation or {}).get("candidates") or [{}]
    fields = candidates[0].get("fields") or {}
    return [name for name, found in fields.items() if (found or {}).get("points", 0) > 0][:3]


def _case_item(case: DuplicateCase, due_at: Any) -> WorkItem:
    candidate = case.candidate
    flags = [
        label
        for label, raised in (
            ("AML block", candidate.aml_blocked),
            ("sanctions", candidate.sanctions_hit),
            ("PEP", candidate.pep),
        )
        if raised
    ]
    parts = [f"match {case.confidence:.0%}"]
    reasons = _case_reasons(case)
    if reasons:
        parts.append("on " + ", ".join(reasons).replace("_", " "))
    if flags:
        parts.append("known person carries " + ", ".join(flags))
    parts.append(case.decision.ruleset)
    priority = {3: PRIORITY_CRITICAL, 2: PRIORITY_HIGH}.get(case.urgency, PRIORITY_NORMAL)
    return WorkItem(
        queue=DUPLICATE_CASE,
        object_id=str(case.pk),
        title=f"{case.profile.given_name} {case.profile.family_name}: possible duplicate",
        entity_id=case.entity_id,
        opened_at=case.created_at,
        url=reverse("admin:identity_duplicatecase_change", args=[case.pk]),
        detail=" · ".join(parts),
        due_at=due_at,
        priority=priority,
        person_id=case.profile.person_id,
    )


def duplicate_cases_fetch(scope: Scope, limit: int) -> QueueFetch:
    return rows_fetch(_open_cases(scope), limit, _built(_case_item, DUPLICATE_CASE))


def duplicate_case_item(scope: Scope, object_id: str) -> WorkItem | None:
    return row_item(_open_cases(scope), object_id, _built(_case_item, DUPLICATE_CASE))


# --- another entity's new profile (information) -------------------------------------------


def _open_notices(scope: Scope) -> QuerySet:
    # A notice stands while it is not acknowledged and both profiles are still one person's
    # (an undone merge takes the reason for it away).
    return (
        ProfileNotice.objects.within(scope)
        .filter(acknowledged_at__isnull=True, profile__person=F("other_profile__person"))
        .select_related("profile__person", "other_profile__entity")
        .annotate(
            urgency=Case(
                When(
                    Q(profile__person__aml_blocked=True) | Q(profile__person__sanctions_hit=True),
                    then=2,
                ),
                When(
                    Q(profile__person__pep=True)
                    | Q(profile__person__risk_hold=True)
                    | Q(profile__person__risk_level="high"),
                    then=1,
                ),
                default=Value(0),
                output_field=IntegerField(),
            )
        )
        .order_by("-urgency", "created_at", "pk")
    )


def _notice_item(notice: ProfileNotice, due_at: Any) -> WorkItem:
    person = notice.profile.person
    other = notice.other_profile
    # Only what oversight allows of the other entity: its code and the profile's status.
    flags = [
        label
        for label, raised in (
            ("AML block", person.aml_blocked),
            ("sanctions", person.sanctions_hit),
            ("PEP", person.pep),
            ("risk hold", person.risk_hold),
        )
        if raised
    ]
    if person.risk_level not in ("unknown", "low"):
        flags.append(f"{person.risk_level} risk")
    detail = "group flags: " + ", ".join(flags) if flags else "no group flags"
    priority = {2: PRIORITY_HIGH, 1: PRIORITY_NORMAL}.get(notice.urgency, PRIORITY_LOW)
    return WorkItem(
        queue=OTHER_ENTITY_PROFILE,
        object_id=str(notice.pk),
        title=(
            f"{notice.profile.given_name} {notice.profile.family_name} now also has a profile "
            f"at {other.entity.code} ({other.get_status_display().lower()})"
        ),
        entity_id=notice.entity_id,
        opened_at=notice.created_at,
        url=reverse("admin:client", args=[person.pk]),
        detail=detail,
        due_at=due_at,
        priority=priority,
        person_id=person.pk,
        informational=True,
    )


def other_entity_profiles_fetch(scope: Scope, limit: int) -> QueueFetch:
    return rows_fetch(_open_notices(scope), limit, _built(_notice_item, OTHER_ENTITY_PROFILE))


def other_entity_profile_item(scope: Scope, object_id: str) -> WorkItem | None:
    return row_item(_open_notices(scope), object_id, _built(_notice_item, OTHER_ENTITY_PROFILE))


def register() -> None:
    queue_register(
        Queue(
            key=DUPLICATE_CASE,
            label="Duplicate cases",
            perm="identity.review_duplicatecase",
            fetch=duplicate_cases_fetch,
            item=duplicate_case_item,
            order=30,
            description="registrations held because they may be a person the group knows",
        )
    )
    queue_register(
        Queue(
            key=OTHER_ENTITY_PROFILE,
            label="Profiles at other entities",
            perm="identity.view_profilenotice",
            fetch=other_entity_profiles_fetch,
            item=other_entity_profile_item,
            order=90,
            description="clients of yours who now also have a profile at another entity",
        )
    )
