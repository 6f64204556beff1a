"""E-mail verification: a signed, expiring link that proves the client reads the address.

The token is signed with the project's secret (`django.core.signing`, its own salt) and
carries the profile id and a digest of the address it was sent to, so it stops working when
the address changes, and after `EMAIL_VERIFICATION_MAX_AGE` seconds. It is sent when a
registration is accepted, when the client asks again, and when the client changes address.
The link lands on the brand's site, whose front end confirms it with the brand key, or with
the client's own token.
"""

from __future__ import annotations

import hashlib
from typing import Any

from django.conf import settings
from django.core import signing
from django.db import transaction

from audit.services import audit_record
from brokercrm.errors import ApplicationError, Conflict, ValidationFailed
from brokercrm.gate import SystemActor, is_client, require

from .. import audit_actions as actions
from .. import mail
from ..models import ClientProfile
from ..throttle import throttle_exceeded, throttle_key

SALT = "identity.email-verification"
# Verification e-mails a client may ask for within the window, beyond the first one.
RESEND_LIMIT = 5
RESEND_WINDOW_SECONDS = 3600


class VerificationThrottled(ApplicationError):
    code = "verification_throttled"
    status = 429
    default_detail = (
        "We have sent several verification e-mails already. Please check your inbox (and spam "
        "folder), or try again in an hour."
    )


def email_verification_max_age() -> int:
    return int(getattr(settings, "EMAIL_VERIFICATION_MAX_AGE", 3 * 24 * 3600))


def brand_actor(brand: Any) -> SystemActor:
    """The caller behind a brand key, for the audit trail: the brand's front end."""
    return SystemActor(f"brand:{brand.code}")


def _address_tag(email_canonical: str) -> str:
    # A digest, not the address: the token travels in URLs and may end up in logs.
    return hashlib.sha256(email_canonical.encode()).hexdigest()[:24]


def email_verification_token(profile: ClientProfile) -> str:
    """A token that verifies the profile's current address."""
    return signing.dumps(
        {"p": profile.pk, "e": _address_tag(profile.email_canonical)}, salt=SALT, compress=False
    )


def _invalid() -> ValidationFailed:
    return ValidationFailed(
        "This verification link is not valid. Ask for a new verification e-mail.",
        code="verification_invalid",
    )


def _profile_of_token(token: Any) -> ClientProfile:
    if not isinstance(token, str) or not token or len(token) > 400:
        raise _invalid()
    try:
        data = signing.loads(token.strip(), salt=SALT, max_age=email_verification_max_age())
    except signing.SignatureExpired as exc:
        raise ValidationFailed(
            "This verification link has expired. Ask for a new verification e-mail.",
            code="verification_expired",
        ) from exc
    except signing.BadSignature as exc:
        raise _invalid() from exc
    if not isinstance(data, dict) or not isinstance(data.get("p"), int):
        raise _invalid()
    profile = (
        ClientProfile.objects.unscoped()
        .select_related("entity", "brand")
        .filter(pk=data["p"])
        .first()
    )
    if profile is None:
        raise _invalid()
    _same_address(profile, data.get("e"))
    return profile


def _same_address(profile: ClientProfile, tag: Any) -> None:
    if tag != _address_tag(profile.email_canonical):
        raise ValidationFailed(
            "This link was sent to an address that is no longer on the account. Use the link "
            "in the latest verification e-mail.",
            code="verification_email_changed",
        )


def verification_mail(profile: ClientProfile) -> None:
    """Send the verification e-mail for the profile's current address, after commit."""
    brand = profile.brand
    mail.mail_after_commit(
        kind="email_verification",
        language=profile.language,
        to=profile.email,
        from_email=brand.support_email,
        name=profile.given_name,
        email=profile.email,
        brand=brand.name,
        hours=email_verification_max_age() // 3600,
        link=mail.brand_link(
            brand.domain, mail.VERIFY_EMAIL_PATH, token=email_verification_token(profile)
        ),
    )


def email_verification_send(*, actor: Any, profile: ClientProfile) -> None:
    """Send the verification e-mail again (the client asked). Limited per profile."""
    require(actor, "identity.change_clientprofile", profile)
    profile = ClientProfile.objects.unscoped().select_related("brand", "entity").get(pk=profile.pk)
    if profile.email_verified:
        raise Conflict("Your e-mail address is verified already.", code="email_already_verified")
    key = throttle_key("verification-resend", profile.pk)
    if throttle_exceeded(key, limit=RESEND_LIMIT, window_seconds=RESEND_WINDOW_SECONDS):
        raise VerificationThrottled()
    with transaction.atomic(durable=True):
        audit_record(
            actor=actor,
            action=actions.EMAIL_VERIFICATION_SENT,
            entity=profile.entity_id,
            obj=profile,
            after={"email": profile.email},
        )
        verification_mail(profile)


def email_verification_confirm(*, actor: Any, token: str, brand: Any = None) -> ClientProfile:
    """Mark the address the token was sent to as verified.

    A client confirms only their own profile's token; a brand front end (`brand`, acting as
    `brand_actor(brand)`) only one of a profile of the brand's entity, or one the brand
    onboarded in another entity. Any other token reads as not valid. Confirming twice is
    harmless."""
    profile = _profile_of_token(token)
    tag = _address_tag(profile.email_canonical)
    if is_client(actor) and profile.pk != actor.profile_id:
        raise _invalid()
    if brand is not None and not (
        profile.entity_id == brand.entity_id or profile.brand_id == brand.pk
    ):
        raise _invalid()
    require(actor, "identity.change_clientprofile", profile)
    with transaction.atomic(durable=True):
        profile = ClientProfile.objects.unscoped().select_for_update().get(pk=profile.pk)
        _same_address(profile, tag)  # the address may have changed since the token was read
        if profile.email_verified:
            return profile
        profile.email_verified = True
        profile.save(update_fields=["email_verified", "updated_at"])
        audit_record(
            actor=actor,
            action=actions.EMAIL_VERIFIED,
            entity=profile.entity_id,
            obj=profile,
            before={"email_verified": False},
            after={"email_verified": True, "email": profile.email},
        )
    return profile
