"""An optional second factor for client logins: a TOTP authenticator app (django-otp's TOTP
devices: the code window, clock drift, replay of a used code and throttling of wrong codes
are theirs).

A client turns it on from the portal: `client_totp_start` makes an unconfirmed device and
answers the otpauth:// address for the app (shown as a QR code), `client_totp_confirm` checks a
first code and confirms it. From then on signing in takes two steps: the password
(`identity.logins.client_token_obtain` raises `SecondFactorRequired` with a signed challenge
valid for five minutes), then the challenge and a code (`client_token_obtain_with_code`).
"""

from __future__ import annotations

import hashlib
import hmac
from base64 import b32encode
from typing import Any
from urllib.parse import quote, urlencode

from django.core import signing
from django.db import transaction
from django_otp.plugins.otp_totp.models import TOTPDevice

from audit.services import audit_record
from brokercrm.accounts import audit_actions as access_actions
from brokercrm.errors import ApplicationError, PermissionDenied, ValidationFailed
from brokercrm.gate import is_client, require

CHALLENGE_SALT = "identity.two-factor-challenge"
CHALLENGE_MAX_AGE_SECONDS = 5 * 60
DEVICE_NAME = "authenticator"


class SecondFactorRequired(ApplicationError):
    code = "second_factor_required"
    status = 401
    default_detail = "Enter the 6-digit code from your authenticator app."

    def __init__(self, challenge: str) -> None:
        super().__init__(extra={"challenge": challenge})


def _client_of(actor: Any) -> Any:
    if not is_client(actor):
        raise PermissionDenied(
            "Only a client turns on their own second factor.", code="permission_denied"
        )
    require(actor, "identity.change_clientprofile", actor.profile)
    return actor


def _code_checked(code: Any) -> str:
    text = str(code or "").strip().replace(" ", "")
    if not (text.isdigit() and len(text) == 6):
        raise ValidationFailed(
            "Enter the 6 digits your app shows.",
            code="otp_invalid",
            extra={"errors": {"code": ["Enter the 6 digits your app shows."]}},
        )
    return text


def client_totp_device(user: Any) -> Any:
    """The login's confirmed authenticator, or None when the second factor is off."""
    return TOTPDevice.objects.filter(user=user, confirmed=True).first()


def client_totp_enabled(user: Any) -> bool:
    return TOTPDevice.objects.filter(user=user, confirmed=True).exists()


def totp_address(device: Any, *, issuer: str, account: str) -> str:
    """The otpauth:// address an authenticator app reads (from a QR code)."""
    label = quote(f"{issuer.replace(':', '')}:{account}")
    params = urlencode(
        {
            "secret": b32encode(device.bin_key).decode(),
            "issuer": issuer.replace(":", ""),
            "algorithm": "SHA1",
            "digits": device.digits,
            "period": device.step,
        }
    )
    return f"otpauth://totp/{label}?{params}"


def client_totp_start(*, actor: Any) -> tuple[Any, str]:
    """A new unconfirmed authenticator for the client (replacing an earlier unconfirmed
    one) and its otpauth:// address. Refused while one is confirmed."""
    user = _client_of(actor)
    if client_totp_enabled(user):
        raise ValidationFailed("Your second factor is on already.", code="otp_enabled")
    with transaction.atomic(durable=True):
        TOTPDevice.objects.filter(user=user, confirmed=False).delete()
        device = TOTPDevice.objects.create(user=user, name=DEVICE_NAME, confirmed=False)
    profile = user.profile
    return device, totp_address(device, issuer=profile.brand.name, account=profile.email)


def client_totp_pending(*, actor: Any) -> tuple[Any, str] | None:
    """The unconfirmed authenticator being set up, with its address, or None."""
    user = _client_of(actor)
    device = TOTPDevice.objects.filter(user=user, confirmed=False).first()
    if device is None:
        return None
    profile = user.profile
    return device, totp_address(device, issuer=profile.brand.name, account=profile.email)


def client_totp_confirm(*, actor: Any, code: Any) -> Any:
    """Turn the second factor on with a first code from the app."""
    user = _client_of(actor)
    text = _code_checked(code)
    device = TOTPDevice.objects.filter(user=user, confirmed=False).first()
    if device is None:
        raise ValidationFailed("Start setting up your app first.", code="otp_not_started")
    if not device.verify_token(text):
        raise ValidationFailed(
            "That code is not right. Check the time on your phone and try the newest code.",
            code="otp_wrong",
            extra={"errors": {"code": ["That code is not right."]}},
        )
    with transaction.atomic(durable=True):
        TOTPDevice.objects.filter(pk=device.pk).update(confirmed=True)
        audit_record(
            actor=user,
            action=access_actions.CLIENT_SECOND_FACTOR_ON,
            entity=user.profile.entity_id,
            obj=user,
        )
    return device


def client_totp_disable(*, actor: Any, code: Any) -> None:
    """Turn the second factor off; a current code proves the app is still in hand."""
    user = _client_of(actor)
    text = _code_checked(code)
    device = client_totp_device(user)
    if device is None:
        raise ValidationFailed("Your second factor is off.", code="otp_not_enabled")
    if not device.verify_token(text):
        raise ValidationFailed(
            "That code is not right.",
            code="otp_wrong",
            extra={"errors": {"code": ["That code is not right."]}},
        )
    with transaction.atomic(durable=True):
        TOTPDevice.objects.filter(user=user).delete()
        audit_record(
            actor=user,
            action=access_actions.CLIENT_SECOND_FACTOR_OFF,
            entity=user.profile.entity_id,
            obj=user,
        )


def _password_mark(user: Any) -> str:
    # A one-way mark of the stored password hash: the challenge is signed, not encrypted, so
    # the client can read it; a password changed since makes the mark differ.
    return hashlib.sha256(f"{user.pk}:{user.password}".encode()).hexdigest()[:20]


def challenge_for(user: Any) -> str:
    """A signed, short-lived proof that the password was right, for the code step."""
    return signing.dumps({"user": user.pk, "mark": _password_mark(user)}, salt=CHALLENGE_SALT)


def challenge_user(challenge: Any, users: Any) -> Any:
    """The login the challenge was issued for (from `users`, a queryset the caller scoped),
    or None when it is forged, expired, or the password changed since."""
    if not isinstance(challenge, str) or len(challenge) > 400:
        return None
    try:
        data = signing.loads(challenge, salt=CHALLENGE_SALT, max_age=CHALLENGE_MAX_AGE_SECONDS)
    except signing.BadSignature:
        return None
    user = users.filter(pk=data.get("user")).first()
    if user is None or not hmac.compare_digest(_password_mark(user), str(data.get("mark"))):
        return None
    return user
