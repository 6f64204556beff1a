"""Registration: the one path by which a client comes into existence (API now, portal later).

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

from django.conf import settings
from django.db import connection, transaction
from django.utils import timezone

from audit.services import audit_record
from brokercrm.errors import ApplicationError, ValidationFailed
from brokercrm.events.bus import announce
from entities.selectors import desk_for_country, onboarding_entity_for

from .. import audit_actions as actions
from .. import events
from ..crypto import blind_index
from ..logins import client_login_add, client_password_checked
from ..matching import DocumentValue, Probe, match_probe
from ..models import (
    ClientProfile,
    DuplicateCase,
    IdentityDocument,
    MatchDecision,
    MatchKey,
    Person,
    TaxIdentifier,
)
from ..normalize import (
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
from .notices import profile_notices_raise
from .verification import verification_mail


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
    # The client's language (settings.LANGUAGES) and, when the brand's sign-up form asks for
    # one, the password of the client's login, opened with the profile.
    language: str = "en"
    password: str = ""


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
    language = _language_checked(data.language)
    if data.password:
        client_password_checked(
            password=data.password,
            email=values.email_display,
            given_name=data.given_name,
            family_name=data.family_name,
        )
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
                entity, brand, person, data, values, routing.ruleset.reference, outcome, language
            )
            if data.password:
                client_login_add(profile=profile, password=data.password)
            if outcome == "auto_link":
                # The entities that already know the person learn of the new profile.
                profile_notices_raise(new_profile_ids=[profile.pk])
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
            if not profile.email_verified:
                # After commit: a registration that rolls back sends nothing.
                verification_mail(profile)
        audit_record(
            actor=None,
            actor_label=f"brand:{brand.code}",
            action=actions.REGISTRATION_BY_OUTCOME[outcome],
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


def _language_checked(language: str) -> str:
    if language not in dict(settings.LANGUAGES):
        choices = ", ".join(code for code, _name in settings.LANGUAGES)
        raise ValidationFailed(f"The language is one of {choices}.", code="language_unsupported")
    return language


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
    language: str,
) -> ClientProfile:
    probe = values.probe
    profile = ClientProfile.objects.create(
        entity=entity,
        person=person,
        brand=brand,
        # The desk that covers the client's country of residence, if any does.
        desk=desk_for_country(entity.pk, values.residence_country),
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
        language=language,
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
