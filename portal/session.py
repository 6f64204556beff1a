"""Portal sign-in: a client token (one per sign-in, as for a brand's own front end) kept in
the Django session. The client's data never goes into the session, only the token's key."""

from __future__ import annotations

import time
from typing import Any

from django.conf import settings
from django.http import HttpRequest

from brokercrm.accounts.tokens import client_token_find, client_token_revoke, token_expired
from identity.logins import client_login_reachable

TOKEN_KEY = "portal_token"  # noqa: S105 - a session key name, not a secret
SEEN_KEY = "portal_seen"
LANGUAGE_KEY = "portal_language"
ENDED_KEY = "portal_ended"
# The last-seen time is written at most this often, so most pages write no session row.
_SEEN_RESOLUTION_SECONDS = 60


def sign_in(request: HttpRequest, token: Any) -> None:
    """Keep the new token in a new session (a new session key: no fixation)."""
    language = request.session.get(LANGUAGE_KEY)
    request.session.flush()
    request.session[TOKEN_KEY] = token.key
    request.session[SEEN_KEY] = int(time.time())
    if language:
        request.session[LANGUAGE_KEY] = language
    request.client = token.user


def sign_out(request: HttpRequest, *, reason: str = "") -> None:
    """End this sign-in: its token too, so the session cannot be revived."""
    key = request.session.get(TOKEN_KEY)
    token = client_token_find(key) if isinstance(key, str) and key else None
    if token is not None:
        client_token_revoke(token=token)
    language = request.session.get(LANGUAGE_KEY)
    request.session.flush()
    if language:
        request.session[LANGUAGE_KEY] = language
    if reason:
        request.session[ENDED_KEY] = reason
    request.client = None


def current_token(request: HttpRequest) -> Any:
    key = request.session.get(TOKEN_KEY)
    return client_token_find(key) if isinstance(key, str) and key else None


def signed_in_client(request: HttpRequest) -> Any:
    """The client login signed in through this brand, or None. A session whose token was
    ended, expired or went idle is ended here; another brand's sign-in is not seen."""
    key = request.session.get(TOKEN_KEY)
    if not isinstance(key, str) or not key:
        return None
    token = client_token_find(key)
    user = token.user if token is not None else None
    if token is None or token_expired(token) or not user.is_active or user.profile is None:
        sign_out(request, reason="ended")
        return None
    if not client_login_reachable(brand=request.brand, user=user):
        return None  # signed in through another brand: this one does not know them
    now = int(time.time())
    seen = request.session.get(SEEN_KEY, 0)
    if not isinstance(seen, int) or now - seen > settings.PORTAL_IDLE_SECONDS:
        sign_out(request, reason="idle")
        return None
    if now - seen >= _SEEN_RESOLUTION_SECONDS:
        request.session[SEEN_KEY] = now
    return user
