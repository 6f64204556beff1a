"""Reads of identity that other apps make: who a person is, whether they may be served."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from django.db.models import Q

from .models import ClientProfile, DuplicateCase, IdentityDocument, Person


def _pk(value: Any) -> int:
    return value if isinstance(value, int) else value.pk


def person_is_blocked(person: Any) -> bool:
    """Whether the person (row or id) carries the group-wide AML block."""
    return Person.objects.filter(pk=_pk(person), aml_blocked=True).exists()


@dataclass(frozen=True)
class PersonFlags:
    """The group-wide flags of a person, whichever entity raised them."""

    aml_blocked: bool
    risk_hold: bool
    sanctions_hit: bool
    pep: bool
    risk_level: str


def person_flags(person: Any) -> PersonFlags:
    row = Person.objects.values("aml_blocked", "risk_hold", "sanctions_hit", "pep", "risk_level")
    return PersonFlags(**row.get(pk=_pk(person)))


def profile_get(profile: Any) -> ClientProfile:
    """A client profile by id, with its entity, for work done for the system (event handlers,
    jobs): the caller has already decided it may act; staff reads go through scoped querysets."""
    return ClientProfile.objects.unscoped().select_related("entity", "person").get(pk=_pk(profile))


def profile_for_update(profile: Any) -> ClientProfile:
    """The profile row locked for the rest of the caller's transaction."""
    return ClientProfile.objects.unscoped().select_for_update().get(pk=_pk(profile))


def profile_ids_of_person(person: Any) -> list[int]:
    """Every client profile of the person, in every entity."""
    return list(
        ClientProfile.objects.unscoped().filter(person_id=_pk(person)).values_list("pk", flat=True)
    )


def profile_visible(*, user: Any, profile_id: int) -> ClientProfile | None:
    """A client profile the user may see, or None (admin forms take ids, not pick lists of
    every client)."""
    return (
        ClientProfile.objects.visible_to(user, "identity.view_clientprofile")
        .filter(pk=profile_id)
        .first()
    )


def person_get(person: Any) -> Person:
    """The person row, for checks made for the system (screening, risk scoring)."""
    return Person.objects.get(pk=_pk(person))


def registered_document(profile: Any) -> IdentityDocument | None:
    """The identity document the client gave at registration, if any."""
    return IdentityDocument.objects.unscoped().filter(profile_id=_pk(profile)).first()


def person_has_duplicate_history(person: Any) -> bool:
    """Whether the person was ever part of a duplicate review, as newcomer or candidate."""
    person_id = _pk(person)
    return (
        DuplicateCase.objects.unscoped()
        .filter(Q(new_person_id=person_id) | Q(candidate_id=person_id))
        .exists()
    )
