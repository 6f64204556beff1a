"""Client logins: one portal login per client profile, checked per entity.

A client login is a `User` of kind client tied to one profile, hence one entity: the same
e-mail address may hold separate logins in two entities, and logging into one never reveals
the other. Failed attempts are throttled per entity and mailbox."""

from __future__ import annotations

import hashlib
import logging
from typing import Any

from django.contrib.auth.password_validation import validate_password
from django.core.cache import cache
from django.core.exceptions import ValidationError as DjangoValidationError
from django.db import IntegrityError, transaction
from django.utils import timezone

from audit.services import audit_record
from brokercrm.accounts.models import ClientToken, User
from brokercrm.accounts.tokens import client_token_issue, client_token_ttl, client_tokens_end
from brokercrm.errors import (
    ApplicationError,
    Conflict,
    NotFound,
    ValidationFailed,
)
from brokercrm.gate import is_system, require
from brokercrm.scoping import scope_for

from .normalize import NormalizationError, normalize_email

logger = logging.getLogger(__name__)


# Failed logins allowed per (entity, e-mail as typed) within the window, whether or not a
# login exists for it: the limit itself then tells nothing about which addresses are clients.
CLIENT_LOGIN_MAX_FAILURES = 10
CLIENT_LOGIN_FAILURE_WINDOW_SECONDS = 15 * 60


class LoginFailed(ApplicationError):
    code = "login_failed"
    status = 400
    # One answer for a wrong password, an unknown address and another entity's login.
    default_detail = "The e-mail address or the password is wrong."


class LoginThrottled(ApplicationError):
    code = "login_throttled"
    status = 429
    default_detail = "Too many failed attempts. Please wait a few minutes and try again."


def client_username(*, entity_code: str, email_canonical: str) -> str:
    """The username of a client login: one per e-mail address per entity."""
    username = f"{entity_code.lower()}+{email_canonical}"
    if len(username) > 150:  # AbstractUser.username; the hash keeps it deterministic
        username = f"{entity_code.lower()}+{hashlib.sha256(email_canonical.encode()).hexdigest()}"
    return username


def client_password_checked(
    *, password: Any, email: str, given_name: str = "", family_name: str = ""
) -> str:
    """The password a client chose, refused (`password_required`, `password_weak`) before
    anything is written."""
    if not isinstance(password, str) or not password:
        raise ValidationFailed("Choose a password.", code="password_required")
    candidate = User(email=email, first_name=given_name, last_name=family_name)
    try:
        validate_password(password, user=candidate)
    except DjangoValidationError as exc:
        raise ValidationFailed(
            " ".join(exc.messages),
            code="password_weak",
            extra={"errors": {"password": exc.messages}},
        ) from exc
    return password


def client_login_add(*, profile: Any, password: str) -> User:
    """The step that opens `profile`'s login inside the caller's transaction (registration, or
    `client_login_create`); the password is already checked. Raises `Conflict` when the profile
    has a login, or another login of the entity uses the address."""
    if not transaction.get_connection().in_atomic_block:
        raise RuntimeError("client_login_add runs inside the transaction of its use case.")
    if profile.status == "closed":
        raise ValidationFailed("The client profile is closed.", code="profile_closed")
    if not profile.email_canonical:
        raise ValidationFailed("The client profile has no e-mail address.", code="email_missing")
    user = User(
        username=client_username(
            entity_code=profile.entity.code, email_canonical=profile.email_canonical
        ),
        email=profile.email,
        kind=User.Kind.CLIENT,
        profile=profile,
        is_staff=False,
    )
    user.set_password(password)
    if User.objects.filter(profile=profile).exists():
        raise Conflict("This client profile has a login already.", code="login_exists")
    if User.objects.filter(username=user.username).exists():
        raise Conflict(
            "Another client of this entity logs in with this e-mail address.",
            code="login_email_taken",
        )
    try:
        with transaction.atomic():  # a savepoint: a concurrent create is told apart below
            user.save()
    except IntegrityError as exc:
        raise Conflict("This client profile has a login already.", code="login_exists") from exc
    return user


def client_login_create(*, actor: Any, profile: Any, password: str) -> User:
    """Open a portal login for `profile`: the profile's e-mail address, the client's password.

    SYSTEM may; staff need to change client profiles in the entity."""
    if is_system(actor):
        pass
    elif not scope_for(actor, "identity.view_clientprofile").contains(profile):
        raise NotFound("No such client profile.", code="profile_not_found")
    else:
        require(
            actor,
            "identity.change_clientprofile",
            profile,
            detail="You may not open logins for this entity's clients.",
        )
    if profile.status == "closed":
        raise ValidationFailed("The client profile is closed.", code="profile_closed")
    if not profile.email_canonical:
        raise ValidationFailed("The client profile has no e-mail address.", code="email_missing")
    client_password_checked(
        password=password,
        email=profile.email,
        given_name=profile.given_name,
        family_name=profile.family_name,
    )
    try:
        with transaction.atomic(durable=True):
            user = client_login_add(profile=profile, password=password)
            audit_record(
                actor=actor,
                action="access.client_login_created",
                entity=profile.entity_id,
                obj=user,
                after={"user_id": user.pk, "profile_id": profile.pk},
            )
    except IntegrityError as exc:  # a concurrent create won the race
        raise Conflict("This client profile has a login already.", code="login_exists") from exc
    return user


def client_sessions(*, profile: Any) -> list[ClientToken]:
    """The client's signed-in sessions that are still alive, newest first."""
    return list(
        ClientToken.objects.filter(
            user__profile=profile, created__gte=timezone.now() - client_token_ttl()
        ).order_by("-created")
    )


def client_sessions_end(*, actor: Any, profile: Any, reason: str) -> int:
    """Staff end every session of the client's login (a lost phone, a suspected takeover):
    each front end must sign in again. Audited with the reason; returns how many ended."""
    require(
        actor,
        "identity.end_sessions_clientprofile",
        profile,
        detail="You may not end this client's sessions.",
    )
    if not reason.strip():
        raise ValidationFailed("Say why the sessions are ended.", code="reason_required")
    user = User.objects.filter(profile=profile, kind=User.Kind.CLIENT).first()
    if user is None:
        raise NotFound("The client has no login.", code="login_not_found")
    with transaction.atomic(durable=True):
        ended = client_tokens_end(user=user)
        audit_record(
            actor=actor,
            action="access.client_sessions_ended",
            entity=profile.entity_id,
            obj=user,
            after={"sessions_ended": ended, "reason": reason.strip()[:500]},
        )
    return ended


def _failures_key(entity_code: str, email: str) -> str:
    digest = hashlib.sha256(email.strip().lower().encode("utf-8", "replace")).hexdigest()
    return f"client-login-failures:{entity_code}:{digest}"


def _failures(key: str) -> int:
    try:
        return int(cache.get(key) or 0)
    except Exception:  # the cache is down: log in without the limit rather than fail
        logger.warning("Failed-login counter unavailable", exc_info=True)
        return 0


def _failure_count(key: str) -> None:
    try:
        if not cache.add(key, 1, timeout=CLIENT_LOGIN_FAILURE_WINDOW_SECONDS):
            try:
                cache.incr(key)
            except ValueError:  # expired between add and incr
                cache.set(key, 1, timeout=CLIENT_LOGIN_FAILURE_WINDOW_SECONDS)
    except Exception:
        logger.warning("Failed-login counter unavailable", exc_info=True)


def _failures_clear(key: str) -> None:
    try:
        cache.delete(key)
    except Exception:
        logger.warning("Failed-login counter unavailable", exc_info=True)


def _email_canonical(email: str) -> str | None:
    try:
        return normalize_email(email)
    except NormalizationError:
        return None


def _client_login_find(
    *, brand: Any, entity_code: str, canonical: str | None
) -> tuple[User | None, str]:
    """The client login of the address in the entity asked for (the brand's own when none
    is named), and the entity's code. A brand reaches the logins of its own entity, and
    those of another entity only for profiles it onboarded there (its country routes)."""
    code = entity_code or brand.entity.code
    if canonical is None:
        return None, code
    logins = User.objects.filter(
        username=client_username(entity_code=code, email_canonical=canonical),
        kind=User.Kind.CLIENT,
        profile__entity__code=code,
    )
    if code != brand.entity.code:
        logins = logins.filter(profile__brand_id=brand.pk)
    return logins.select_related("profile").first(), code


def client_login_for_brand(*, brand: Any, email: str, entity_code: str = "") -> User | None:
    """The client login with this e-mail address that `brand` may reach (see
    `client_token_obtain`), or None."""
    user, _code = _client_login_find(
        brand=brand, entity_code=entity_code, canonical=_email_canonical(email)
    )
    return user


def client_login_reachable(*, brand: Any, user: User) -> bool:
    """Whether `brand` may act for this client login: one of the brand's entity, or one the
    brand onboarded in another entity through its country routes."""
    profile = user.profile
    return (
        user.kind == User.Kind.CLIENT
        and profile is not None
        and (profile.entity_id == brand.entity_id or profile.brand_id == brand.pk)
    )


def client_token_obtain(
    *, brand: Any, email: str, password: str, entity_code: str = ""
) -> ClientToken:
    """A new API token (one per sign-in) of the client login with this e-mail and password
    that `brand` may open: in the brand's entity, or in `entity_code` for a client the brand
    onboarded there.

    Every failure raises the same LoginFailed, and an unknown address costs the same password
    hashing as a known one, so the answer tells nothing about who is a client where."""
    canonical = _email_canonical(email)
    user, code = _client_login_find(brand=brand, entity_code=entity_code, canonical=canonical)
    # Counted per entity and mailbox, so spelling variants of one address share the limit.
    key = _failures_key(code, canonical or email)
    if _failures(key) >= CLIENT_LOGIN_MAX_FAILURES:
        raise LoginThrottled()
    if user is None:
        User().set_password(password)  # the same work as a real check
        valid = False
    else:
        valid = (
            user.check_password(password)
            and user.is_active
            and user.profile is not None
            and user.profile.status != "closed"
        )
    if not valid or user is None:
        _failure_count(key)
        raise LoginFailed()
    _failures_clear(key)
    with transaction.atomic(durable=True):
        token = client_token_issue(user=user)
        User.objects.filter(pk=user.pk).update(last_login=timezone.now())
        audit_record(
            actor=user,
            action="access.client_token_issued",
            entity=user.profile.entity_id,
            obj=user,
            after={"profile_id": user.profile_id},
        )
    return token
