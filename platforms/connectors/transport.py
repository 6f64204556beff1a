"""The HTTP part both connectors share: transport and error mapping, the group cache, and
balance operations that find themselves again by their operation id after a lost answer."""

from __future__ import annotations

import threading
import urllib.parse
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from decimal import Decimal, InvalidOperation
from typing import Any, ClassVar

from brokercrm.errors import ValidationFailed
from brokercrm.httpjson import (
    JsonResponse,
    UpstreamError,
    UpstreamTimeout,
    UpstreamUnavailable,
    json_request,
)
from platforms.connectors.errors import (
    GroupUnknown,
    PlatformError,
    PlatformTimeout,
    PlatformUnavailable,
    UncertainOutcome,
)
from platforms.connectors.values import (
    OPERATION_KINDS,
    BalanceResult,
    OperationKind,
    PlatformGroup,
)
from platforms.connectors.wire import checked_amount, operation_comment


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
