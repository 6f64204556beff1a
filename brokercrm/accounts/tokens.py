"""API tokens of client logins: how long they live, and ending one (logout)."""

from __future__ import annotations

from datetime import timedelta

from django.conf import settings
from django.db import transaction
from django.utils import timezone
from rest_framework.authtoken.models import Token

from brokercrm.auditing import audit as audit_record

from .models import User


def client_token_ttl() -> timedelta:
    return timedelta(seconds=getattr(settings, "CLIENT_TOKEN_TTL", 12 * 3600))


def token_expired(token: Token) -> bool:
    """Whether a client login's token has outlived its time (staff tokens never do)."""
    return (
        token.user.kind == User.Kind.CLIENT and token.created < timezone.now() - client_token_ttl()
    )


def client_token_revoke(*, token: Token) -> None:
    """End a client login's token now (logout), audited."""
    user = token.user
    with transaction.atomic(durable=True):
        Token.objects.filter(pk=token.pk).delete()
        audit_record(
            actor=user,
            action="access.client_token_revoked",
            entity=user.profile.entity_id if user.profile_id else None,
            obj=user,
        )
