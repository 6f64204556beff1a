"""One interface over MT4- and MT5-style trading servers.

`TradingPlatform` is what the platforms app programs against; `Mt5Connector` and
`Mt4Connector` translate each wire flavour into the frozen dataclasses below (Decimal money,
timezone-aware UTC datetimes, group names rather than ids, our three rights states).

Balance operations are the part that must never go wrong: each carries our operation id in
its comment (`operation_comment`, at most 31 characters because MT4 keeps no more), so that an
answer lost to a timeout can be found again on the server by that id instead of being
guessed at. `balance_operation` does that search itself and retries at most once, and only when
the server confirms the operation is not there.
"""

from __future__ import annotations

import base64
import hashlib
import re
import threading
import urllib.parse
import uuid
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime
from decimal import Decimal, InvalidOperation
from typing import Any, ClassVar, Generic, Literal, Protocol, TypeVar, get_args, runtime_checkable

from brokercrm.errors import ApplicationError, ValidationFailed
from brokercrm.httpjson import (
    JsonResponse,
    UpstreamError,
    UpstreamTimeout,
    UpstreamUnavailable,
    json_request,
)

Rights = Literal["enabled", "disabled", "read_only"]
OperationKind = Literal["deposit", "withdrawal", "credit_in", "credit_out"]
DealKind = Literal["buy", "sell", "balance", "credit"]
EventKind = Literal["deal_added", "account_updated", "margin_call", "stop_out", "user_updated"]
RIGHTS: tuple[str, ...] = get_args(Rights)
OPERATION_KINDS: tuple[str, ...] = get_args(OperationKind)
EVENT_KINDS: tuple[str, ...] = get_args(EventKind)
MAX_PAGE = 10_000
CENT = Decimal("0.01")
MAX_AMOUNT = Decimal(1_000_000_000)  # the simulator's ceiling too; above it is a typo

# --- errors -----------------------------------------------------------------------------------


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


# --- values -----------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class PlatformGroup:
    name: str
    currency: str
    leverage: int
    margin_call: Decimal  # margin level (%) that raises a margin call
    stop_out: Decimal  # margin level (%) at which positions are closed
    group_id: int | None = None  # MT4's numeric id; None on MT5


@dataclass(frozen=True, slots=True)
class PlatformAccount:
    login: int
    group: str
    currency: str
    leverage: int
    rights: Rights
    balance: Decimal
    credit: Decimal
    equity: Decimal
    margin: Decimal
    free_margin: Decimal
    margin_level: Decimal | None  # None without margin (the platforms show 0 there)
    name: str
    comment: str
    email: str = ""


@dataclass(frozen=True, slots=True)
class BalanceResult:
    operation_id: str
    login: int
    kind: OperationKind
    amount: Decimal  # positive; `kind` says which way it went
    ticket: int  # the server's deal / order number
    new_balance: Decimal  # balance right after this operation was applied
    new_credit: Decimal
    time: datetime
    # Always True in a returned result (an operation not on the server is None or an error);
    # kept explicit so a stored result reads plainly.
    applied: bool = True
    # True when this result was not the answer to a fresh apply: it was found again by its id
    # after a lost answer, or the server recognised the id as already applied.
    replayed: bool = False


@dataclass(frozen=True, slots=True)
class Deal:
    ticket: int
    login: int
    kind: DealKind
    entry: Literal["in", "out"] | None  # None for balance and credit deals
    symbol: str
    volume: Decimal  # lots
    price: Decimal
    profit: Decimal
    commission: Decimal
    swap: Decimal
    comment: str
    time: datetime
    position: int | None


@dataclass(frozen=True, slots=True)
class TradingEvent:
    cursor: str
    kind: EventKind
    login: int
    payload: Mapping[str, Any]
    time: datetime


T = TypeVar("T")


@dataclass(frozen=True, slots=True)
class Page(Generic[T]):
    items: tuple[T, ...]
    # Pass back to get the next page; None when this page reached the end.
    next_cursor: str | None
    # Where to continue later even when the end was reached (a feed keeps growing): store it
    # and poll from it. Equal to next_cursor when there is more.
    resume_cursor: str


@runtime_checkable
class TradingPlatform(Protocol):
    @property
    def kind(self) -> str:
        """Which flavour: "mt4" or "mt5"."""
        ...

    @property
    def server(self) -> str:
        """The server's name on the trading platform, e.g. "EU-MT5-Live"."""
        ...

    def groups(self) -> list[PlatformGroup]: ...

    def user_create(
        self, *, group: str, name: str, email: str, leverage: int, rights: Rights, comment: str
    ) -> PlatformAccount: ...

    def user_get(self, login: int) -> PlatformAccount: ...

    def users_by_comment(self, comment: str) -> list[PlatformAccount]:
        """Logins whose comment is exactly `comment`, lowest first: how a create whose answer
        was lost is found again (the CRM puts its own reference in the comment)."""
        ...

    def user_set_rights(self, login: int, rights: Rights) -> PlatformAccount: ...

    def balance_operation(
        self, *, login: int, kind: OperationKind, amount: Decimal, operation_id: str
    ) -> BalanceResult: ...

    def operation_find(self, login: int, operation_id: str) -> BalanceResult | None: ...

    def accounts_page(self, cursor: str | None, limit: int) -> Page[PlatformAccount]: ...

    def deals_page(self, after: str | None, limit: int) -> Page[Deal]: ...

    def events_page(self, after: str | None, limit: int) -> Page[TradingEvent]: ...


# --- operation ids in 31 characters -----------------------------------------------------------

COMMENT_PREFIX = "op:"
COMMENT_MAX = 31
_SHORT_ID = re.compile(r"[A-Za-z0-9._-]{1,27}")


def _b32(raw: bytes) -> str:
    return base64.b32encode(raw).decode().rstrip("=").lower()


def operation_comment(operation_id: str) -> str:
    """The balance-operation comment that carries `operation_id`, at most 31 characters.

    A UUID (our usual id) becomes `op:` + its 16 bytes in base32 (29 characters, reversible);
    another id of up to 27 safe characters is kept as `op:=<id>`; anything longer is hashed to
    `op:#` + 26 base32 characters of its SHA-256. The markers `=` and `#` are outside the base32
    alphabet, so the three forms never collide."""
    if not isinstance(operation_id, str) or not operation_id.strip():
        raise ValidationFailed("An operation id is required for a balance operation.")
    try:
        return COMMENT_PREFIX + _b32(uuid.UUID(operation_id).bytes)
    except ValueError:
        pass
    if _SHORT_ID.fullmatch(operation_id):
        return f"{COMMENT_PREFIX}={operation_id}"
    digest = hashlib.sha256(operation_id.encode()).digest()
    return f"{COMMENT_PREFIX}#{_b32(digest)[:26]}"


def operation_id_from_comment(comment: str) -> str | None:
    """The operation id a comment carries, when it can be read back (not for hashed ids)."""
    if not comment.startswith(COMMENT_PREFIX):
        return None
    body = comment[len(COMMENT_PREFIX) :]
    if body.startswith("="):
        return body[1:] or None
    if len(body) == 26 and not body.startswith("#"):
        try:
            return str(uuid.UUID(bytes=base64.b32decode(body.upper() + "======")))
        except ValueError:
            return None
    return None


# --- conversions ------------------------------------------------------------------------------


def money(value: Any) -> Decimal:
    """A wire amount (decimal string or float) as a Decimal with 2 places. Floats go through
    their shortest repr, so 250.5 becomes 250.50 and not 250.4999..."""
    try:
        if isinstance(value, float):
            value = repr(value)
        return Decimal(value).quantize(CENT)
    except (InvalidOperation, TypeError, ValueError):
        raise PlatformError(f"The trading server sent {value!r} where an amount belongs.") from None


def from_unix_ms(ms: int) -> datetime:
    seconds, millis = divmod(int(ms), 1000)
    return datetime.fromtimestamp(seconds, tz=UTC).replace(microsecond=millis * 1000)


def from_unix(seconds: int) -> datetime:
    return datetime.fromtimestamp(int(seconds), tz=UTC)


def checked_amount(amount: Decimal) -> Decimal:
    """Refuse rather than round: moving a different amount than asked is worse than failing."""
    if not isinstance(amount, Decimal) or not amount.is_finite():
        raise ValidationFailed("A balance operation amount is a finite Decimal.")
    if amount <= 0:
        raise ValidationFailed("A balance operation amount must be positive.")
    if amount >= MAX_AMOUNT:
        raise ValidationFailed("A balance operation amount must be below one billion.")
    if amount != amount.quantize(CENT):
        raise ValidationFailed("A balance operation amount has at most 2 decimal places.")
    return amount.quantize(CENT)


def checked_limit(limit: int) -> int:
    if not isinstance(limit, int) or not 1 <= limit <= MAX_PAGE:
        raise ValidationFailed(f"A page limit is from 1 to {MAX_PAGE}.")
    return limit


def cursor_int(cursor: str | None, what: str) -> int:
    if cursor in (None, ""):
        return 0
    try:
        value = int(cursor)
    except ValueError:
        raise ValidationFailed(f"{cursor!r} is not a {what} cursor of this connector.") from None
    if value < 0:
        raise ValidationFailed(f"{cursor!r} is not a {what} cursor of this connector.")
    return value


# --- the HTTP part both connectors share ------------------------------------------------------


class HttpConnector:
    """Transport, error classes and the lost-answer handling of balance operations; the
    flavours supply the wire format through the `_balance_post`, `_operation_lookup` and
    `_raise_for` hooks."""

    kind: ClassVar[str]

    def __init__(
        self, base_url: str, server: str, timeout: float = 10.0, *, credentials: str | None = None
    ) -> None:
        self.base_url = base_url.rstrip("/")
        self.server = server
        self.timeout = timeout
        # Sent as a bearer token when the gateway asks for one (the simulator does not).
        self._headers = {"Authorization": f"Bearer {credentials}"} if credentials else {}
        self._groups_lock = threading.Lock()
        self._groups_by_name: dict[str, PlatformGroup] = {}
        self._groups_by_id: dict[int, PlatformGroup] = {}

    def __repr__(self) -> str:
        return f"{type(self).__name__}({self.base_url!r}, {self.server!r})"

    def _url(self, path: str, query: Mapping[str, Any] | None = None) -> str:
        server = urllib.parse.quote(self.server, safe="")
        url = f"{self.base_url}/{self.kind}/{server}{path}"
        return f"{url}?{urllib.parse.urlencode(query)}" if query else url

    def _call(
        self,
        method: str,
        path: str,
        *,
        body: Any = None,
        query: Mapping[str, Any] | None = None,
    ) -> Any:
        where = f"{self.kind} server {self.server}"
        try:
            response = json_request(
                method,
                self._url(path, query),
                body=body,
                headers=self._headers,
                timeout=self.timeout,
            )
        except UpstreamTimeout as exc:
            raise PlatformTimeout(f"The {where} did not answer in time.") from exc
        except UpstreamUnavailable as exc:
            raise PlatformUnavailable(f"The {where} could not be reached.") from exc
        except UpstreamError as exc:
            raise UncertainOutcome(f"The {where} answered something unreadable.") from exc
        if response.status >= 500:
            raise UncertainOutcome(f"The {where} failed with HTTP {response.status}.")
        self._raise_for(response)
        if not isinstance(response.body, dict):
            raise UncertainOutcome(f"The {where} answered without a JSON object.")
        return response.body

    def _raise_for(self, response: JsonResponse) -> None:
        raise NotImplementedError

    @contextmanager
    def _reading(self, what: str, error: type[PlatformError] = PlatformError) -> Iterator[None]:
        """A malformed answer is the server's fault: a PlatformError, never a KeyError."""
        try:
            yield
        except (KeyError, IndexError, TypeError, ValueError, InvalidOperation) as exc:
            raise error(
                f"The {self.kind} server {self.server} sent a malformed {what} ({exc!r})."
            ) from None

    # --- groups, cached because every account row names one ---

    def _load_groups(self) -> list[PlatformGroup]:
        raise NotImplementedError

    def groups(self) -> list[PlatformGroup]:
        groups = self._load_groups()
        with self._groups_lock:
            self._groups_by_name = {group.name: group for group in groups}
            self._groups_by_id = {g.group_id: g for g in groups if g.group_id is not None}
        return groups

    def _group(self, *, name: str | None = None, group_id: int | None = None) -> PlatformGroup:
        """From the cache; one refresh on a miss (a group added on the server since)."""
        for refresh in (False, True):
            if refresh:
                self.groups()
            found = (
                self._groups_by_name.get(name)
                if name is not None
                else self._groups_by_id.get(group_id or 0)
            )
            if found is not None:
                return found
        raise GroupUnknown(
            f"The {self.kind} server {self.server} has no group {name or group_id!r}."
        )

    # --- balance operations ---

    def _balance_post(
        self, *, login: int, kind: OperationKind, amount: Decimal, comment: str, operation_id: str
    ) -> BalanceResult:
        raise NotImplementedError

    def _operation_lookup(
        self, login: int, comment: str, operation_id: str
    ) -> BalanceResult | None:
        raise NotImplementedError

    def operation_find(self, login: int, operation_id: str) -> BalanceResult | None:
        return self._operation_lookup(login, operation_comment(operation_id), operation_id)

    def balance_operation(
        self, *, login: int, kind: OperationKind, amount: Decimal, operation_id: str
    ) -> BalanceResult:
        if kind not in OPERATION_KINDS:
            raise ValidationFailed(f"kind must be one of {', '.join(OPERATION_KINDS)}.")
        amount = checked_amount(amount)
        comment = operation_comment(operation_id)

        def post() -> BalanceResult:
            return self._balance_post(
                login=login, kind=kind, amount=amount, comment=comment, operation_id=operation_id
            )

        try:
            return post()
        except (PlatformTimeout, UncertainOutcome):
            found = self._find_after_lost_answer(login, comment, operation_id)
            if found is not None:
                return found
        # Confirmed absent: one more attempt. Should the first request still land late, the
        # server recognises the same id and answers with that first result.
        try:
            return post()
        except (PlatformTimeout, UncertainOutcome) as lost_again:
            found = self._find_after_lost_answer(login, comment, operation_id)
            if found is not None:
                return found
            raise PlatformTimeout(
                f"Operation {operation_id} was not found on {self.server} after two attempts;"
                " retry later with the same operation id (the server never applies it twice).",
                extra={"operation_id": operation_id},
            ) from lost_again

    def _find_after_lost_answer(
        self, login: int, comment: str, operation_id: str
    ) -> BalanceResult | None:
        try:
            return self._operation_lookup(login, comment, operation_id)
        except (PlatformTimeout, PlatformUnavailable) as exc:
            raise PlatformTimeout(
                f"Operation {operation_id} may or may not have been applied on {self.server};"
                " look it up by its operation id before doing anything else.",
                extra={"operation_id": operation_id},
            ) from exc
