"""Token authentication with an expiry for client logins.

A client's token (issued at `POST /client-tokens`, one per sign-in) lives `CLIENT_TOKEN_TTL`
from issue: after that it is deleted on first use and the call answers 401 `token_expired`;
the brand front end asks for a new one. `DELETE /client-tokens/current` ends it at once
(logout), `DELETE /me/sessions` ends every token of the login. Staff tokens, issued by an
administrator, do not expire."""

from __future__ import annotations

from typing import Any

from rest_framework import authentication, exceptions

from ..tokens import client_token_find, token_expired


class TokenExpired(exceptions.AuthenticationFailed):
    default_detail = "The token has expired: log in again."
    default_code = "token_expired"


class ExpiringTokenAuthentication(authentication.TokenAuthentication):
    def authenticate_credentials(self, key: str) -> tuple[Any, Any]:
        token = client_token_find(key)
        if token is None:
            user, token = super().authenticate_credentials(key)
        else:
            user = token.user
            if not user.is_active:
                raise exceptions.AuthenticationFailed("User inactive or deleted.")
        if token_expired(token):
            token.delete()
            raise TokenExpired()
        return user, token
