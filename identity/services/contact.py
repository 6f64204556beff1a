"""Contact details of a profile changing (`profile_update`): the address, phone and language
as typed become their normal forms, the client login follows a new address, and the match
index keeps the details the profile has now."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from django.conf import settings

from brokercrm.accounts.models import User
from brokercrm.errors import Conflict, ValidationFailed

from .. import mail
from ..crypto import blind_index
from ..logins import client_username
from ..models import ClientProfile, MatchKey
from ..normalize import NormalizationError, email_display, normalize_email, normalize_phone
from .verification import verification_mail

_TEXT_LIMITS = {"address_line1": 200, "address_line2": 200, "city": 100, "postcode": 20}


@dataclass(frozen=True)
class AddressChange:
    changed: bool  # a different mailbox: verify again, tell the old one


def contact_changes_normalised(profile: ClientProfile, changes: dict[str, Any]) -> dict[str, Any]:
    """The changes with e-mail and phone in their stored forms; bad values raise 400."""
    changes = dict(changes)
    try:
        if "email" in changes:
            raw = changes["email"]
            if not isinstance(raw, str):
                raise NormalizationError("email_invalid", "The e-mail address must be text.")
            changes["email"] = email_display(raw)
            changes["email_canonical"] = normalize_email(raw)
        if "phone" in changes:
            raw = changes["phone"]
            if not isinstance(raw, str):
                raise NormalizationError("phone_invalid", "The phone number must be text.")
            changes["phone"] = normalize_phone(raw, profile.residence_country) if raw else ""
    except NormalizationError as exc:
        raise ValidationFailed(str(exc), code=exc.code) from exc
    if "language" in changes and changes["language"] not in dict(settings.LANGUAGES):
        raise ValidationFailed(
            f"Choose one of the languages: {', '.join(dict(settings.LANGUAGES))}.",
            code="language_unknown",
        )
    for name, limit in _TEXT_LIMITS.items():
        if name in changes:
            value = changes[name]
            if not isinstance(value, str) or len(value.strip()) > limit:
                raise ValidationFailed(
                    f"{name} must be text of at most {limit} characters.", code="invalid"
                )
            changes[name] = value.strip()
    return changes


def contact_changes_applied(profile: ClientProfile, changes: dict[str, Any]) -> AddressChange:
    """On the locked profile: a new mailbox unverifies the address and moves the client
    login to it (in `changes` and on the login row). Raises 409 when another login of the
    entity has that address."""
    if "email_canonical" not in changes:
        return AddressChange(changed=False)
    canonical = changes["email_canonical"]
    if changes["email"] == profile.email:
        del changes["email"], changes["email_canonical"]
        return AddressChange(changed=False)
    changed = canonical != profile.email_canonical
    if changed:
        changes["email_verified"] = False
    else:
        del changes["email_canonical"]  # the same mailbox, written differently
    login = User.objects.select_for_update().filter(profile_id=profile.pk).first()
    if login is not None:
        username = client_username(entity_code=profile.entity.code, email_canonical=canonical)
        if User.objects.filter(username=username).exclude(pk=login.pk).exists():
            raise Conflict(
                "Another client of this entity logs in with this e-mail address.",
                code="login_email_taken",
            )
        login.username = username
        login.email = changes["email"]
        login.save(update_fields=["username", "email"])
    return AddressChange(changed=changed)


def _key_replaced(profile: ClientProfile, kind: str, value: str) -> None:
    MatchKey.objects.filter(profile=profile, kind=kind).delete()
    if value:
        MatchKey.objects.create(
            person_id=profile.person_id,
            profile=profile,
            kind=kind,
            digest=blind_index(kind, value),
        )


def match_keys_follow(profile: ClientProfile, changes: dict[str, Any]) -> None:
    """The profile's e-mail and phone keys are the details it has now: a later registration
    with the new address finds this person, one with an address they gave up does not."""
    if "email_canonical" in changes:
        _key_replaced(profile, MatchKey.Kind.EMAIL, profile.email_canonical)
    if "phone" in changes:
        _key_replaced(profile, MatchKey.Kind.PHONE, profile.phone)


def address_change_mails(profile: ClientProfile, *, old_email: str) -> None:
    """After commit: the verification e-mail to the new address, a notice to the old one."""
    verification_mail(profile)
    mail.mail_after_commit(
        kind="email_changed",
        language=profile.language,
        to=old_email,
        from_email=profile.brand.support_email,
        name=profile.given_name,
        new_email=profile.email,
        brand=profile.brand.name,
    )
