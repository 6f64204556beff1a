"""Reads of identity that other apps make: who a person is, whether they may be served."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from django.db.models import Q

from entities.selectors import legal_documents_current

from .models import ClientProfile, Consent, DuplicateCase, IdentityDocument, Person


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


def profile_email_verified(profile: Any) -> bool:
    """Whether the client has verified the e-mail address the profile has now."""
    return ClientProfile.objects.unscoped().filter(pk=_pk(profile), email_verified=True).exists()


@dataclass(frozen=True)
class DocumentStanding:
    """One of the entity's documents in force, and whether the client accepted that version."""

    document: Any  # entities.LegalDocument
    accepted_at: Any  # datetime | None


def profile_documents(profile: Any) -> list[DocumentStanding]:
    """The entity's documents in force, each with when the client accepted that version."""
    if isinstance(profile, ClientProfile):
        entity_id = profile.entity_id  # a profile never changes entity
    else:
        entity_id = (
            ClientProfile.objects.unscoped().values_list("entity_id", flat=True).get(pk=profile)
        )
    documents = legal_documents_current(entity_id)
    accepted = dict(
        Consent.objects.unscoped()
        .filter(profile_id=_pk(profile), document_id__in=[doc.pk for doc in documents])
        .values_list("document_id", "accepted_at")
    )
    return [DocumentStanding(doc, accepted.get(doc.pk)) for doc in documents]


def profile_consents_missing(profile: Any) -> list[str]:
    """The kinds of document in force the client has not accepted (in their current version)."""
    return [row.document.kind for row in profile_documents(profile) if row.accepted_at is None]
