"""A simulated payment service provider, run as its own process so that `payments.gateway`
is exercised over real HTTP (DESIGN.md section 7). Standard library only (no Django).

Run: ``python -m payments.simulator --port 8701 [--host 0.0.0.0] [--config FILE.json] [--seed N]
[--public-url URL]``.
It prints ``listening on http://HOST:PORT`` once bound (``--port 0`` picks a free port).

Magic test instruments (exported as CARD_OUTCOMES and IBAN_OUTCOMES; all Luhn/mod-97 valid)::

    card number         outcome               category
    4242424242424242    approved, always
    4000000000000002    do_not_honour         soft
    4000000000000010    insufficient_funds    soft
    4000000000000028    stolen_card           hard
    4000000000000036    issuer_unavailable    soft
    4000000000000044    timeout: applied as approved, connection closed without an answer
    4000000000000051    invalid_account       hard
    4000000000000069    closed_account        hard

    IBAN                      outcome
    DE89370400440532013000    approved, always
    DE09000000000000000001    closed_account        hard
    DE79000000000000000002    invalid_account       hard
    DE52000000000000000003    issuer_unavailable    soft
    DE25000000000000000004    timeout: applied as approved, connection closed without an answer

Any other valid instrument is approved with the merchant's approval_rate, else declined with a
code drawn by decline_weights; timeout_rate closes the connection after applying. Chance comes
from one ``random.Random(seed)`` that ``POST /admin/reset`` rewinds, and every transaction draws
the same count of numbers, so a run with the same seed and requests repeats its outcomes.
Transaction and event ids are unique per process start instead (they must never collide with
ids a database kept from an earlier run).

Merchant config (``--config`` file ``{"merchants": [{...}, ...]}`` or
``PUT /admin/merchants/{id}``; unknown fields are refused)::

    {"id": "eu-cards-1", "webhook_url": "http://...", "webhook_secret": "whsec_...",
     "currencies": ["EUR", "USD"], "methods": ["card", "bank_wire", "sepa_instant"],
     "approval_rate": 1.0, "decline_weights": {"insufficient_funds": 50, ...},
     "timeout_rate": 0.0, "latency_ms": 0, "fee_bps": 0,
     "duplicate_rate": 0.0, "out_of_order_rate": 0.0, "out_of_order_delay_s": 1.0,
     "late_rate": 0.0, "late_delay_s": 5.0, "payout_settle_s": 0.5, "checkout_ttl_s": 3600}

``checkout_ttl_s``: a hosted payment page not paid within it expires (its pages answer 410).

API (JSON; errors are ``{"code", "detail"}``):

- ``POST /v1/merchants/{mid}/payments`` and ``.../payouts`` with an ``Idempotency-Key`` header
  (400 idempotency_key_required) and ``{"reference", "amount": "100.00", "currency", "method",
  "instrument": {"card_number"} | {"iban"} | {...}, "customer": {...}}`` answer 201 with
  ``{psp_transaction_id, reference, merchant_account, kind, method, status, decline_code,
  decline_category, amount, currency, created_at}``. status is approved | declined for
  payments and card refunds; bank and local-method payouts answer ``pending`` and settle
  payout_settle_s later. Declines are answers (201), not errors. Same key and body: the first
  answer again; same key, other body: 409 idempotency_key_reused. 404 merchant_not_found;
  422 currency_not_supported, method_not_supported, invalid_amount, invalid_reference,
  invalid_instrument, invalid_customer.
- ``GET /v1/merchants/{mid}/transactions/{psp_transaction_id}``;
  ``GET /v1/merchants/{mid}/transactions?reference=R`` answers ``{"results": [...]}``, oldest
  first.
- ``GET /v1/merchants/{mid}/settlements/YYYY-MM-DD``: CSV of the successful transactions
  created that UTC day (see `settlement`); with ``Accept: application/json`` the same text
  comes as ``{"merchant_account", "day", "content_type": "text/csv", "csv"}``.
- Webhooks: ``POST webhook_url`` with ``{"id", "type", "created", "data": {psp_transaction_id,
  reference, merchant_account, kind, amount, currency, status, decline_code,
  decline_category}}``, types payment.succeeded | payment.declined | payout.paid |
  payout.failed, signed with brokercrm.signing in the X-Signature header as each delivery leaves.
  duplicate_rate sends the identical event again 0.1 s later, out_of_order_rate holds an event
  back 50-100 % of out_of_order_delay_s, late_rate holds it back late_delay_s. Failed
  deliveries (no connection, 5xx) are retried with backoff.
- Hosted payment page (see `checkout` and `pages`): ``POST /v1/merchants/{mid}/checkouts``
  with an ``Idempotency-Key`` and ``{"reference", "amount", "currency", "method": "card",
  "customer", "return_url"}`` answers 201 ``{checkout_id, reference, amount, currency, status:
  "open", url, return_url, psp_transaction_id: null, outcome: null}`` (same key and body: 200
  and the same checkout; other body: 409 idempotency_key_reused; 422 invalid_return_url and
  the payment codes above). ``GET .../checkouts/{checkout_id}`` reads it back. The payer's
  browser opens ``url`` (``/pay/{checkout_id}``: an HTML card form), then a one-time code page
  (``/pay/{checkout_id}/3ds``): code ``123456`` (TEST_OTP) passes and the card is charged with
  its magic outcome above (or chance); any other code declines it ``authentication_failed``
  (hard). Either way a payment transaction is made under the checkout's reference, its webhook
  is sent as for any payment, and the browser is sent (303) to ``return_url`` with
  ``?reference=…&checkout=…&status=approved|declined``. ``--public-url`` (or
  ``PSP_SIMULATOR_PUBLIC_URL``) is the address browsers use, when not the one our server calls.
- Admin: ``GET /admin/merchants``, ``GET|PUT /admin/merchants/{mid}``, ``POST /admin/reset``
  (optional ``{"seed": N}``), ``GET /admin/deliveries`` (scheduled, delivered, failed, pending,
  dropped, counted since start), ``GET|POST /admin/merchants/{mid}/faults`` with ``{"kind":
  "duplicate_line" | "amount_mismatch" | "drop_line" | "drop_webhook", "psp_transaction_id" |
  "reference": ..., "amount": "..." (amount_mismatch only)}``. drop_webhook is named by
  reference and set before the transaction is made.
"""

from __future__ import annotations

from .app import build_app
from .checkout import AUTHENTICATION_FAILED, TEST_OTP
from .engine import Answer, PspSimulator
from .instruments import (
    CARD_OUTCOMES,
    DECLINE_CODES,
    HARD_DECLINES,
    IBAN_OUTCOMES,
    SOFT_DECLINES,
    TIMEOUT,
)
from .merchants import MerchantConfig
from .settlement import COLUMNS as SETTLEMENT_COLUMNS

__all__ = [
    "AUTHENTICATION_FAILED",
    "CARD_OUTCOMES",
    "DECLINE_CODES",
    "HARD_DECLINES",
    "IBAN_OUTCOMES",
    "SETTLEMENT_COLUMNS",
    "SOFT_DECLINES",
    "TEST_OTP",
    "TIMEOUT",
    "Answer",
    "MerchantConfig",
    "PspSimulator",
    "build_app",
]
