"""Writes of the identity layer: registration, review decisions, merges, flags.

Registration is the one path by which a client comes into existence (API now, portal later):
brand + residence country → entity (country routing); the match engine runs before anything is
created, under advisory locks on the registration's strong identifiers so two simultaneous
registrations of one person cannot both miss each other; every outcome is recorded as a
MatchDecision with its evidence and the rule-set version, and audited.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date
from typing import Any

from django.db import IntegrityError, connection, transaction
from django.utils import timezone

from audit.services import audit_record
from brokercrm.errors import ApplicationError, Conflict, PermissionDenied, ValidationFailed
from brokercrm.events.bus import announce
from brokercrm.masking import snapshot
from brokercrm.scoping import scope_for
from entities.selectors import onboarding_entity_for

from . import events
from .crypto import blind_index
from .matching import DocumentValue, MatchResult, Probe, match_probe
from .models import (
    RISK_ORDER,
    ClientProfile,
    DistinctPair,
    DuplicateCase,
    IdentityDocument,
    MatchDecision,
    MatchKey,
    Person,
    PersonMerge,
    TaxIdentifier,
)
from .normalize import (
    NormalizationError,
    birth_date_keys,
    email_display,
    normalize_country,
    normalize_device,
    normalize_document_number,
    normalize_email,
    normalize_ip,
    normalize_phone,
    normalize_tax_id,
    parse_birth_date,
    to_latin,
)

FLAG_FIELDS = (
    "aml_blocked",
    "aml_block_reason",
    "aml_blocked_at",
    "sanctions_hit",
    "pep",
    "risk_hold",
    "risk_level",
    "marketing_email",
    "marketing_sms",
    "marketing_phone",
)


class RegistrationRefused(ApplicationError):
    code = "registration_refused"
    status = 403
    # Deliberately says nothing about what matched.
    default_detail = "We cannot open an account online. Please contact our support team."


@dataclass
class DocumentInput:
    doc_type: str
    number: str
    issuing_country: str
    expires_on: date | None = None


@dataclass
class RegistrationInput:
    given_name: str
    family_name: str
    birth_date: date | str
    residence_country: str
    email: str
    phone: str = ""
    nationality: str = ""
    address_line1: str = ""
    address_line2: str = ""
    city: str = ""
    postcode: str = ""
    email_verified: bool = False
    document: DocumentInput | None = None
    tax_id_country: str = ""
    tax_id: str = ""
    device_fingerprint: str = ""
    ip: str = ""
    agreement_version: str = ""
    referral_code: str = ""


@dataclass
class RegistrationResult:
    outcome: str
    decision: MatchDecision
    profile: ClientProfile | None
    person: Person | None
    # None: no code given (or no profile made); False: kept for review, attributes nothing.
    referral_attributed: bool | None = None


@dataclass
class _Normalised:
    probe: Probe
    given_latin: str
    family_latin: str
    birth_date: date
    residence_country: str
    nationality: str
    email_display: str
    document: DocumentInput | None
    tax_country: str
    tax_number: str


def _normalise(data: RegistrationInput) -> _Normalised:
    try:
        residence = normalize_country(data.residence_country)
        nationality = normalize_country(data.nationality) if data.nationality else ""
        birth = parse_birth_date(data.birth_date)
        email = normalize_email(data.email)
        phone = normalize_phone(data.phone, residence) if data.phone else None
        documents = []
        document = data.document
        if document is not None:
            number = normalize_document_number(document.number)
            issuing = normalize_country(document.issuing_country)
            document = DocumentInput(document.doc_type, number, issuing, document.expires_on)
            documents.append(DocumentValue(document.doc_type, issuing, number))
        tax_ids = []
        tax_country = tax_number = ""
        if data.tax_id:
            tax_country = normalize_country(data.tax_id_country or residence)
            tax_key = normalize_tax_id(data.tax_id, tax_country)
            tax_ids.append(tax_key)
            tax_number = tax_key.partition(":")[2]
        ip, subnet = normalize_ip(data.ip) if data.ip else (None, None)
        device = normalize_device(data.device_fingerprint) if data.device_fingerprint else None
        given_latin, family_latin = to_latin(data.given_name), to_latin(data.family_name)
        probe = Probe(
            given_name=data.given_name,
            family_name=data.family_name,
            birth_date=birth,
            birth_date_keys=birth_date_keys(birth),
            email=email,
            phone=phone,
            documents=documents,
            tax_ids=tax_ids,
            device=device,
            ip=ip,
            subnet=subnet,
            nationality=nationality,
        )
        probe.tokens  # noqa: B018 - validates the names (raises name_invalid)
        display = email_display(data.email)
    except NormalizationError as exc:
        raise ValidationFailed(str(exc), code=exc.code) from exc
    return _Normalised(
        probe,
        given_latin,
        family_latin,
        birth,
        residence,
        nationality,
        display,
        document,
        tax_country,
        tax_number,
    )


def _lock_identifiers(probe: Probe) -> None:
    """Serialise registrations that share a strong identifier until this one commits."""
    digests = sorted(
        {
            digest
            for kind, digest in probe.digests(probing=True)
            if kind not in {"device", "ip", "subnet"}
        }
    )
    with connection.cursor() as cursor:
        for digest in digests:
            cursor.execute(
                "SELECT pg_advisory_xact_lock(%s)", [int.from_bytes(digest[:8], "big", signed=True)]
            )


def _write_keys(profile: ClientProfile, probe: Probe) -> None:
    MatchKey.objects.bulk_create(
        [
            MatchKey(person_id=profile.person_id, profile=profile, kind=kind, digest=digest)
            for kind, digest in dict.fromkeys(probe.digests(probing=False))
        ],
        ignore_conflicts=True,
    )


def _age_years(born: date, today: date) -> int:
    return today.year - born.year - ((today.month, today.day) < (born.month, born.day))


def registration_submit(*, brand: Any, data: RegistrationInput) -> RegistrationResult:
    """Register a client through `brand`. Returns what happened; raises only for bad input,
    a refused country, or an applicant too young (nothing is written then)."""
    values = _normalise(data)
    referral_code = _referral_code_checked(data.referral_code)
    routing = onboarding_entity_for(brand=brand, country=values.residence_country)
    min_age = int(routing.ruleset.document.get("min_age_years", 18))
    if _age_years(values.birth_date, timezone.localdate()) < min_age:
        raise ValidationFailed(
            f"Applicants must be at least {min_age} years old.", code="applicant_too_young"
        )
    entity = routing.entity
    with transaction.atomic(durable=True):
        _lock_identifiers(values.probe)
        match = match_probe(values.probe)
        outcome = match.outcome
        person: Person | None = None
        if outcome == "auto_link":
            person = Person.objects.select_for_update().get(pk=match.best.person_id)
            if ClientProfile.objects.in_entity(entity).filter(person=person).exists():
                outcome = MatchDecision.Outcome.DUPLICATE
        profile = None
        if outcome in ("new", "review"):
            person = Person.objects.create(
                given_name=values.given_latin,
                family_name=values.family_latin,
                birth_date=values.birth_date,
                nationality=values.nationality,
            )
        if outcome in ("new", "review", "auto_link"):
            profile = _profile_create(
                entity, brand, person, data, values, routing.ruleset.reference, outcome
            )
        decision = MatchDecision.objects.create(
            entity=entity,
            brand=brand,
            outcome=outcome,
            person=person if outcome != "block" else None,
            profile=profile,
            candidate_id=match.best.person_id if match.best else None,
            confidence=match.confidence,
            explanation=match.explanation(),
            ruleset=routing.ruleset.reference,
        )
        if outcome == "review":
            DuplicateCase.objects.create(
                entity=entity,
                profile=profile,
                new_person=person,
                candidate_id=match.best.person_id,
                decision=decision,
                confidence=match.confidence,
                explanation=match.explanation(),
            )
        referral_attributed = None
        if profile is not None:
            # Subscribers act in this transaction: the IB app attributes a referral code (one of
            # another entity, or an unknown one, attributes nothing and is kept for review; the
            # registration goes ahead either way).
            announced = announce(
                events.REGISTRATION_ACCEPTED,
                entity=entity,
                person=profile.person_id,
                profile=profile,
                payload={"outcome": outcome, "referral_code": referral_code or ""},
                actor_label=f"brand:{brand.code}",
            )
            referral_attributed = announced.replies.get("referral_attributed")
        audit_record(
            actor=None,
            actor_label=f"brand:{brand.code}",
            action=f"identity.registration_{outcome}",
            entity=entity,
            obj=profile or decision,
            after={
                "decision_id": decision.pk,
                "outcome": outcome,
                "confidence": str(match.confidence),
                "ruleset": routing.ruleset.reference,
                "routing": routing.explanation,
                "match": match.explanation(),
                "referral_code": referral_code,
                "referral_attributed": referral_attributed,
            },
        )
    return RegistrationResult(
        outcome=outcome,
        decision=decision,
        profile=profile,
        person=person,
        referral_attributed=referral_attributed,
    )


_REFERRAL_CODE = re.compile(r"[-a-zA-Z0-9_]{1,40}")


def _referral_code_checked(code: str) -> str:
    """A referral code as typed in a link: a slug of at most 40 characters, or nothing."""
    if not isinstance(code, str):
        raise ValidationFailed("The referral code must be text.", code="referral_code_invalid")
    code = code.strip()
    if code and not _REFERRAL_CODE.fullmatch(code):
        raise ValidationFailed(
            "A referral code has at most 40 letters, digits, hyphens or underscores.",
            code="referral_code_invalid",
        )
    return code


def _profile_create(
    entity: Any,
    brand: Any,
    person: Person,
    data: RegistrationInput,
    values: _Normalised,
    ruleset: str,
    outcome: str,
) -> ClientProfile:
    probe = values.probe
    profile = ClientProfile.objects.create(
        entity=entity,
        person=person,
        brand=brand,
        status=ClientProfile.Status.PENDING
        if outcome == "review"
        else ClientProfile.Status.APPLICANT,
        agreement_version=data.agreement_version[:40],
        given_name=data.given_name.strip()[:200],
        family_name=data.family_name.strip()[:200],
        given_name_latin=values.given_latin[:200],
        family_name_latin=values.family_latin[:200],
        birth_date=values.birth_date,
        nationality=values.nationality,
        residence_country=values.residence_country,
        address_line1=data.address_line1.strip()[:200],
        address_line2=data.address_line2.strip()[:200],
        city=data.city.strip()[:100],
        postcode=data.postcode.strip()[:20],
        email=values.email_display,
        email_canonical=probe.email or "",
        email_verified=data.email_verified,
        phone=probe.phone or "",
        registration_ip=probe.ip,
        device_fingerprint=probe.device or "",
        routing_ruleset=ruleset,
    )
    if values.document is not None:
        document = values.document
        IdentityDocument.objects.create(
            entity=entity,
            profile=profile,
            doc_type=document.doc_type,
            number=document.number,
            number_index=blind_index(
                MatchKey.Kind.DOCUMENT, f"{document.issuing_country}:{document.number}"
            ),
            issuing_country=document.issuing_country,
            expires_on=document.expires_on,
        )
    if values.tax_number:
        TaxIdentifier.objects.create(
            entity=entity,
            profile=profile,
            country=values.tax_country,
            number=values.tax_number,
            number_index=blind_index(
                MatchKey.Kind.TAX, f"{values.tax_country}:{values.tax_number}"
            ),
        )
    _write_keys(profile, probe)
    return profile


# --- merges -----------------------------------------------------------------------------


def _flags(person: Person) -> dict[str, Any]:
    return snapshot(person, list(FLAG_FIELDS))


def _union_flags(survivor: Person, merged: Person) -> None:
    """Whatever either person carried, the merged person carries: a merge never clears a flag."""
    if merged.aml_blocked and not survivor.aml_blocked:
        survivor.aml_blocked = True
        survivor.aml_block_reason = merged.aml_block_reason
        survivor.aml_blocked_at = merged.aml_blocked_at
    survivor.sanctions_hit |= merged.sanctions_hit
    survivor.pep |= merged.pep
    survivor.risk_hold |= merged.risk_hold
    survivor.risk_level = max(survivor.risk_level, merged.risk_level, key=RISK_ORDER.index)
    # Consent is the narrower of the two.
    survivor.marketing_email &= merged.marketing_email
    survivor.marketing_sms &= merged.marketing_sms
    survivor.marketing_phone &= merged.marketing_phone


def _restore_flags(person: Person, saved: dict[str, Any]) -> None:
    for name in FLAG_FIELDS:
        field = person._meta.get_field(name)
        setattr(person, name, field.to_python(saved.get(name)))


def person_merge(
    *,
    actor: Any,
    survivor: Person,
    merged: Person,
    case: DuplicateCase | None = None,
    reason: str = "",
) -> PersonMerge:
    """Merge `merged` into `survivor`: profiles and match keys move, flags are unioned."""
    if survivor.pk == merged.pk:
        raise ValidationFailed("A person cannot be merged into itself.", code="merge_same_person")
    with transaction.atomic():
        locked = {
            p.pk: p
            for p in Person.objects.select_for_update()
            .filter(pk__in=[survivor.pk, merged.pk])
            .order_by("pk")
        }
        survivor, merged = locked[survivor.pk], locked[merged.pk]
        if Person.Status.MERGED in (survivor.status, merged.status):
            raise Conflict("One of these persons was already merged.", code="merge_person_merged")
        moved = list(
            ClientProfile.objects.unscoped().filter(person=merged).values_list("pk", "entity_id")
        )
        survivor_entities = set(
            ClientProfile.objects.unscoped()
            .filter(person=survivor)
            .values_list("entity_id", flat=True)
        )
        if survivor_entities & {entity_id for _, entity_id in moved}:
            raise Conflict(
                "Both persons are clients of the same entity; close the duplicate profile instead.",
                code="merge_same_entity",
            )
        record = PersonMerge.objects.create(
            survivor=survivor,
            merged=merged,
            case=case,
            moved_profile_ids=[pk for pk, _ in moved],
            survivor_before=_flags(survivor),
            merged_before=_flags(merged),
            performed_by=actor if getattr(actor, "is_authenticated", False) else None,
            performed_at=timezone.now(),
            reason=reason,
        )
        moved_ids = [pk for pk, _ in moved]
        ClientProfile.objects.unscoped().filter(pk__in=moved_ids).update(person=survivor)
        MatchKey.objects.filter(profile_id__in=moved_ids).update(person=survivor)
        _union_flags(survivor, merged)
        survivor.save()
        merged.status = Person.Status.MERGED
        merged.merged_into = survivor
        merged.save(update_fields=["status", "merged_into", "updated_at"])
        audit_record(
            actor=actor,
            action="identity.person_merged",
            entity=case.entity_id if case else None,
            obj=record,
            before={"survivor": record.survivor_before, "merged": record.merged_before},
            after={
                "survivor_id": survivor.pk,
                "merged_id": merged.pk,
                "profiles_moved": moved_ids,
                "survivor_flags": _flags(survivor),
            },
            reason=reason,
        )
    return record


def person_unmerge(*, actor: Any, merge: PersonMerge, reason: str = "") -> PersonMerge:
    """Undo a merge: both persons, their profiles, keys and flags as they were before it."""
    with transaction.atomic():
        merge = PersonMerge.objects.select_for_update().get(pk=merge.pk)
        if merge.undone_at is not None:
            raise Conflict("This merge was already undone.", code="merge_already_undone")
        persons = {
            p.pk: p
            for p in Person.objects.select_for_update()
            .filter(pk__in=[merge.survivor_id, merge.merged_id])
            .order_by("pk")
        }
        survivor, merged = persons[merge.survivor_id], persons[merge.merged_id]
        if merged.merged_into_id != survivor.pk:
            raise Conflict(
                "The merged person has changed since; undo later merges first.",
                code="merge_not_reversible",
            )
        ClientProfile.objects.unscoped().filter(pk__in=merge.moved_profile_ids).update(
            person=merged
        )
        MatchKey.objects.filter(profile_id__in=merge.moved_profile_ids).update(person=merged)
        _restore_flags(survivor, merge.survivor_before)
        survivor.save()
        _restore_flags(merged, merge.merged_before)
        merged.status = Person.Status.ACTIVE
        merged.merged_into = None
        merged.save()
        merge.undone_at = timezone.now()
        merge.undone_by = actor if getattr(actor, "is_authenticated", False) else None
        merge.save(update_fields=["undone_at", "undone_by"])
        case_entity = None
        if merge.case_id:
            case = DuplicateCase.objects.unscoped().select_for_update().get(pk=merge.case_id)
            case_entity = case.entity_id
            case.status = DuplicateCase.Status.OPEN
            case.save(update_fields=["status"])
            ClientProfile.objects.unscoped().filter(pk=case.profile_id).update(
                status=ClientProfile.Status.PENDING
            )
        audit_record(
            actor=actor,
            action="identity.person_unmerged",
            entity=case_entity,
            obj=merge,
            after={
                "survivor_id": survivor.pk,
                "restored_id": merged.pk,
                "profiles_restored": merge.moved_profile_ids,
            },
            reason=reason,
        )
    return merge


# --- review decisions ---------------------------------------------------------------------


def duplicate_case_decide(
    *, actor: Any, case: DuplicateCase, decision: str, reason: str
) -> DuplicateCase:
    """link (merge into the candidate), distinct (different people), or block."""
    if decision not in ("link", "distinct", "block"):
        raise ValidationFailed("Decide link, distinct or block.", code="decision_invalid")
    if not reason.strip():
        raise ValidationFailed("Give a reason for the audit trail.", code="reason_required")
    if not scope_for(actor, "identity.review_duplicatecase").allows_entity(case.entity_id):
        raise PermissionDenied(
            "You may not decide duplicate cases in this entity.", code="permission_denied"
        )
    with transaction.atomic():
        case = DuplicateCase.objects.unscoped().select_for_update().get(pk=case.pk)
        if case.status != DuplicateCase.Status.OPEN:
            raise Conflict("This case was already decided.", code="case_decided")
        profile = ClientProfile.objects.unscoped().select_for_update().get(pk=case.profile_id)
        before = {"status": case.status, "profile_status": profile.status}
        if decision == "link":
            person_merge(
                actor=actor,
                survivor=Person.objects.get(pk=case.candidate_id),
                merged=Person.objects.get(pk=case.new_person_id),
                case=case,
                reason=reason,
            )
            case.status = DuplicateCase.Status.LINKED
            profile.status = ClientProfile.Status.APPLICANT
        elif decision == "distinct":
            low, high = sorted([case.candidate_id, case.new_person_id])
            DistinctPair.objects.get_or_create(
                person_low_id=low, person_high_id=high, defaults={"decided_by": actor}
            )
            case.status = DuplicateCase.Status.DISTINCT
            profile.status = ClientProfile.Status.APPLICANT
        else:
            person = Person.objects.select_for_update().get(pk=case.new_person_id)
            person.aml_blocked = True
            person.aml_block_reason = f"Duplicate registration blocked: {reason}"
            person.aml_blocked_at = timezone.now()
            person.save(
                update_fields=["aml_blocked", "aml_block_reason", "aml_blocked_at", "updated_at"]
            )
            case.status = DuplicateCase.Status.BLOCKED
            profile.status = ClientProfile.Status.CLOSED
            profile.status_reason = "Registration blocked after duplicate review"
        profile.save(update_fields=["status", "status_reason", "updated_at"])
        case.decided_by = actor
        case.decided_at = timezone.now()
        case.decision_reason = reason
        case.save(update_fields=["status", "decided_by", "decided_at", "decision_reason"])
        audit_record(
            actor=actor,
            action=f"identity.duplicate_case_{decision}",
            entity=case.entity_id,
            obj=case,
            before=before,
            after={"status": case.status, "profile_status": profile.status},
            reason=reason,
        )
    return case


# --- flags and profile edits --------------------------------------------------------------


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
            action="identity.person_flags_raised",
            entity=entity_id,
            obj=person,
            before=before,
            after=_flags(person),
            reason=reason,
        )
        if flags.get("aml_blocked") or flags.get("sanctions_hit"):
            _person_blocked(person, entity_id=entity_id, reason=reason, flags=flags)
    return person


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
            action="identity.profile_activated",
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
    if actor is not None and not scope_for(actor, "identity.change_person").allows_entity(
        entity_id
    ):
        raise PermissionDenied(code="permission_denied")
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
            action="identity.person_aml_blocked",
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
        "address_line1",
        "address_line2",
        "city",
        "postcode",
        "agreement_version",
    }
)


def profile_update(
    *, actor: Any, profile: ClientProfile, reason: str = "", **changes: Any
) -> ClientProfile:
    unknown = set(changes) - PROFILE_EDITABLE
    if unknown:
        raise ValidationFailed(
            f"Cannot change: {', '.join(sorted(unknown))}.", code="field_read_only"
        )
    if not scope_for(actor, "identity.change_clientprofile").contains(profile):
        raise PermissionDenied(code="permission_denied")
    desk = changes.get("desk")
    if desk is not None and desk.entity_id != profile.entity_id:
        raise ValidationFailed("The desk belongs to another entity.", code="desk_entity_mismatch")
    if changes.get("status") == ClientProfile.Status.PENDING:
        raise ValidationFailed("Only duplicate review holds a profile.", code="status_invalid")
    try:
        with transaction.atomic():
            profile = ClientProfile.objects.unscoped().select_for_update().get(pk=profile.pk)
            before = snapshot(profile, list(changes))
            activated = (
                changes.get("status") == ClientProfile.Status.ACTIVE
                and profile.status != ClientProfile.Status.ACTIVE
            )
            for name, value in changes.items():
                setattr(profile, name, value)
            profile.save()
            if activated:
                _profile_activated(profile, reason=reason)
            audit_record(
                actor=actor,
                action="identity.profile_updated",
                entity=profile.entity_id,
                obj=profile,
                before=before,
                after=snapshot(profile, list(changes)),
                reason=reason,
            )
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


__all__ = [
    "DocumentInput",
    "MatchResult",
    "RegistrationInput",
    "RegistrationRefused",
    "RegistrationResult",
    "duplicate_case_decide",
    "person_aml_block",
    "person_merge",
    "person_unmerge",
    "profile_update",
    "registration_submit",
]
