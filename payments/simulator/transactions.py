"""A transaction as the simulated PSP keeps it, and the checks on a payment/payout request."""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import UTC, date, datetime
from decimal import Decimal
from typing import Any

from brokercrm.money import minor_unit
from brokercrm.simulators import HttpError

from .instruments import APPROVED, PENDING, check_instrument, decline_category
from .merchants import MerchantConfig

# Plain digits and one optional point: no exponents, signs, NaN or spaces, which Decimal()
# would accept but a PSP API would not.
_AMOUNT = re.compile(r"^[0-9]{1,15}(\.[0-9]{1,8})?$")
MAX_REFERENCE_LENGTH = 128


def parse_amount(value: Any, *, field: str = "amount") -> Decimal:
    if not isinstance(value, str) or not _AMOUNT.match(value):
        raise HttpError(
            422, "invalid_amount", f'{field} must be a decimal string such as "100.00".'
        )
    amount = Decimal(value)
    if amount <= 0:
        raise HttpError(422, "invalid_amount", f"{field} must be above zero.")
    return amount


def format_amount(amount: Decimal, currency: str) -> str:
    return format(amount.quantize(minor_unit(currency)), "f")


def iso_utc(timestamp: float) -> str:
    return datetime.fromtimestamp(timestamp, UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def utc_day(timestamp: float) -> date:
    return datetime.fromtimestamp(timestamp, UTC).date()


@dataclass(frozen=True)
class TransactionRequest:
    reference: str
    amount: Decimal
    currency: str
    method: str
    instrument: dict[str, Any]
    customer: dict[str, Any]


def parse_request(body: Any, merchant: MerchantConfig) -> TransactionRequest:
    """Validate a payment/payout body against what the merchant account accepts."""
    if not isinstance(body, dict):
        raise HttpError(422, "invalid_body", "The body must be a JSON object.")
    reference = body.get("reference")
    if not isinstance(reference, str) or not 0 < len(reference) <= MAX_REFERENCE_LENGTH:
        raise HttpError(
            422,
            "invalid_reference",
            f"reference must be a string of 1 to {MAX_REFERENCE_LENGTH} characters.",
        )
    amount = parse_amount(body.get("amount"))
    currency = body.get("currency")
    if currency not in merchant.currencies:
        raise HttpError(
            422,
            "currency_not_supported",
            f"Merchant account {merchant.id} does not accept {currency!r}.",
        )
    if amount != amount.quantize(minor_unit(currency)):
        raise HttpError(422, "invalid_amount", f"amount has more decimals than {currency} allows.")
    method = body.get("method")
    if method not in merchant.methods:
        raise HttpError(
            422,
            "method_not_supported",
            f"Merchant account {merchant.id} does not offer method {method!r}.",
        )
    instrument = check_instrument(method, body.get("instrument"))
    customer = body.get("customer", {})
    if not isinstance(customer, dict):
        raise HttpError(422, "invalid_customer", "customer must be an object.")
    return TransactionRequest(reference, amount, currency, method, instrument, customer)


@dataclass(frozen=True)
class Transaction:
    psp_transaction_id: str
    merchant_account: str
    kind: str  # "payment" | "payout"
    reference: str
    amount: Decimal
    currency: str
    method: str
    final_status: str  # "approved" | "declined"
    decline_code: str | None
    created: float  # unix seconds
    # When the final status becomes visible; later than `created` only for pending payouts.
    # Reading the status against the clock (instead of a timer flipping it) needs no thread.
    settles_at: float

    def status_at(self, now: float) -> tuple[str, str | None]:
        if now < self.settles_at:
            return PENDING, None
        return self.final_status, self.decline_code

    def succeeded_by(self, now: float) -> bool:
        return self.status_at(now)[0] == APPROVED

    def view(self, now: float) -> dict[str, Any]:
        status, code = self.status_at(now)
        return {
            "psp_transaction_id": self.psp_transaction_id,
            "reference": self.reference,
            "merchant_account": self.merchant_account,
            "kind": self.kind,
            "method": self.method,
            "status": status,
            "decline_code": code,
            "decline_category": decline_category(code),
            "amount": format_amount(self.amount, self.currency),
            "currency": self.currency,
            "created_at": iso_utc(self.created),
        }

    def event_type(self) -> str:
        approved = self.final_status == APPROVED
        if self.kind == "payment":
            return "payment.succeeded" if approved else "payment.declined"
        return "payout.paid" if approved else "payout.failed"

    def event_data(self) -> dict[str, Any]:
        """The webhook's `data`: always the final outcome, even for a payout answered pending,
        because the event is what settles it."""
        return {
            "psp_transaction_id": self.psp_transaction_id,
            "reference": self.reference,
            "merchant_account": self.merchant_account,
            "kind": self.kind,
            "amount": format_amount(self.amount, self.currency),
            "currency": self.currency,
            "status": self.final_status,
            "decline_code": self.decline_code,
            "decline_category": decline_category(self.decline_code),
        }
