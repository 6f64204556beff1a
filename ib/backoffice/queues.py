"""The IB app's work on the back office's "My work" page: referrals that attributed nothing
(an unknown code, another entity's code, a suspended IB's code), for an IB manager to
attribute to one of the entity's IBs or dismiss."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from django.db.models import Case, IntegerField, Q, QuerySet, Value, When
from django.urls import reverse
from django.utils import timezone

from brokercrm.backoffice.registry import (
    PRIORITY_HIGH,
    PRIORITY_NORMAL,
    Queue,
    QueueFetch,
    WorkItem,
    queue_register,
)
from brokercrm.scoping import Scope
from entities.work_queues import row_item, rows_fetch

from ..models import ReferralReview

REFERRAL_REVIEW = "ib.referral_review"
# The permission `referral_review_resolve` asks for.
DECIDE_PERM = "ib.change_referralreview"

REASONS = {
    "referral_unknown": "unknown referral code",
    "referral_other_entity": "another entity's referral code",
    "referral_ib_suspended": "the IB is suspended",
}
# A client left this long without a decision may already trade, earning nobody a rebate
# or the wrong IB one when it is finally attributed.
REVIEW_STALE = timedelta(days=7)


def _urgency() -> Case:
    stale = Q(created_at__lt=timezone.now() - REVIEW_STALE)
    return Case(
        When(stale | Q(reason="referral_ib_suspended"), then=Value(PRIORITY_HIGH)),
        default=Value(PRIORITY_NORMAL),
        output_field=IntegerField(),
    )


def referral_reviews_open(scope: Scope) -> QuerySet:
    return (
        ReferralReview.objects.within(scope)
        .filter(status=ReferralReview.Status.OPEN)
        .select_related("profile")
        .annotate(urgency=_urgency())
        .order_by("-urgency", "created_at", "pk")
    )


def _build(review: ReferralReview, deadlines: Any) -> WorkItem:
    profile = review.profile
    client = f"{profile.given_name} {profile.family_name}".strip() or profile.email
    return WorkItem(
        queue=REFERRAL_REVIEW,
        object_id=str(review.pk),
        title=f"{client}: referral code “{review.code_text}” attributed nobody",
        detail=REASONS.get(review.reason, review.reason.replace("_", " ")),
        entity_id=review.entity_id,
        opened_at=review.created_at,
        due_at=deadlines.due_at(REFERRAL_REVIEW, review.created_at),
        priority=review.urgency,
        person_id=profile.person_id,
        url=reverse("admin:ib_referralreview_change", args=[review.pk]),
    )


def referral_reviews_fetch(scope: Scope, limit: int) -> QueueFetch:
    """Three queries at most, whatever the number of rows."""
    if scope.is_empty:
        return QueueFetch(0, [])
    return rows_fetch(referral_reviews_open(scope), limit, _build)


def referral_review_item(scope: Scope, object_id: str) -> WorkItem | None:
    return None if scope.is_empty else row_item(referral_reviews_open(scope), object_id, _build)


def register() -> None:
    queue_register(
        Queue(
            key=REFERRAL_REVIEW,
            label="Referral reviews",
            perm=DECIDE_PERM,
            fetch=referral_reviews_fetch,
            item=referral_review_item,
            order=60,
            description="Referrals that attributed nobody: attribute to an IB or dismiss.",
        )
    )
