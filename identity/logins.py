"""Client logins: one portal login per client profile, checked per entity.

A client login is a `User` of kind client tied to one profile, hence one entity: the same
e-mail address may hold separate logins in two entities, and logging into one never reveals
the other. Failed attempts are throttled per entity and mailbox."""

from __future__ import annotations

import hashlib
import logging
import math
import time
from typing import Any

from django.contrib.auth.password_validation import validate_password
from django.core.cache import cache
from django.core.exceptions import ValidationError as DjangoValidationError
from django.db import IntegrityError, models, transaction
from django.utils import timezone

from audit.services import audit_record
from brokercrm.accounts import audit_actions as access_actions
from brokercrm.accounts.models import ClientToken, User
from brokercrm.accounts.tokens import client_token_issue, client_token_ttl, client_tokens_end
from brokercrm.context import current as current_request
from brokercrm.errors import (
    ApplicationError,
    Conflict,
    NotFound,
    ValidationFailed,
)
from brokercrm.gate import is_system, require
from brokercrm.scoping import scope_for

from .normalize import NormalizationError, normalize_email
from .two_factor import (
    SecondFactorRequired,
    challenge_for,
    challenge_user,
    client_totp_device,
    client_totp_enabled,
)

logger = logging.getLogger(__name__)


# Failed sign-ins slow down, they never lock: counted per (entity, address as typed) for the
# source that made them and for the address from every source, whether or not a login exists
# for it (the delays then tell nothing about who is a client). After `free` failures each
# further attempt waits 2, 4, 8 ... seconds after the last failure, up to `cap`. One source
# guessing waits up to 15 minutes; failures from everywhere together delay the address at
# most a minute, so nobody can keep a client out by failing in their name.
LOGIN_PER_SOURCE = (5, 15 * 60)  # (free failures, longest wait in seconds)
LOGIN_PER_ADDRESS = (20, 60)
LOGIN_FAILURE_MEMORY_SECONDS = 24 * 3600


class LoginFailed(ApplicationError):
    code = "login_failed"
    status = 400
    # One answer for a wrong password, an unknown address and another entity's login.
    default_detail = "The e-mail address or the password is wrong."


class LoginThrottled(ApplicationError):
    code = "login_throttled"
    status = 429
    default_detail = "Too many failed attempts. Please wait a little and try again."

    def __init__(self, wait_seconds: int) -> None:
        super().__init__(
            f"Too many failed attempts. Please wait {wait_seconds} seconds and try again.",
            extra={"retry_after": wait_seconds},
        )


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
                action=access_actions.CLIENT_LOGIN_CREATED,
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
            action=access_actions.CLIENT_SESSIONS_ENDED,
            entity=profile.entity_id,
            obj=user,
            after={"sessions_ended": ended, "reason": reason.strip()[:500]},
        )
    return ended


def _guard_keys(entity_code: str, address: str, source: str) -> tuple[str, str]:
    digest = hashlib.sha256(address.strip().lower().encode("utf-8", "replace")).hexdigest()
    return (
        f"client-login-failures:{entity_code}:{digest}:{source or '-'}",
        f"client-login-failures:{entity_code}:{digest}",
    )


def _guard_state(key: str) -> tuple[int, float]:
    """(failures, time of the last one) under `key`."""
    try:
        value = cache.get(key)
    except Exception:  # the cache is down: log in without the limit rather than fail
        logger.warning("Failed-login counter unavailable", exc_info=True)
        return 0, 0.0
    if not isinstance(value, (list, tuple)) or len(value) != 2:
        return 0, 0.0
    return int(value[0]), float(value[1])


def login_wait_seconds(failures: int, *, free: int, cap: int) -> int:
    """How long after the last failure the next attempt must wait: nothing for the first
    `free` failures, then 2, 4, 8 ... seconds, never more than `cap`."""
    if failures < free:
        return 0
    return min(cap, 2 ** min(failures - free + 1, 20))


def _guard_wait(keys: tuple[str, str], now: float) -> int:
    waits = []
    for key, (free, cap) in zip(keys, (LOGIN_PER_SOURCE, LOGIN_PER_ADDRESS), strict=True):
        failures, last = _guard_state(key)
        waits.append(login_wait_seconds(failures, free=free, cap=cap) - (now - last))
    return max(0, math.ceil(max(waits)))


def _guard_fail(keys: tuple[str, str], now: float) -> None:
    for key in keys:
        failures, _last = _guard_state(key)
        try:
            cache.set(key, (failures + 1, now), timeout=LOGIN_FAILURE_MEMORY_SECONDS)
        except Exception:
            logger.warning("Failed-login counter unavailable", exc_info=True)


def _guard_clear(keys: tuple[str, str]) -> None:
    # A success clears the signing-in source's count only: failures from elsewhere still
    # slow down whoever made them.
    try:
        cache.delete(keys[0])
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


def client_login_entities(*, brand: Any, email: str) -> list[str]:
    """The entities (codes) in which `brand` reaches a login of this address: its own
    entity's first, then those it onboarded the address into. A sign-in form that asks for
    no entity tries them in this order. Empty when there is none (the form then fails like
    for a wrong password)."""
    canonical = _email_canonical(email)
    if canonical is None:
        return []
    rows = (
        User.objects.filter(kind=User.Kind.CLIENT, profile__email_canonical=canonical)
        .filter(models.Q(profile__entity_id=brand.entity_id) | models.Q(profile__brand_id=brand.pk))
        .values_list("profile__entity__code", flat=True)
    )
    codes = sorted(set(rows))
    own = brand.entity.code
    return ([own] if own in codes else []) + [code for code in codes if code != own]


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
    *, brand: Any, email: str, password: str, entity_code: str = "", source: str | None = None
) -> ClientToken:
    """A new API token (one per sign-in) of the client login with this e-mail and password
    that `brand` may open: in the brand's entity, or in `entity_code` for a client the brand
    onboarded there.

    Every failure raises the same LoginFailed, and an unknown address costs the same password
    hashing as a known one, so the answer tells nothing about who is a client where. Repeated
    failures make the next attempt wait (`LoginThrottled`); `source` is the caller's address,
    by default the request's."""
    canonical = _email_canonical(email)
    user, code = _client_login_find(brand=brand, entity_code=entity_code, canonical=canonical)
    # Counted per entity and mailbox, so spelling variants of one address share the limit.
    keys = _guard_keys(code, canonical or email, current_request().ip if source is None else source)
    now = time.time()
    wait = _guard_wait(keys, now)
    if wait:
        raise LoginThrottled(wait)
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
        _guard_fail(keys, now)
        raise LoginFailed()
    _guard_clear(keys)
    if client_totp_enabled(user):
        raise SecondFactorRequired(challenge_for(user))
    return _token_issued(user)


def client_token_obtain_with_code(*, brand: Any, challenge: str, code: str) -> ClientToken:
    """The second step of signing in with the second factor on: the challenge the password
    step answered and a current code of the client's authenticator app. Wrong codes are
    throttled by the device (each one doubles the wait)."""
    user = challenge_user(challenge, User.objects.filter(kind=User.Kind.CLIENT, is_active=True))
    if user is None or not client_login_reachable(brand=brand, user=user):
        raise ValidationFailed(
            "The sign-in took too long. Please start again.", code="challenge_invalid"
        )
    device = client_totp_device(user)
    text = str(code or "").strip().replace(" ", "")
    if device is None or not (text.isdigit() and len(text) == 6) or not device.verify_token(text):
        raise ValidationFailed("That code is not right.", code="otp_wrong")
    return _token_issued(user)


def _token_issued(user: User) -> ClientToken:
    with transaction.atomic(durable=True):
        token = client_token_issue(user=user)
        User.objects.filter(pk=user.pk).update(last_login=timezone.now())
        audit_record(
            actor=user,
            action=access_actions.CLIENT_TOKEN_ISSUED,
            entity=user.profile.entity_id,
            obj=user,
            after={"profile_id": user.profile_id},
        )
    return token
