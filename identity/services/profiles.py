"""Flags and profile edits: group-wide flags and AML blocks on a person, activation and staff
edits of a client profile, with the events they announce."""

from __future__ import annotations

from typing import Any

from django.db import IntegrityError, transaction
from django.utils import timezone

from audit.services import audit_record
from brokercrm.errors import Conflict, ValidationFailed
from brokercrm.events.bus import announce
from brokercrm.gate import authorised_by_caller, is_client, require
from brokercrm.masking import snapshot

from .. import audit_actions as actions
from .. import events
from ..models import ClientProfile, Person
from .common import _flags
from .contact import (
    address_change_mails,
    contact_changes_applied,
    contact_changes_normalised,
    match_keys_follow,
)


def _person_blocked(person: Person, *, entity_id: int | None, reason: str, flags: dict) -> None:
    announce(
        events.PERSON_BLOCKED,
        entity=entity_id,
        person=person,
        payload={"reason": reason, "flags": sorted(name for name, on in flags.items() if on)},
    )


def _profile_activated(profile: ClientProfile, *, reason: str) -> None:
    # Subscribers act in this transaction (the wallets app opens the entity's base wallet).
    announce(
        events.PROFILE_ACTIVATED,
        entity=profile.entity_id,
        person=profile.person_id,
        profile=profile,
        payload={"reason": reason},
    )


@authorised_by_caller
def person_flags_set(
    *, person: Person, reason: str, actor: Any = None, entity: Any = None, **flags: Any
) -> Person:
    """Raise group-wide flags on a person for a decision already authorised by the caller
    (a KYC rejection, a screening hit). Flags are only ever raised here, never cleared."""
    allowed = {"aml_blocked", "sanctions_hit", "pep", "risk_hold", "risk_level"}
    if set(flags) - allowed:
        raise ValidationFailed(
            f"Unknown flags: {sorted(set(flags) - allowed)}.", code="flag_unknown"
        )
    entity_id = entity if isinstance(entity, int) or entity is None else entity.pk
    with transaction.atomic():
        person = Person.objects.select_for_update().get(pk=person.pk)
        before = _flags(person)
        for name, value in flags.items():
            setattr(person, name, value)
        if flags.get("aml_blocked") and person.aml_blocked_at is None:
            person.aml_block_reason = reason
            person.aml_blocked_at = timezone.now()
        person.save()
        audit_record(
            actor=actor,
            action=actions.PERSON_FLAGS_RAISED,
            entity=entity_id,
            obj=person,
            before=before,
            after=_flags(person),
            reason=reason,
        )
        if flags.get("aml_blocked") or flags.get("sanctions_hit"):
            _person_blocked(person, entity_id=entity_id, reason=reason, flags=flags)
    return person


@authorised_by_caller
def profile_activate(*, profile: ClientProfile, reason: str, actor: Any = None) -> ClientProfile:
    """A system decision (KYC approval) makes the profile an active client."""
    with transaction.atomic():
        profile = ClientProfile.objects.unscoped().select_for_update().get(pk=profile.pk)
        if profile.status == ClientProfile.Status.ACTIVE:
            return profile
        before = snapshot(profile, ["status"])
        profile.status = ClientProfile.Status.ACTIVE
        profile.save(update_fields=["status", "updated_at"])
        _profile_activated(profile, reason=reason)
        audit_record(
            actor=actor,
            action=actions.PROFILE_ACTIVATED,
            entity=profile.entity_id,
            obj=profile,
            before=before,
            after={"status": profile.status},
            reason=reason,
        )
    return profile


def person_aml_block(*, actor: Any, person: Person, reason: str, entity: Any) -> Person:
    """Set the group-wide AML block, decided in `entity` (where the actor must have the right)."""
    entity_id = entity if isinstance(entity, int) else entity.pk
    require(actor, "identity.change_person", entity_id)
    if not ClientProfile.objects.in_entity(entity_id).filter(person=person).exists():
        raise ValidationFailed(
            "The person is not a client of this entity.", code="person_not_client"
        )
    with transaction.atomic():
        person = Person.objects.select_for_update().get(pk=person.pk)
        before = _flags(person)
        person.aml_blocked = True
        person.aml_block_reason = reason
        person.aml_blocked_at = timezone.now()
        person.save(
            update_fields=["aml_blocked", "aml_block_reason", "aml_blocked_at", "updated_at"]
        )
        audit_record(
            actor=actor,
            action=actions.PERSON_AML_BLOCKED,
            entity=entity_id,
            obj=person,
            before=before,
            after=_flags(person),
            reason=reason,
        )
        _person_blocked(
            person, entity_id=entity_id, reason=f"AML block: {reason}", flags={"aml_blocked": True}
        )
    return person


PROFILE_EDITABLE = frozenset(
    {
        "desk",
        "assigned_to",
        "status",
        "status_reason",
        "email",
        "phone",
        "language",
        "address_line1",
        "address_line2",
        "city",
        "postcode",
        "agreement_version",
    }
)
# What a client changes about themselves: how to reach them and the language they read.
CLIENT_EDITABLE = frozenset(
    {"email", "phone", "address_line1", "address_line2", "city", "postcode", "language"}
)


def profile_update(
    *, actor: Any, profile: ClientProfile, reason: str = "", **changes: Any
) -> ClientProfile:
    """Change a client profile: staff (who may change the entity's clients) any editable
    field, the client their contact details and language.

    A new e-mail address must be verified again: the client login follows it (another login
    of the entity with that address answers 409 `login_email_taken`), a verification e-mail
    goes to the new address and a notice to the old one. E-mail and phone keep the match
    index in step, so duplicate checks see the details the profile has now."""
    require(actor, "identity.change_clientprofile", profile)
    unknown = set(changes) - (CLIENT_EDITABLE if is_client(actor) else PROFILE_EDITABLE)
    if unknown:
        raise ValidationFailed(
            f"Cannot change: {', '.join(sorted(unknown))}.", code="field_read_only"
        )
    desk = changes.get("desk")
    if desk is not None and desk.entity_id != profile.entity_id:
        raise ValidationFailed("The desk belongs to another entity.", code="desk_entity_mismatch")
    if changes.get("status") == ClientProfile.Status.PENDING:
        raise ValidationFailed("Only duplicate review holds a profile.", code="status_invalid")
    changes = contact_changes_normalised(profile, changes)
    try:
        with transaction.atomic():
            profile = (
                ClientProfile.objects.unscoped()
                .select_for_update()
                .select_related("brand", "entity")
                .get(pk=profile.pk)
            )
            old_email = profile.email
            address = contact_changes_applied(profile, changes)
            before = snapshot(profile, list(changes))
            activated = (
                changes.get("status") == ClientProfile.Status.ACTIVE
                and profile.status != ClientProfile.Status.ACTIVE
            )
            for name, value in changes.items():
                setattr(profile, name, value)
            profile.save()
            match_keys_follow(profile, changes)
            if activated:
                _profile_activated(profile, reason=reason)
            audit_record(
                actor=actor,
                action=actions.PROFILE_UPDATED,
                entity=profile.entity_id,
                obj=profile,
                before=before,
                after=snapshot(profile, list(changes)),
                reason=reason,
            )
            if address.changed:
                address_change_mails(profile, old_email=old_email)
            if changes.get("status") in (
                ClientProfile.Status.RESTRICTED,
                ClientProfile.Status.CLOSED,
            ):
                announce(
                    events.PROFILE_RESTRICTED,
                    entity=profile.entity_id,
                    person=profile.person_id,
                    profile=profile,
                    payload={
                        "status": profile.status,
                        "reason": f"Profile {profile.status}: {reason}",
                    },
                )
    except IntegrityError as exc:
        raise Conflict("The change conflicts with another record.", code="conflict") from exc
    return profile
