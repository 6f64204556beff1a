"""A person as the client 360 shows them, and finding clients by what staff know of them."""

from __future__ import annotations

import contextlib
from typing import Any

from django.db.models import Q

from brokercrm.backoffice.registry import (
    ClientSubject,
    ProfileRef,
    person_finder_register,
    subject_loader_register,
)
from brokercrm.reference import COUNTRIES
from brokercrm.scoping import scope_for

from ..crypto import blind_index
from ..models import ClientProfile, IdentityDocument, MatchKey, Person
from ..normalize.contact import normalize_email, normalize_phone
from ..normalize.documents import normalize_document_number
from ..normalize.errors import NormalizationError

VIEW_PROFILE = "identity.view_clientprofile"


def subject_load(user: Any, person_id: int) -> ClientSubject | None:
    person = Person.objects.filter(pk=person_id).first()
    if person is None:
        return None
    if person.merged_into_id:
        person = Person.objects.filter(pk=person.merged_into_id).first() or person
    scope = scope_for(user, VIEW_PROFILE)
    profiles = list(
        ClientProfile.objects.unscoped()
        .filter(person=person)
        .select_related("entity", "brand", "desk")
        .order_by("created_at")
    )
    refs = []
    for profile in profiles:
        visible = scope.contains(profile)
        refs.append(
            ProfileRef(
                id=profile.pk,
                entity_id=profile.entity_id,
                entity_code=profile.entity.code,
                entity_name=profile.entity.legal_name,
                status=profile.get_status_display(),
                created_at=profile.created_at,
                visible=visible,
                # What another entity holds is existence and status only.
                brand=profile.brand.name if visible else "",
                desk=profile.desk.name if visible and profile.desk_id else "",
                email=profile.email if visible else "",
            )
        )
    shown = next((p for p, ref in zip(profiles, refs, strict=True) if ref.visible), None)
    name = (
        f"{shown.given_name} {shown.family_name}"
        if shown
        else f"{person.given_name} {person.family_name}"
    )
    return ClientSubject(
        person_id=person.pk,
        display_name=name,
        profiles=refs,
        flags={
            "aml_blocked": person.aml_blocked,
            "sanctions_hit": person.sanctions_hit,
            "pep": person.pep,
            "risk_hold": person.risk_hold,
            "risk_level": person.get_risk_level_display().lower()
            if person.risk_level != "unknown"
            else "",
        },
    )


def _visible_profiles(user: Any) -> Any:
    return ClientProfile.objects.visible_to(user, VIEW_PROFILE)


def persons_by_contact_or_name(user: Any, text: str, limit: int) -> list[int]:
    """E-mail (exact, canonical), phone (E.164 after normalising), or name words."""
    profiles = _visible_profiles(user)
    condition = Q()
    if "@" in text:
        with contextlib.suppress(NormalizationError):
            condition |= Q(email_canonical=normalize_email(text))
    digits = text.replace(" ", "").replace("-", "")
    if digits.lstrip("+").isdigit() and len(digits) >= 6:
        with contextlib.suppress(NormalizationError):
            condition |= Q(phone=normalize_phone(digits, None))
    words = [word for word in text.split() if len(word) >= 2 and "@" not in word]
    if words:
        name = Q()
        for word in words:
            name &= (
                Q(given_name__icontains=word)
                | Q(family_name__icontains=word)
                | Q(given_name_latin__icontains=word)
                | Q(family_name_latin__icontains=word)
            )
        condition |= name
    if not condition:
        return []
    return list(
        profiles.filter(condition)
        .order_by("-created_at")
        .values_list("person_id", flat=True)
        .distinct()[:limit]
    )


def persons_by_document(user: Any, text: str, limit: int) -> list[int]:
    """A document number through its blind index: the number is stored encrypted, and its
    digest includes the issuing country, so every country's digest is asked for at once."""
    try:
        number = normalize_document_number(text)
    except NormalizationError:
        return []
    if len(number) < 5:
        return []
    digests = [blind_index(MatchKey.Kind.DOCUMENT, f"{country}:{number}") for country in COUNTRIES]
    return list(
        IdentityDocument.objects.visible_to(user, VIEW_PROFILE)
        .filter(number_index__in=digests)
        .values_list("profile__person_id", flat=True)
        .distinct()[:limit]
    )


def register() -> None:
    subject_loader_register(subject_load)
    person_finder_register("identity.contact_or_name", persons_by_contact_or_name)
    person_finder_register("identity.document", persons_by_document)
