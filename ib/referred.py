"""What an IB reads about its own business through the client API: its referral codes with a
link on every brand of its entity, and the clients attributed to it, masked.

Facts about the referred clients are the IB's entity's only (their profile in that entity, the
deposits credited there); a client's business with another entity never shows."""

from __future__ import annotations

from collections import Counter
from typing import Any

from django.db.models import QuerySet

from brokercrm.events.models import Event
from brokercrm.masking import mask_text
from entities.selectors import brands_by_code
from payments.events import DEPOSIT_CREDITED

from .models import IbAssignment, IbPartner, ReferralCode
from .models.partners import referral_link


def _funded(entity_id: int, profile_ids: set[int]) -> set[int]:
    """Which of these profiles had a deposit credited in the entity (from the event stream)."""
    if not profile_ids:
        return set()
    return set(
        Event.objects.filter(
            type=DEPOSIT_CREDITED.name, entity_id=entity_id, profile_id__in=profile_ids
        )
        .values_list("profile_id", flat=True)
        .distinct()
    )


def ib_brands(ib: IbPartner) -> list[Any]:
    """The active brands of the IB's entity: a code works on any of them."""
    return [
        brand
        for brand in brands_by_code().values()
        if brand.entity_id == ib.entity_id and brand.status == "active"
    ]


def ib_referral_links(*, ib: IbPartner) -> list[dict[str, Any]]:
    """The IB's codes, oldest first, each with its link on every active brand of the entity
    and how many clients came through it (and how many of them funded)."""
    codes = list(
        ReferralCode.objects.in_entity(ib.entity_id)
        .filter(ib=ib)
        .select_related("brand")
        .order_by("pk")
    )
    referred = list(
        IbAssignment.objects.in_entity(ib.entity_id)
        .filter(code__in=codes)
        .values_list("code_id", "profile_id")
        .distinct()
    )
    funded = _funded(ib.entity_id, {profile_id for _code, profile_id in referred})
    clients = Counter(code_id for code_id, _profile in referred)
    funded_clients = Counter(code_id for code_id, profile_id in referred if profile_id in funded)
    brands = ib_brands(ib)
    return [
        {
            "id": code.pk,
            "code": code.code,
            "active": code.active,
            "brand": code.brand.code,
            "link": code.link,
            "links": [
                {
                    "brand": brand.code,
                    "brand_name": brand.name,
                    "url": referral_link(brand.domain, code.code),
                }
                for brand in brands
            ],
            "clients": clients[code.pk],
            "funded_clients": funded_clients[code.pk],
            "created_at": code.created_at,
        }
        for code in codes
    ]


def ib_referred_clients(*, ib: IbPartner) -> QuerySet:
    """The clients attributed to the IB now (a client moved to another IB is no longer here),
    newest attribution first."""
    return (
        IbAssignment.objects.in_entity(ib.entity_id)
        .filter(ib=ib, valid_to__isnull=True, profile__entity_id=ib.entity_id)
        .select_related("profile", "code")
        .order_by("-valid_from", "-pk")
    )


def _initials(given: str, family: str) -> str:
    return " ".join(f"{part[:1].upper()}." for part in (given, family) if part)


def referred_rows(assignments: list[IbAssignment], *, entity_id: int) -> list[dict[str, Any]]:
    """The masked view of referred clients an IB may see."""
    funded = _funded(entity_id, {row.profile_id for row in assignments})
    rows = []
    for assignment in assignments:
        profile = assignment.profile
        rows.append(
            {
                "id": assignment.pk,
                "initials": _initials(profile.given_name_latin, profile.family_name_latin),
                "email": mask_text(profile.email) if profile.email else "",
                "country": profile.residence_country,
                "status": profile.status,
                "registered_on": profile.created_at.date(),
                "funded": profile.pk in funded,
                "attributed_since": assignment.valid_from,
                "source": assignment.source,
                "code": assignment.code.code if assignment.code_id else None,
            }
        )
    return rows
