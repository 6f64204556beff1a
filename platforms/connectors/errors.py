"""What a trading server's answer can mean when it is not a result: refused, unreachable,
timed out (outcome unknown), or a specific refusal such as an unknown login."""

from __future__ import annotations

from brokercrm.errors import ApplicationError


class PlatformError(ApplicationError):
    code = "platform_error"
    status = 502
    default_detail = "The trading server did not answer as expected."


class PlatformRefused(PlatformError):
    code = "platform_refused"
    status = 422
    default_detail = "The trading server refused the request."


class PlatformUnavailable(PlatformError):
    code = "platform_unavailable"
    status = 503
    default_detail = "The trading server could not be reached."


class PlatformTimeout(PlatformError):
    code = "platform_timeout"
    status = 504
    default_detail = "The trading server did not answer in time; the outcome is unknown."


class LoginNotFound(PlatformRefused):
    code = "login_not_found"
    status = 404
    default_detail = "No such login on the trading server."


class InsufficientMargin(PlatformRefused):
    code = "insufficient_margin"
    status = 409
    default_detail = "The account does not have enough free margin for this."


class GroupUnknown(PlatformRefused):
    code = "group_unknown"
    status = 400
    default_detail = "The trading server has no such group."


class OperationConflict(PlatformRefused):
    code = "operation_conflict"
    status = 409
    default_detail = "This operation id was already used with another login, kind or amount."


class UncertainOutcome(PlatformUnavailable):
    """A 5xx or unreadable answer: the server may or may not have acted. Balance operations
    look themselves up after it; anything else reports it as platform_unavailable."""
