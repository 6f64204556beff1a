"""Who may call the client self-service endpoints."""

from __future__ import annotations

from typing import Any

from rest_framework import permissions
from rest_framework.request import Request

from ..models import User


class IsClientLogin(permissions.BasePermission):
    """A client login (not staff, not a brand key): it acts for its own profile only."""

    message = "This endpoint is for client logins."
    code = "client_login_required"

    def has_permission(self, request: Request, view: Any) -> bool:
        user = request.user
        return (
            isinstance(user, User)
            and user.is_authenticated
            and user.kind == User.Kind.CLIENT
            and user.profile_id is not None
        )
