"""Domain errors. Each has a stable `code` that clients may branch on, and a sentence a
person can act on. The API turns them into `{"code": ..., "detail": ...}` with `status`."""

from __future__ import annotations

from typing import Any


class ApplicationError(Exception):
    code: str = "application_error"
    status: int = 400
    default_detail: str = "The request could not be completed."

    def __init__(
        self,
        detail: str | None = None,
        *,
        code: str | None = None,
        extra: dict[str, Any] | None = None,
    ) -> None:
        self.detail = detail or self.default_detail
        if code is not None:
            self.code = code
        self.extra = extra or {}
        super().__init__(self.detail)

    def as_dict(self) -> dict[str, Any]:
        return {"code": self.code, "detail": self.detail, **self.extra}


class ValidationFailed(ApplicationError):
    code = "invalid"
    default_detail = "The request contains invalid data."


class NotFound(ApplicationError):
    code = "not_found"
    status = 404
    default_detail = "Not found."


class PermissionDenied(ApplicationError):
    code = "permission_denied"
    status = 403
    default_detail = "You do not have permission to do this."


class Conflict(ApplicationError):
    code = "conflict"
    status = 409
    default_detail = "The request conflicts with the current state."


class ScopeRequired(RuntimeError):
    """A programming error: an entity-owned table was queried without a scope."""
