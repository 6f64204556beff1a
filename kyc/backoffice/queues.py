"""The KYC app's work for the back office: files in review, files escalated for a screening or
AML flag, files held for enhanced due diligence by the entity's rules, screening checks that
need a reviewer, and identity documents of active clients about to expire.

An escalated file is in exactly one of `kyc.escalated` (a sanctions, PEP or AML trigger, or a
new screening hit after approval: group compliance decides) and `kyc.edd` (only the rule set's
own triggers: risk level, declared amounts, country, source of funds). Each fetch is a bounded
number of queries whatever the number of rows: the count, the first items with what their
titles need (select_related, one prefetch of the checks to review), the entities' deadlines.
"""

from __future__ import annotations

from datetime import date, datetime, time, timedelta
from functools import reduce
from operator import or_
from typing import Any

from django.db.models import (
    Case,
    DateTimeField,
    Exists,
    IntegerField,
    OuterRef,
    Prefetch,
    Q,
    QuerySet,
    Value,
    When,
)
from django.db.models.functions import Coalesce
from django.urls import reverse
from django.utils import timezone

from brokercrm.backoffice.registry import (
    PRIORITY_CRITICAL,
    PRIORITY_HIGH,
    PRIORITY_NORMAL,
    Queue,
    QueueFetch,
    WorkItem,
    queue_register,
)
from brokercrm.scoping import Scope
from entities.work_queues import row_item, rows_fetch
from identity.choices import ProfileStatus

from ..models import KycCheck, KycDocument, KycFile

REVIEW = "kyc.review"
ESCALATED = "kyc.escalated"
SCREENING_HIT = "kyc.screening_hit"
EDD = "kyc.edd"
DOCUMENT_EXPIRING = "kyc.document_expiring"

# Who decides a file decides its queues: entity compliance, and group compliance as oversight
# (escalated files are theirs). Sales and support hold no KYC decision.
DECIDE = "kyc.approve_kycfile"

# Triggers that send a file to group compliance whatever the entity's rules say.
FLAG_TRIGGERS = ("sanctions_hit", "pep", "aml_blocked", "rescreen_hit")
CRITICAL_TRIGGERS = frozenset({"sanctions_hit", "aml_blocked"})
SCREENING_KINDS = (KycCheck.Kind.SANCTIONS, KycCheck.Kind.PEP)
NEEDS_REVIEWER = (KycCheck.Result.REVIEW, KycCheck.Result.FAIL)
UNDECIDED = (
    KycFile.Status.SUBMITTED,
    KycFile.Status.CHECKING,
    KycFile.Status.IN_REVIEW,
    KycFile.Status.ESCALATED,
)
EXPIRY_WINDOW_DAYS = 30
# Inside this many days an expiring document is chased first.
EXPIRY_URGENT_DAYS = 7


def _name(profile: Any) -> str:
    return f"{profile.given_name} {profile.family_name}"


def _fetched(queryset: QuerySet, limit: int, to_item: Any, queue_key: str) -> QueueFetch:
    return rows_fetch(queryset, limit, lambda row, deadlines: to_item(row, deadlines, queue_key))


def _found(queryset: QuerySet, object_id: str, to_item: Any, queue_key: str) -> WorkItem | None:
    return row_item(queryset, object_id, lambda row, deadlines: to_item(row, deadlines, queue_key))


# --- files: in review, escalated, enhanced due diligence ------------------------------------


def _flag_triggered() -> Q:
    return reduce(or_, (Q(edd_triggers__contains=[{"code": code}]) for code in FLAG_TRIGGERS))


def _files(scope: Scope, condition: Q) -> QuerySet:
    # An item's title needs the checks' kinds, not their evidence, and no file's answers.
    to_review = (
        KycCheck.objects.within(scope)
        .filter(result__in=NEEDS_REVIEWER)
        .only("id", "entity_id", "kyc_file_id", "kind", "result")
        .order_by("kind")
    )
    return (
        KycFile.objects.within(scope)
        .filter(condition)
        .select_related("profile")
        # What an item shows, nothing more: a page builds up to fifty of them per queue.
        .only(
            "id",
            "entity_id",
            "status",
            "risk_level",
            "risk_score",
            "edd_triggers",
            "kyc_ruleset",
            "submitted_at",
            "created_at",
            "first_approver_id",
            "second_approver_id",
            "profile__id",
            "profile__entity_id",
            "profile__person_id",
            "profile__given_name",
            "profile__family_name",
        )
        .prefetch_related(Prefetch("checks", queryset=to_review, to_attr="checks_to_review"))
        # The checks run as the file is submitted: that is when it lands in a queue.
        .annotate(
            opened=Coalesce("submitted_at", "created_at", output_field=DateTimeField()),
            urgency=Case(
                When(
                    Q(edd_triggers__contains=[{"code": "sanctions_hit"}])
                    | Q(edd_triggers__contains=[{"code": "aml_blocked"}])
                    | Q(profile__person__sanctions_hit=True)
                    | Q(profile__person__aml_blocked=True),
                    then=3,
                ),
                When(
                    Q(risk_level=KycFile.RiskLevel.HIGH)
                    | Q(profile__person__pep=True)
                    | _flag_triggered(),
                    then=2,
                ),
                default=Value(1),
                output_field=IntegerField(),
            ),
        )
        .order_by("-urgency", "opened", "pk")
    )


def _in_review(scope: Scope) -> QuerySet:
    return _files(scope, Q(status=KycFile.Status.IN_REVIEW))


def _escalated(scope: Scope) -> QuerySet:
    return _files(
        scope, Q(status=KycFile.Status.ESCALATED) & (_flag_triggered() | Q(edd_triggers=[]))
    )


def _edd(scope: Scope) -> QuerySet:
    return _files(
        scope, Q(status=KycFile.Status.ESCALATED) & ~_flag_triggered() & ~Q(edd_triggers=[])
    )


def _risk(kyc_file: KycFile) -> str:
    if kyc_file.risk_level == KycFile.RiskLevel.UNSCORED:
        return "risk not scored"
    return f"risk {kyc_file.risk_level} ({kyc_file.risk_score})"


def _file_item(kyc_file: KycFile, deadlines: Any, queue_key: str) -> WorkItem:
    parts = [_risk(kyc_file)]
    if queue_key == REVIEW:
        what = "KYC review"
        if kyc_file.first_approver_id and not kyc_file.second_approver_id:
            what = "KYC second approval"
            parts.append("first approval given")
        checks = sorted({check.get_kind_display() for check in kyc_file.checks_to_review})
        if checks:
            parts.append("to review: " + ", ".join(checks).lower())
    else:
        what = "escalated KYC" if queue_key == ESCALATED else "enhanced due diligence"
        reasons = [
            trigger.get("detail", trigger.get("code", "")) for trigger in kyc_file.edd_triggers
        ]
        if reasons:
            parts.append("; ".join(reasons[:3]))
    if kyc_file.kyc_ruleset:
        parts.append(kyc_file.kyc_ruleset)
    priority = {3: PRIORITY_CRITICAL, 2: PRIORITY_HIGH}.get(kyc_file.urgency, PRIORITY_NORMAL)
    return WorkItem(
        queue=queue_key,
        object_id=str(kyc_file.pk),
        title=f"{_name(kyc_file.profile)}: {what}",
        entity_id=kyc_file.entity_id,
        opened_at=kyc_file.opened,
        url=reverse("admin:kyc_kycfile_decide", args=[kyc_file.pk]),
        detail=" · ".join(parts),
        due_at=deadlines.due_at(queue_key, kyc_file.opened),
        priority=priority,
        person_id=kyc_file.profile.person_id,
    )


# --- screening checks to review -------------------------------------------------------------


def _screening_hits(scope: Scope) -> QuerySet:
    # Only the latest check of its kind counts: a rescreen that cleared the name supersedes it.
    newer = KycCheck.objects.within(scope).filter(
        kyc_file=OuterRef("kyc_file"), kind=OuterRef("kind"), created_at__gt=OuterRef("created_at")
    )
    return (
        KycCheck.objects.within(scope)
        .filter(kind__in=SCREENING_KINDS, result__in=NEEDS_REVIEWER, kyc_file__status__in=UNDECIDED)
        .exclude(Exists(newer))
        .select_related("kyc_file__profile")
        .annotate(
            urgency=Case(
                When(kind=KycCheck.Kind.SANCTIONS, result=KycCheck.Result.FAIL, then=3),
                default=Value(2),
                output_field=IntegerField(),
            )
        )
        .order_by("-urgency", "created_at", "pk")
    )


def _check_item(check: KycCheck, deadlines: Any, queue_key: str) -> WorkItem:
    kyc_file = check.kyc_file
    what = {
        (KycCheck.Kind.SANCTIONS, KycCheck.Result.FAIL): "sanctions screening hit",
        (KycCheck.Kind.SANCTIONS, KycCheck.Result.REVIEW): "possible sanctions match",
    }.get((check.kind, check.result), "possible PEP match")
    hits = (check.evidence or {}).get("hits") or []
    parts = []
    if hits:
        best = max(hits, key=lambda hit: hit.get("score") or 0)
        parts.append(f"best match {best.get('name', '?')} (score {best.get('score', '?')})")
        if len(hits) > 1:
            parts.append(f"{len(hits)} list entries")
    elif (check.evidence or {}).get("reason"):
        parts.append(str(check.evidence["reason"]))
    if (check.evidence or {}).get("list_version"):
        parts.append(f"list version {check.evidence['list_version']}")
    if kyc_file.kyc_ruleset:
        parts.append(kyc_file.kyc_ruleset)
    return WorkItem(
        queue=queue_key,
        object_id=str(check.pk),
        title=f"{_name(kyc_file.profile)}: {what}",
        entity_id=check.entity_id,
        opened_at=check.created_at,
        url=reverse("admin:kyc_kycfile_decide", args=[kyc_file.pk]),
        detail=" · ".join(parts),
        due_at=deadlines.due_at(queue_key, check.created_at),
        priority=PRIORITY_CRITICAL if check.urgency == 3 else PRIORITY_HIGH,
        person_id=kyc_file.profile.person_id,
    )


# --- identity documents about to expire -----------------------------------------------------


def _expiring(scope: Scope, today: date | None = None) -> QuerySet:
    today = today or timezone.localdate()
    # The client's current identity document: a newer upload replaces the expiring one.
    newer = KycDocument.objects.within(scope).filter(
        kyc_file=OuterRef("kyc_file"),
        kind=KycDocument.Kind.IDENTITY,
        version__gt=OuterRef("version"),
    )
    return (
        KycDocument.objects.within(scope)
        .filter(
            kind=KycDocument.Kind.IDENTITY,
            expires_on__gte=today,
            expires_on__lte=today + timedelta(days=EXPIRY_WINDOW_DAYS),
            kyc_file__status=KycFile.Status.APPROVED,
            kyc_file__profile__status=ProfileStatus.ACTIVE,
        )
        .exclude(Exists(newer))
        .select_related("kyc_file__profile")
        .order_by("expires_on", "pk")
    )


def _document_item(document: KycDocument, deadlines: Any, queue_key: str) -> WorkItem:
    kyc_file = document.kyc_file
    today = timezone.localdate()
    left = (document.expires_on - today).days
    # It came into the queue when it entered the window (or was uploaded already inside it).
    entered = datetime.combine(
        document.expires_on - timedelta(days=EXPIRY_WINDOW_DAYS),
        time.min,
        tzinfo=timezone.get_current_timezone(),
    )
    opened = max(entered, document.uploaded_at)
    kind = (document.doc_type or "identity document").replace("_", " ")
    parts = [
        "expires today" if left == 0 else f"expires in {left} day{'s' if left != 1 else ''}",
        _risk(kyc_file),
    ]
    if kyc_file.kyc_ruleset:
        parts.append(kyc_file.kyc_ruleset)
    return WorkItem(
        queue=queue_key,
        object_id=str(document.pk),
        title=f"{_name(kyc_file.profile)}: {kind} expires on {document.expires_on:%Y-%m-%d}",
        entity_id=document.entity_id,
        opened_at=opened,
        url=reverse("admin:kyc_kycdocument_change", args=[document.pk]),
        detail=" · ".join(parts),
        due_at=deadlines.due_at(queue_key, opened),
        priority=PRIORITY_HIGH if left <= EXPIRY_URGENT_DAYS else PRIORITY_NORMAL,
        person_id=kyc_file.profile.person_id,
    )


# --- the queues -----------------------------------------------------------------------------

_QUERIES = {
    REVIEW: (_in_review, _file_item),
    ESCALATED: (_escalated, _file_item),
    EDD: (_edd, _file_item),
    SCREENING_HIT: (_screening_hits, _check_item),
    DOCUMENT_EXPIRING: (_expiring, _document_item),
}


def _fetcher(queue_key: str) -> Any:
    rows, to_item = _QUERIES[queue_key]

    def fetch(scope: Scope, limit: int) -> QueueFetch:
        return _fetched(rows(scope), limit, to_item, queue_key)

    def item(scope: Scope, object_id: str) -> WorkItem | None:
        return _found(rows(scope), object_id, to_item, queue_key)

    return fetch, item


QUEUES = [
    (REVIEW, "KYC files in review", 10, "files the checks could not approve on their own"),
    (
        ESCALATED,
        "Escalated KYC files",
        12,
        "sanctions, PEP or AML triggers, and new screening hits after approval",
    ),
    (SCREENING_HIT, "Screening hits", 14, "sanctions and PEP matches waiting for a reviewer"),
    (EDD, "Enhanced due diligence", 16, "files the entity's rules hold for enhanced checks"),
    (
        DOCUMENT_EXPIRING,
        "Identity documents expiring",
        40,
        f"active clients whose identity document expires within {EXPIRY_WINDOW_DAYS} days",
    ),
]


def register() -> None:
    for key, label, order, description in QUEUES:
        fetch, item = _fetcher(key)
        queue_register(
            Queue(
                key=key,
                label=label,
                perm=DECIDE,
                fetch=fetch,
                item=item,
                order=order,
                description=description,
            )
        )
