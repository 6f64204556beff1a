"""Hosted checkouts: the payer pays on the PSP's own pages, never on ours.

Our gateway creates a checkout server to server (amount, currency, our reference and the page
to send the payer back to); the payer opens its `url`, types a card, passes a 3-D Secure-like
step (a one-time code), and is sent back to `return_url`. What happened reaches the merchant
by the signed webhook of the payment the checkout made, exactly as for a server-to-server
payment: the redirect says where the payer went, not what the money did.

States: open (card form) → authenticating (code form) → completed (a payment was made,
approved or declined). A completed checkout sends the payer back again and makes nothing new.
A checkout not completed within the merchant's `checkout_ttl_s` expires: its pages answer 410
and no payment can be made on it any more.
"""

from __future__ import annotations

import hashlib
import json
import threading
import time
import urllib.parse
import uuid
from dataclasses import dataclass, replace
from typing import Any

from brokercrm.simulators import HttpError

from .instruments import APPROVED, check_instrument, luhn_valid
from .merchants import MerchantConfig
from .transactions import MAX_REFERENCE_LENGTH, TransactionRequest, format_amount, parse_amount

# The one-time code that passes the 3-D Secure-like step; any other code fails it.
TEST_OTP = "123456"
AUTHENTICATION_FAILED = "authentication_failed"
MAX_URL_LENGTH = 2000


@dataclass(frozen=True)
class Checkout:
    checkout_id: str
    merchant_account: str
    reference: str
    amount: Any  # Decimal
    currency: str
    method: str
    customer: dict[str, Any]
    return_url: str
    status: str = "open"  # open | authenticating | completed
    card_number: str = ""
    psp_transaction_id: str = ""
    outcome: str = ""  # approved or a decline code, once completed
    expires_at: float = 0.0  # epoch seconds; 0: never

    @property
    def expired(self) -> bool:
        return self.status != "completed" and 0 < self.expires_at <= time.time()

    def view(self, base_url: str) -> dict[str, Any]:
        return {
            "checkout_id": self.checkout_id,
            "merchant_account": self.merchant_account,
            "reference": self.reference,
            "amount": format_amount(self.amount, self.currency),
            "currency": self.currency,
            "method": self.method,
            "status": self.status,
            "url": f"{base_url}/pay/{self.checkout_id}",
            "return_url": self.return_url,
            "psp_transaction_id": self.psp_transaction_id or None,
            "outcome": self.outcome or None,
            "expired": self.expired,
        }

    def back_to_merchant(self) -> str:
        """return_url with what the payer's browser may know: our reference and the status."""
        if self.expired:
            status = "expired"
        else:
            status = "approved" if self.outcome == APPROVED else "declined"
        parts = urllib.parse.urlsplit(self.return_url)
        query = urllib.parse.parse_qsl(parts.query, keep_blank_values=True)
        query += [("reference", self.reference), ("checkout", self.checkout_id), ("status", status)]
        return urllib.parse.urlunsplit(parts._replace(query=urllib.parse.urlencode(query)))


def _url_valid(value: Any) -> bool:
    if not isinstance(value, str) or not 0 < len(value) <= MAX_URL_LENGTH:
        return False
    parts = urllib.parse.urlsplit(value)
    return parts.scheme in ("http", "https") and bool(parts.netloc)


def parse_checkout(body: Any, merchant: MerchantConfig) -> dict[str, Any]:
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
    method = body.get("method", "card")
    if method != "card" or method not in merchant.methods:
        raise HttpError(
            422, "method_not_supported", "The hosted page takes cards of a card merchant account."
        )
    if not _url_valid(body.get("return_url")):
        raise HttpError(422, "invalid_return_url", "return_url must be an http(s) address.")
    customer = body.get("customer", {})
    if not isinstance(customer, dict):
        raise HttpError(422, "invalid_customer", "customer must be an object.")
    return {
        "reference": reference,
        "amount": amount,
        "currency": currency,
        "method": method,
        "customer": customer,
        "return_url": body["return_url"],
    }


class HostedCheckouts:
    """The checkout half of `PspSimulator` (which provides the lock, the merchants and
    `_transaction_make`)."""

    _lock: threading.Lock
    _checkouts: dict[str, Checkout]
    _checkout_keys: dict[tuple[str, str], tuple[str, str]]

    def _merchant(self, merchant_id: str) -> MerchantConfig:  # pragma: no cover - see engine
        raise NotImplementedError

    def _transaction_make(self, *args: Any, **kwargs: Any) -> Any:  # pragma: no cover
        raise NotImplementedError

    def checkout_create(
        self, merchant_id: str, *, idempotency_key: str | None, body: Any
    ) -> tuple[int, Checkout]:
        """201 and a new checkout; 200 and the first one for the same key and body."""
        with self._lock:
            merchant = self._merchant(merchant_id)
            if not idempotency_key or len(idempotency_key) > 255:
                raise HttpError(
                    400, "idempotency_key_required", "Send an Idempotency-Key header (1-255)."
                )
            fingerprint = hashlib.sha256(
                json.dumps(body, sort_keys=True, separators=(",", ":")).encode()
            ).hexdigest()
            seen = self._checkout_keys.get((merchant_id, idempotency_key))
            if seen is not None:
                if seen[0] != fingerprint:
                    raise HttpError(
                        409,
                        "idempotency_key_reused",
                        "This Idempotency-Key was used with a different request.",
                    )
                return 200, self._checkouts[seen[1]]
            fields = parse_checkout(body, merchant)
            checkout = Checkout(
                checkout_id=f"chk_{uuid.uuid4().hex}",
                merchant_account=merchant_id,
                expires_at=time.time() + merchant.checkout_ttl_s,
                **fields,
            )
            self._checkouts[checkout.checkout_id] = checkout
            self._checkout_keys[(merchant_id, idempotency_key)] = (
                fingerprint,
                checkout.checkout_id,
            )
            return 201, checkout

    def checkout(self, checkout_id: str, merchant_id: str | None = None) -> Checkout:
        with self._lock:
            return self._checkout(checkout_id, merchant_id)

    def checkout_card(self, checkout_id: str, card_number: str) -> Checkout:
        """The payer typed a card: checked as the PSP checks any card, then the code step."""
        number = "".join(card_number.split())
        with self._lock:
            checkout = self._payable(checkout_id)
            if checkout.status == "completed":
                return checkout
            if not (
                number.isascii()
                and number.isdigit()
                and 12 <= len(number) <= 19
                and luhn_valid(number)
            ):
                raise HttpError(422, "invalid_card", "This is not a valid card number.")
            checkout = replace(checkout, status="authenticating", card_number=number)
            self._checkouts[checkout_id] = checkout
            return checkout

    def checkout_authenticate(self, checkout_id: str, code: str) -> Checkout:
        """The one-time code: TEST_OTP passes and the card is charged (its magic outcome or
        chance, as for any payment); any other code declines the payment
        `authentication_failed` without asking the issuer. Either way a payment is made, and
        its webhook tells the merchant."""
        with self._lock:
            checkout = self._payable(checkout_id)
            if checkout.status != "authenticating":
                if checkout.status == "completed":
                    return checkout
                raise HttpError(409, "card_required", "Give the card first.")
            merchant = self._merchant(checkout.merchant_account)
            instrument = check_instrument("card", {"card_number": checkout.card_number})
            request = TransactionRequest(
                reference=checkout.reference,
                amount=checkout.amount,
                currency=checkout.currency,
                method=checkout.method,
                instrument=instrument,
                customer=checkout.customer,
            )
            forced = None if code.strip() == TEST_OTP else AUTHENTICATION_FAILED
            transaction, _drop = self._transaction_make(
                merchant, "payment", request, outcome=forced
            )
            checkout = replace(
                checkout,
                status="completed",
                card_number="",  # a PSP keeps the card in its vault, not on the checkout
                psp_transaction_id=transaction.psp_transaction_id,
                outcome=transaction.decline_code or APPROVED,
            )
            self._checkouts[checkout_id] = checkout
            return checkout

    def _checkout(self, checkout_id: str, merchant_id: str | None = None) -> Checkout:
        checkout = self._checkouts.get(checkout_id)
        if checkout is None or merchant_id not in (None, checkout.merchant_account):
            raise HttpError(404, "checkout_not_found", "No such checkout.")
        return checkout

    def _payable(self, checkout_id: str) -> Checkout:
        checkout = self._checkout(checkout_id)
        if checkout.expired:
            raise HttpError(410, "checkout_expired", "This payment page has expired.")
        return checkout


def parse_form(raw: bytes) -> dict[str, str]:
    """An HTML form post (application/x-www-form-urlencoded), last value wins."""
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError:
        raise HttpError(400, "parse_error", "The form is not UTF-8.") from None
    return dict(urllib.parse.parse_qsl(text, keep_blank_values=True))
