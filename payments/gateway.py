"""The PSP connector: the interface our payments code calls, and its HTTP implementation.

Outcomes a caller must tell apart (see brokercrm.httpjson):

- a `PspResult`: the PSP answered. A decline is a result, not an error; `decline_category`
  says whether retrying can help ("soft") or must not happen ("hard").
- `PspRefused`: the PSP answered 4xx and applied nothing (unsupported currency, reused
  idempotency key, unknown transaction...). `code` is the PSP's code.
- `UpstreamUnavailable`: no connection was made; nothing happened, a retry is safe.
- `UpstreamTimeout` or any other `UpstreamError` (5xx, an answer we cannot read): the PSP may
  have acted. Find out with `transaction_by_reference` before doing anything else; retrying
  with the same idempotency key is also safe, since the PSP then returns the first answer.

Amounts travel as decimal strings rounded half-even to the currency's minor units: rounding
happens at this edge only (DESIGN.md section 5).
"""

from __future__ import annotations

import csv
import io
import urllib.parse
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, date, datetime
from decimal import Decimal, InvalidOperation
from typing import Any, Literal, Protocol, cast

from brokercrm.errors import ApplicationError, ValidationFailed
from brokercrm.httpjson import JsonResponse, UpstreamError, json_request
from brokercrm.money import round_minor
from brokercrm.reference import CURRENCY_MINOR_UNITS

__all__ = [
    "HARD_DECLINES",
    "SOFT_DECLINES",
    "HttpPspGateway",
    "PaymentGateway",
    "PspCheckout",
    "PspRefused",
    "PspResult",
    "SettlementLine",
    "decline_category",
    "psp_amount",
]

PspStatus = Literal["approved", "declined", "pending"]
DeclineCategory = Literal["soft", "hard"]
TransactionKind = Literal["payment", "payout"]

SOFT_DECLINES: frozenset[str] = frozenset(
    {"insufficient_funds", "do_not_honour", "issuer_unavailable", "timeout"}
)
HARD_DECLINES: frozenset[str] = frozenset(
    {"stolen_card", "invalid_account", "closed_account", "authentication_failed"}
)

_STATUSES: frozenset[str] = frozenset({"approved", "declined", "pending"})
_SETTLEMENT_COLUMNS = (
    "psp_transaction_id",
    "reference",
    "kind",
    "amount",
    "currency",
    "fee",
    "net",
    "created_at",
)


def decline_category(code: str | None) -> DeclineCategory | None:
    """None when there is no decline. A code we do not know counts as hard: retrying a
    decline the issuer meant as final risks card-scheme penalties, waiting costs nothing."""
    if code is None:
        return None
    return "soft" if code in SOFT_DECLINES else "hard"


def psp_amount(amount: Decimal, currency: str) -> Decimal:
    """`amount` rounded half-even to the minor units of `currency` (2 for most, 0 for JPY)."""
    if currency not in CURRENCY_MINOR_UNITS:
        raise ValidationFailed(f"{currency!r} is not a known currency.", code="currency_unknown")
    if not isinstance(amount, Decimal) or not amount.is_finite():
        raise ValidationFailed("The amount must be a finite Decimal.", code="invalid_amount")
    rounded = round_minor(amount, currency)
    if rounded <= 0:
        raise ValidationFailed(
            f"{amount} {currency} rounds to nothing at the PSP.", code="invalid_amount"
        )
    return rounded


class PspRefused(ApplicationError):
    """The PSP answered 4xx: it refused the request and applied nothing."""

    code = "psp_refused"
    status = 502
    default_detail = "The payment provider refused the request."

    def __init__(self, detail: str | None = None, *, code: str, psp_status: int) -> None:
        super().__init__(detail, code=code)
        self.psp_status = psp_status


@dataclass(frozen=True)
class PspResult:
    psp_transaction_id: str
    reference: str
    status: PspStatus
    decline_code: str | None
    decline_category: DeclineCategory | None
    amount: Decimal
    currency: str


@dataclass(frozen=True)
class PspCheckout:
    """A hosted payment page opened at the PSP: where to send the payer."""

    checkout_id: str
    reference: str
    url: str
    status: str
    amount: Decimal
    currency: str


@dataclass(frozen=True)
class SettlementLine:
    psp_transaction_id: str
    reference: str
    kind: TransactionKind
    amount: Decimal  # positive; `kind` gives the direction
    currency: str
    fee: Decimal
    net: Decimal  # effect on the merchant balance: amount - fee, or -(amount + fee) for payouts
    created_at: datetime  # aware, UTC


class PaymentGateway(Protocol):
    def charge(
        self,
        *,
        reference: str,
        amount: Decimal,
        currency: str,
        method: str,
        instrument: Mapping[str, Any],
        customer: Mapping[str, Any],
        idempotency_key: str,
    ) -> PspResult: ...

    def payout(
        self,
        *,
        reference: str,
        amount: Decimal,
        currency: str,
        method: str,
        instrument: Mapping[str, Any],
        customer: Mapping[str, Any],
        idempotency_key: str,
    ) -> PspResult: ...

    def checkout_create(
        self,
        *,
        reference: str,
        amount: Decimal,
        currency: str,
        method: str,
        customer: Mapping[str, Any],
        return_url: str,
        idempotency_key: str,
    ) -> PspCheckout: ...

    def transaction(self, psp_transaction_id: str) -> PspResult: ...

    def transaction_by_reference(self, reference: str) -> PspResult | None: ...

    def settlement_report(self, day: date) -> list[SettlementLine]: ...


def _segment(value: str) -> str:
    return urllib.parse.quote(value, safe="")


class HttpPspGateway:
    """`PaymentGateway` over the PSP's HTTP API (our simulator speaks it) for one merchant
    account."""

    def __init__(self, base_url: str, merchant_id: str, timeout: float = 10) -> None:
        self.base_url = base_url.rstrip("/")
        self.merchant_id = merchant_id
        self.timeout = timeout
        self._root = f"{self.base_url}/v1/merchants/{_segment(merchant_id)}"

    def charge(
        self,
        *,
        reference: str,
        amount: Decimal,
        currency: str,
        method: str,
        instrument: Mapping[str, Any],
        customer: Mapping[str, Any],
        idempotency_key: str,
    ) -> PspResult:
        return self._create(
            "payments",
            reference=reference,
            amount=amount,
            currency=currency,
            method=method,
            instrument=instrument,
            customer=customer,
            idempotency_key=idempotency_key,
        )

    def payout(
        self,
        *,
        reference: str,
        amount: Decimal,
        currency: str,
        method: str,
        instrument: Mapping[str, Any],
        customer: Mapping[str, Any],
        idempotency_key: str,
    ) -> PspResult:
        return self._create(
            "payouts",
            reference=reference,
            amount=amount,
            currency=currency,
            method=method,
            instrument=instrument,
            customer=customer,
            idempotency_key=idempotency_key,
        )

    def checkout_create(
        self,
        *,
        reference: str,
        amount: Decimal,
        currency: str,
        method: str,
        customer: Mapping[str, Any],
        return_url: str,
        idempotency_key: str,
    ) -> PspCheckout:
        """Open a hosted payment page for `reference`; the payer pays there, the webhook tells
        us the outcome. Safe to repeat with the same idempotency key (the same page)."""
        sent = psp_amount(amount, currency)
        body = self._call(
            "POST",
            "/checkouts",
            body={
                "reference": reference,
                "amount": format(sent, "f"),
                "currency": currency,
                "method": method,
                "customer": dict(customer),
                "return_url": return_url,
            },
            headers={"Idempotency-Key": idempotency_key},
        )
        try:
            checkout = PspCheckout(
                checkout_id=str(body["checkout_id"]),
                reference=str(body["reference"]),
                url=str(body["url"]),
                status=str(body["status"]),
                amount=_decimal(body["amount"], "amount"),
                currency=str(body["currency"]),
            )
        except (KeyError, TypeError) as exc:
            raise UpstreamError(f"The PSP sent a checkout we cannot read: {exc!r}.") from exc
        if (checkout.reference, checkout.amount, checkout.currency) != (reference, sent, currency):
            raise UpstreamError(
                f"The PSP opened a checkout for {checkout.reference}, not {reference}."
            )
        if not checkout.url.startswith(("http://", "https://")):
            raise UpstreamError("The PSP's checkout has no page address.")
        return checkout

    def transaction(self, psp_transaction_id: str) -> PspResult:
        body = self._call("GET", f"/transactions/{_segment(psp_transaction_id)}")
        return _result(body)

    def transaction_by_reference(self, reference: str) -> PspResult | None:
        """The latest transaction made under `reference`, or None when the PSP has none."""
        query = urllib.parse.urlencode({"reference": reference})
        body = self._call("GET", f"/transactions?{query}")
        results = body.get("results")
        if not isinstance(results, list):
            raise UpstreamError("The PSP's transaction list has no results.")
        found = [result for result in map(_result, results) if result.reference == reference]
        # The PSP lists oldest first; a reference is one attempt of ours, so more than one
        # transaction means a retry without the idempotency key, and the last one is current.
        return found[-1] if found else None

    def settlement_report(self, day: date) -> list[SettlementLine]:
        body = self._call("GET", f"/settlements/{day.isoformat()}")
        text = body.get("csv")
        if not isinstance(text, str):
            raise UpstreamError("The PSP's settlement answer carries no CSV.")
        return _settlement_lines(text)

    def _create(
        self,
        collection: str,
        *,
        reference: str,
        amount: Decimal,
        currency: str,
        method: str,
        instrument: Mapping[str, Any],
        customer: Mapping[str, Any],
        idempotency_key: str,
    ) -> PspResult:
        sent = psp_amount(amount, currency)
        body = self._call(
            "POST",
            f"/{collection}",
            body={
                "reference": reference,
                "amount": format(sent, "f"),
                "currency": currency,
                "method": method,
                "instrument": dict(instrument),
                "customer": dict(customer),
            },
            headers={"Idempotency-Key": idempotency_key},
        )
        result = _result(body)
        # An answer about some other transaction must not be booked against this attempt.
        if (result.reference, result.amount, result.currency) != (reference, sent, currency):
            raise UpstreamError(
                f"The PSP answered for {result.reference} {result.amount} {result.currency}, "
                f"not {reference} {sent} {currency}."
            )
        return result

    def _call(
        self,
        method: str,
        path: str,
        *,
        body: Any = None,
        headers: dict[str, str] | None = None,
    ) -> dict[str, Any]:
        # UpstreamTimeout / UpstreamUnavailable from json_request pass through untouched.
        response = json_request(
            method, self._root + path, body=body, headers=headers, timeout=self.timeout
        )
        if 400 <= response.status < 500:
            code, detail = _error_fields(response)
            raise PspRefused(detail, code=code, psp_status=response.status)
        if not response.ok or not isinstance(response.body, dict):
            raise UpstreamError(f"The PSP answered {method} {path} with {response.status}.")
        return cast(dict[str, Any], response.body)


def _error_fields(response: JsonResponse) -> tuple[str, str]:
    body = response.body if isinstance(response.body, dict) else {}
    code = body.get("code")
    detail = body.get("detail")
    return (
        code if isinstance(code, str) and code else "psp_refused",
        detail if isinstance(detail, str) and detail else f"The PSP answered {response.status}.",
    )


def _decimal(value: Any, name: str) -> Decimal:
    try:
        number = Decimal(value) if isinstance(value, str) else None
    except InvalidOperation:
        number = None
    if number is None or not number.is_finite():
        raise UpstreamError(f"The PSP sent {name}={value!r}, which is not a decimal string.")
    return number


def _result(body: Any) -> PspResult:
    try:
        status = body["status"]
        code = body["decline_code"]
        if status not in _STATUSES or not (code is None or isinstance(code, str)):
            raise ValueError(status)
        return PspResult(
            psp_transaction_id=str(body["psp_transaction_id"]),
            reference=str(body["reference"]),
            status=status,
            decline_code=code,
            # Ours, not the PSP's word: the retry policy lives in one place.
            decline_category=decline_category(code),
            amount=_decimal(body["amount"], "amount"),
            currency=str(body["currency"]),
        )
    except (KeyError, TypeError, ValueError) as exc:
        raise UpstreamError(f"The PSP sent a transaction we cannot read: {exc!r}.") from exc


def _settlement_lines(text: str) -> list[SettlementLine]:
    reader = csv.DictReader(io.StringIO(text))
    if tuple(reader.fieldnames or ()) != _SETTLEMENT_COLUMNS:
        raise UpstreamError(f"The settlement report has columns {reader.fieldnames}.")
    lines: list[SettlementLine] = []
    for row in reader:
        kind = row["kind"]
        if kind not in ("payment", "payout"):
            raise UpstreamError(f"The settlement report has a line of kind {kind!r}.")
        try:
            created_at = datetime.strptime(row["created_at"], "%Y-%m-%dT%H:%M:%SZ").replace(
                tzinfo=UTC
            )
        except (TypeError, ValueError) as exc:
            raise UpstreamError(f"Bad settlement time {row['created_at']!r}.") from exc
        lines.append(
            SettlementLine(
                psp_transaction_id=row["psp_transaction_id"],
                reference=row["reference"],
                kind=kind,
                amount=_decimal(row["amount"], "amount"),
                currency=row["currency"],
                fee=_decimal(row["fee"], "fee"),
                net=_decimal(row["net"], "net"),
                created_at=created_at,
            )
        )
    return lines
