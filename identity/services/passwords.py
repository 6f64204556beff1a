"""A client's password: changing it (knowing the current one) and resetting it by e-mail.

Resets use Django's `PasswordResetTokenGenerator`: the token is bound to the login's current
password and last login, so it works once and dies with any password change, and expires
after `PASSWORD_RESET_TIMEOUT`. Either way, every other token of the login stops working.
A reset request answers the same whether or not the address holds a login.
"""

from __future__ import annotations

from typing import Any

from django.conf import settings
from django.contrib.auth.password_validation import validate_password
from django.contrib.auth.tokens import default_token_generator
from django.core.exceptions import ValidationError as DjangoValidationError
from django.db import transaction
from django.utils.encoding import force_bytes
from django.utils.http import urlsafe_base64_decode, urlsafe_base64_encode

from audit.services import audit_record
from brokercrm.accounts import audit_actions as access_actions
from brokercrm.accounts.models import User
from brokercrm.accounts.tokens import client_tokens_end
from brokercrm.errors import ApplicationError, PermissionDenied, ValidationFailed
from brokercrm.gate import is_client, require

from .. import mail
from ..logins import client_login_for_brand, client_login_reachable
from ..throttle import (
    throttle_clear,
    throttle_count,
    throttle_exceeded,
    throttle_hit,
    throttle_key,
)

# Wrong current passwords a login may type within the window before it must wait.
CHANGE_MAX_FAILURES = 10
CHANGE_FAILURE_WINDOW_SECONDS = 15 * 60
# Reset e-mails one address may be sent within the window (counted for unknown ones too).
RESET_LIMIT = 5
RESET_WINDOW_SECONDS = 3600


class PasswordThrottled(ApplicationError):
    code = "password_throttled"
    status = 429
    default_detail = "Too many wrong passwords. Please wait a few minutes and try again."


class ResetThrottled(ApplicationError):
    code = "reset_throttled"
    status = 429
    default_detail = (
        "Several reset e-mails were asked for this address already. Please check your inbox "
        "(and spam folder), or try again in an hour."
    )


def _reset_link_invalid() -> ValidationFailed:
    return ValidationFailed(
        "This password reset link is not valid or has expired. Ask for a new one.",
        code="reset_link_invalid",
    )


def _password_checked(password: Any, user: User) -> str:
    if not isinstance(password, str) or not password:
        raise ValidationFailed("Choose a password.", code="password_required")
    try:
        validate_password(password, user=user)
    except DjangoValidationError as exc:
        raise ValidationFailed(
            " ".join(exc.messages),
            code="password_weak",
            extra={"errors": {"new_password": exc.messages}},
        ) from exc
    return password


def _changed_mail(user: User) -> None:
    profile = user.profile
    mail.mail_after_commit(
        kind="password_changed",
        language=profile.language,
        to=profile.email,
        from_email=profile.brand.support_email,
        name=profile.given_name,
        brand=profile.brand.name,
    )


def client_password_change(
    *, actor: Any, current_password: str, new_password: str, keep_token: Any = None
) -> User:
    """The client changes their own password. Every other token of the login stops working;
    `keep_token` (the one the request came with) stays signed in."""
    if not is_client(actor):
        raise PermissionDenied(
            "Only a client changes their password here.", code="permission_denied"
        )
    user = User.objects.select_related("profile__brand").get(pk=actor.pk)
    require(actor, "identity.change_clientprofile", user.profile)
    key = throttle_key("password-change", user.pk)
    if throttle_count(key) >= CHANGE_MAX_FAILURES:
        raise PasswordThrottled()
    if not isinstance(current_password, str) or not user.check_password(current_password):
        throttle_hit(key, window_seconds=CHANGE_FAILURE_WINDOW_SECONDS)
        raise ValidationFailed(
            "The current password is wrong.",
            code="password_wrong",
            extra={"errors": {"current_password": ["The current password is wrong."]}},
        )
    throttle_clear(key)
    _password_checked(new_password, user)
    if new_password == current_password:
        raise ValidationFailed(
            "The new password is the one you have now: choose another.",
            code="password_unchanged",
        )
    with transaction.atomic(durable=True):
        user = (
            User.objects.select_for_update(of=("self",))
            .select_related("profile__brand")
            .get(pk=user.pk)
        )
        user.set_password(new_password)
        user.save(update_fields=["password"])
        ended = client_tokens_end(user=user, keep=keep_token)
        audit_record(
            actor=actor,
            action=access_actions.CLIENT_PASSWORD_CHANGED,
            entity=user.profile.entity_id,
            obj=user,
            after={"sessions_ended": ended},
        )
        _changed_mail(user)
    return user


def client_password_reset_request(
    *, actor: Any, brand: Any, email: str, entity_code: str = ""
) -> None:
    """Send a reset e-mail if the address holds a login `brand` may reach; otherwise do
    nothing, and answer alike."""
    require(actor, "identity.change_clientprofile", brand.entity_id)
    if throttle_exceeded(
        throttle_key("password-reset", entity_code or brand.entity.code, email.strip().lower()),
        limit=RESET_LIMIT,
        window_seconds=RESET_WINDOW_SECONDS,
    ):
        raise ResetThrottled()
    user = client_login_for_brand(brand=brand, email=email, entity_code=entity_code)
    if user is None or not user.is_active or user.profile.status == "closed":
        return
    profile = user.profile
    with transaction.atomic(durable=True):
        audit_record(
            actor=actor,
            action=access_actions.CLIENT_PASSWORD_RESET_REQUESTED,
            entity=profile.entity_id,
            obj=user,
        )
        mail.mail_after_commit(
            kind="password_reset",
            language=profile.language,
            to=profile.email,
            from_email=brand.support_email,
            name=profile.given_name,
            brand=brand.name,
            hours=max(1, _reset_timeout() // 3600),
            link=mail.brand_link(
                brand.domain,
                mail.RESET_PASSWORD_PATH,
                uid=urlsafe_base64_encode(force_bytes(user.pk)),
                token=default_token_generator.make_token(user),
            ),
        )


def _reset_timeout() -> int:
    return int(settings.PASSWORD_RESET_TIMEOUT)


def _user_of_uid(uid: Any, brand: Any) -> User:
    if not isinstance(uid, str) or not uid or len(uid) > 40:
        raise _reset_link_invalid()
    try:
        pk = int(urlsafe_base64_decode(uid).decode())
    except (ValueError, TypeError, UnicodeDecodeError, OverflowError) as exc:
        raise _reset_link_invalid() from exc
    if not 0 < pk < 2**63:
        raise _reset_link_invalid()
    user = (
        User.objects.select_related("profile__brand")
        .filter(pk=pk, kind=User.Kind.CLIENT, is_active=True)
        .first()
    )
    if user is None or not client_login_reachable(brand=brand, user=user):
        raise _reset_link_invalid()
    return user


def client_password_reset_confirm(
    *, actor: Any, brand: Any, uid: str, token: str, new_password: str
) -> User:
    """Set a new password with the uid and token of a reset e-mail. Every token of the
    login stops working; the reset link works once."""
    user = _user_of_uid(uid, brand)
    require(actor, "identity.change_clientprofile", user.profile)
    if not isinstance(token, str) or not default_token_generator.check_token(user, token):
        raise _reset_link_invalid()
    _password_checked(new_password, user)
    with transaction.atomic(durable=True):
        user = (
            User.objects.select_for_update(of=("self",))
            .select_related("profile__brand")
            .get(pk=user.pk)
        )
        # A second confirm racing this one: the first changed the password, the token died.
        if not default_token_generator.check_token(user, token):
            raise _reset_link_invalid()
        user.set_password(new_password)
        user.save(update_fields=["password"])
        ended = client_tokens_end(user=user)
        audit_record(
            actor=actor,
            action=access_actions.CLIENT_PASSWORD_RESET,
            entity=user.profile.entity_id,
            obj=user,
            after={"sessions_ended": ended},
        )
        _changed_mail(user)
    return user
