"""API tokens of client logins: issuing one per sign-in, how long they live, and ending one
(logout) or all of them (log out everywhere, a password change or reset).

A client login holds a `ClientToken` per sign-in. Staff tokens (issued by an administrator)
are Django REST framework's `Token` and never expire; a client login's DRF token, from before
client tokens were per sign-in, still works until it expires and is ended with the others.
"""

from __future__ import annotations

import hashlib
import secrets
from datetime import timedelta
from typing import Any

from django.conf import settings
from django.db import transaction
from django.utils import timezone
from rest_framework.authtoken.models import Token

from brokercrm.auditing import audit as audit_record

from . import audit_actions as actions
from .models import ClientToken, User


def client_token_ttl() -> timedelta:
    return timedelta(seconds=getattr(settings, "CLIENT_TOKEN_TTL", 12 * 3600))


def key_digest(key: str) -> str:
    return hashlib.sha256(key.encode("utf-8", "replace")).hexdigest()


def token_expired(token: Any) -> bool:
    """Whether a client login's token has outlived its time (staff tokens never do)."""
    return (
        token.user.kind == User.Kind.CLIENT and token.created < timezone.now() - client_token_ttl()
    )


def client_token_issue(*, user: User) -> ClientToken:
    """A new token for one sign-in of a client login, in the caller's transaction. The
    login's expired tokens are cleared on the way."""
    ClientToken.objects.filter(user=user, created__lt=timezone.now() - client_token_ttl()).delete()
    key = secrets.token_hex(20)
    token = ClientToken.objects.create(
        user=user, key_digest=key_digest(key), created=timezone.now()
    )
    token.key = key
    return token


def client_token_find(key: str) -> ClientToken | None:
    """The client token with this key, with its login and the login's client profile and that
    profile's entity (what every signed-in request reads), in one query, or None."""
    return (
        ClientToken.objects.select_related("user__profile__entity")
        .filter(key_digest=key_digest(key))
        .first()
    )


def _entity_of(user: User) -> int | None:
    return user.profile.entity_id if user.profile_id else None


def client_token_revoke(*, token: Any) -> None:
    """End one token of a client login now (logout), audited."""
    user = token.user
    with transaction.atomic(durable=True):
        type(token).objects.filter(pk=token.pk).delete()
        audit_record(
            actor=user,
            action=actions.CLIENT_TOKEN_REVOKED,
            entity=_entity_of(user),
            obj=user,
        )


def client_tokens_end(*, user: User, keep: Any = None) -> int:
    """End every token of the login but `keep` (the caller's own, when it stays signed in),
    in the caller's transaction. Returns how many were ended."""
    tokens = ClientToken.objects.filter(user=user)
    legacy = Token.objects.filter(user=user)
    if isinstance(keep, ClientToken):
        tokens = tokens.exclude(pk=keep.pk)
    elif isinstance(keep, Token):
        legacy = legacy.exclude(pk=keep.pk)
    ended, _ = tokens.delete()
    ended_legacy, _ = legacy.delete()
    return ended + ended_legacy


def client_logout_everywhere(*, token: Any) -> int:
    """End every token of the login that holds `token`, this one included, audited."""
    user = token.user
    with transaction.atomic(durable=True):
        ended = client_tokens_end(user=user)
        audit_record(
            actor=user,
            action=actions.CLIENT_LOGGED_OUT_EVERYWHERE,
            entity=_entity_of(user),
            obj=user,
            after={"sessions_ended": ended},
        )
    return ended


def client_logout_elsewhere(*, token: Any) -> int:
    """End every other token of the login that holds `token`; this one stays signed in.
    Audited; returns how many ended."""
    user = token.user
    with transaction.atomic(durable=True):
        ended = client_tokens_end(user=user, keep=token)
        audit_record(
            actor=user,
            action=actions.CLIENT_LOGGED_OUT_ELSEWHERE,
            entity=_entity_of(user),
            obj=user,
            after={"sessions_ended": ended},
        )
    return ended
