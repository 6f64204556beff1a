"""The simulated PSP's state: merchant accounts, transactions, idempotency keys, faults, and the
webhooks each transaction schedules. Every read and write happens under one lock; nothing slow
(answer latency, webhook delivery) happens while holding it.
"""

from __future__ import annotations

import functools
import hashlib
import json
import random
import threading
import time
import uuid
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import date
from typing import Any

from brokercrm.signing import SIGNATURE_HEADER, webhook_sign
from brokercrm.simulators import HttpError, WebhookDispatcher

from .checkout import Checkout, HostedCheckouts
from .instruments import APPROVED, DECLINED, TIMEOUT, forced_outcome
from .merchants import MerchantConfig
from .settlement import Fault, parse_fault, render_csv, settlement_rows
from .transactions import Transaction, TransactionRequest, parse_request, utc_day

MAX_IDEMPOTENCY_KEY_LENGTH = 255
# A duplicate arrives this long after the original, so a receiver sees it as a redelivery.
DUPLICATE_GAP_S = 0.1


@dataclass(frozen=True)
class _Draws:
    """Every transaction draws the same seven numbers whatever its config, so changing one
    rate (or using a forced instrument) never shifts the outcomes of later transactions."""

    outcome: float
    decline: float
    timeout: float
    duplicate: float
    out_of_order: float
    out_of_order_share: float
    late: float


@dataclass(frozen=True)
class _Remembered:
    fingerprint: str
    status: int
    body: dict[str, Any]


@dataclass(frozen=True)
class Answer:
    status: int
    body: dict[str, Any]
    drop: bool  # True: applied, but the connection is to be closed without an answer


class PspSimulator(HostedCheckouts):
    def __init__(
        self,
        *,
        seed: int,
        merchants: Iterable[MerchantConfig] = (),
        dispatcher: WebhookDispatcher | None = None,
        clock: Callable[[], float] = time.time,
        public_url: str | None = None,
    ) -> None:
        self.seed = seed
        # Where payers' browsers reach the hosted pages (else the Host our gateway called).
        self.public_url = public_url.rstrip("/") if public_url else None
        self.clock = clock
        self.dispatcher = dispatcher or WebhookDispatcher()
        self._lock = threading.Lock()
        # Reproducible on purpose: test outcomes, never secrets, come from it.
        self._rng = random.Random(seed)  # noqa: S311
        self._merchants: dict[str, MerchantConfig] = {m.id: m for m in merchants}
        self._transactions: dict[str, Transaction] = {}
        self._by_reference: dict[tuple[str, str], list[str]] = {}
        self._idempotency: dict[tuple[str, str], _Remembered] = {}
        self._faults: dict[str, list[Fault]] = {}
        self._checkouts: dict[str, Checkout] = {}
        self._checkout_keys: dict[tuple[str, str], tuple[str, str]] = {}
        # Ids stay unique across resets and restarts (a database on our side may keep them),
        # so they come from a per-process prefix and counters that reset never rewinds.
        self._prefix = uuid.uuid4().hex[:8]
        self._sequence = 0
        self._scheduled = 0
        self._dropped = 0

    # -- admin -------------------------------------------------------------------------------

    def merchant_put(self, config: MerchantConfig) -> bool:
        """Create or replace a merchant account; True when it is new."""
        with self._lock:
            created = config.id not in self._merchants
            self._merchants[config.id] = config
            return created

    def merchants(self) -> list[dict[str, Any]]:
        with self._lock:
            return [self._merchants[mid].as_dict() for mid in sorted(self._merchants)]

    def merchant(self, merchant_id: str) -> MerchantConfig:
        with self._lock:
            return self._merchant(merchant_id)

    def reset(self, *, seed: int | None = None) -> None:
        """Forget transactions, keys and faults, and rewind the random stream, so a test suite
        can replay the same outcomes. Webhooks already scheduled are still delivered."""
        with self._lock:
            if seed is not None:
                self.seed = seed
            self._rng.seed(self.seed)
            self._transactions.clear()
            self._by_reference.clear()
            self._idempotency.clear()
            self._faults.clear()
            self._checkouts.clear()
            self._checkout_keys.clear()

    def deliveries(self) -> dict[str, int]:
        with self._lock:
            scheduled, dropped = self._scheduled, self._dropped
        return {
            "scheduled": scheduled,
            "delivered": self.dispatcher.delivered,
            "failed": self.dispatcher.failed,
            "pending": self.dispatcher.pending(),
            "dropped": dropped,
        }

    def fault_add(self, merchant_id: str, data: Any) -> dict[str, Any]:
        with self._lock:
            self._merchant(merchant_id)
            self._sequence += 1
            fault = parse_fault(data, fault_id=f"flt_{self._prefix}{self._sequence:06d}")
            if fault.psp_transaction_id is not None:
                self._transaction(merchant_id, fault.psp_transaction_id)  # 404 if unknown
            self._faults.setdefault(merchant_id, []).append(fault)
            return fault.as_dict()

    def faults(self, merchant_id: str) -> list[dict[str, Any]]:
        with self._lock:
            self._merchant(merchant_id)
            return [fault.as_dict() for fault in self._faults.get(merchant_id, [])]

    # -- the PSP API ---------------------------------------------------------------------------

    def transaction_create(
        self, merchant_id: str, *, kind: str, idempotency_key: str | None, body: Any
    ) -> Answer:
        with self._lock:
            merchant = self._merchant(merchant_id)
            if not idempotency_key:
                raise HttpError(400, "idempotency_key_required", "Send an Idempotency-Key header.")
            if len(idempotency_key) > MAX_IDEMPOTENCY_KEY_LENGTH:
                raise HttpError(
                    400,
                    "invalid_idempotency_key",
                    f"Idempotency-Key is longer than {MAX_IDEMPOTENCY_KEY_LENGTH} characters.",
                )
            fingerprint = hashlib.sha256(
                json.dumps([kind, body], sort_keys=True, separators=(",", ":")).encode()
            ).hexdigest()
            remembered = self._idempotency.get((merchant_id, idempotency_key))
            if remembered is not None:
                if remembered.fingerprint != fingerprint:
                    raise HttpError(
                        409,
                        "idempotency_key_reused",
                        "This Idempotency-Key was used with a different request.",
                    )
                # The first answer, even when the first request was never answered.
                return Answer(remembered.status, remembered.body, drop=False)
            # Refused requests are not remembered: the client may fix the body and retry
            # with the same key, and nothing was applied.
            request = parse_request(body, merchant)
            transaction, drop = self._transaction_make(merchant, kind, request)
            answer = transaction.view(self.clock())
            self._idempotency[(merchant_id, idempotency_key)] = _Remembered(
                fingerprint, 201, answer
            )
            return Answer(201, answer, drop=drop)

    def transaction(self, merchant_id: str, psp_transaction_id: str) -> dict[str, Any]:
        with self._lock:
            self._merchant(merchant_id)
            return self._transaction(merchant_id, psp_transaction_id).view(self.clock())

    def transactions(self, merchant_id: str, reference: str | None) -> list[dict[str, Any]]:
        """Oldest first; every transaction of the merchant when no reference is given."""
        with self._lock:
            self._merchant(merchant_id)
            now = self.clock()
            if reference is None:
                found = [
                    t for t in self._transactions.values() if t.merchant_account == merchant_id
                ]
            else:
                ids = self._by_reference.get((merchant_id, reference), [])
                found = [self._transactions[psp_id] for psp_id in ids]
            return [transaction.view(now) for transaction in found]

    def settlement_csv(self, merchant_id: str, day: date) -> str:
        with self._lock:
            merchant = self._merchant(merchant_id)
            now = self.clock()
            settled = [
                transaction
                for transaction in self._transactions.values()
                if transaction.merchant_account == merchant_id
                and utc_day(transaction.created) == day
                and transaction.succeeded_by(now)
            ]
            rows = settlement_rows(
                settled, fee_bps=merchant.fee_bps, faults=self._faults.get(merchant_id, [])
            )
        return render_csv(rows)

    # -- internals (called with the lock held) -----------------------------------------------

    def _transaction_make(
        self,
        merchant: MerchantConfig,
        kind: str,
        request: TransactionRequest,
        *,
        outcome: str | None = None,
    ) -> tuple[Transaction, bool]:
        """Decide, keep and announce (webhook) one transaction; True when the answer is to be
        dropped. `outcome` forces a decline decided before the issuer (a failed 3-D Secure
        step); the draws are taken all the same, so later outcomes do not shift."""
        draws = _Draws(*(self._rng.random() for _ in range(7)))
        forced = outcome or forced_outcome(request.instrument)
        if forced is None:
            outcome = self._chance_outcome(merchant, draws)
            drop = draws.timeout < merchant.timeout_rate
        else:
            outcome = APPROVED if forced == TIMEOUT else forced
            drop = forced == TIMEOUT
        now = self.clock()
        # Card refunds settle at once; bank and local-method payouts are answered pending.
        pending = kind == "payout" and request.method != "card"
        self._sequence += 1
        transaction = Transaction(
            psp_transaction_id=f"psp_{self._prefix}{self._sequence:06d}",
            merchant_account=merchant.id,
            kind=kind,
            reference=request.reference,
            amount=request.amount,
            currency=request.currency,
            method=request.method,
            final_status=APPROVED if outcome == APPROVED else DECLINED,
            decline_code=None if outcome == APPROVED else outcome,
            created=now,
            settles_at=now + merchant.payout_settle_s if pending else now,
        )
        self._transactions[transaction.psp_transaction_id] = transaction
        self._by_reference.setdefault((merchant.id, request.reference), []).append(
            transaction.psp_transaction_id
        )
        self._schedule_event(merchant, transaction, draws)
        return transaction, drop

    def _merchant(self, merchant_id: str) -> MerchantConfig:
        merchant = self._merchants.get(merchant_id)
        if merchant is None:
            raise HttpError(404, "merchant_not_found", f"No merchant account {merchant_id}.")
        return merchant

    def _transaction(self, merchant_id: str, psp_transaction_id: str) -> Transaction:
        transaction = self._transactions.get(psp_transaction_id)
        # Another merchant's transaction answers 404 too, as a real PSP would.
        if transaction is None or transaction.merchant_account != merchant_id:
            raise HttpError(404, "transaction_not_found", f"No transaction {psp_transaction_id}.")
        return transaction

    @staticmethod
    def _chance_outcome(merchant: MerchantConfig, draws: _Draws) -> str:
        if draws.outcome < merchant.approval_rate:
            return APPROVED
        total = sum(merchant.decline_weights.values())
        point = draws.decline * total
        for code, weight in merchant.decline_weights.items():
            point -= weight
            if point < 0:
                return code
        # Only reachable through float rounding at the very top of the range.
        return next(code for code, weight in reversed(merchant.decline_weights.items()) if weight)

    def _schedule_event(
        self, merchant: MerchantConfig, transaction: Transaction, draws: _Draws
    ) -> None:
        faults = self._faults.get(merchant.id, [])
        dropped = any(f.kind == "drop_webhook" and f.matches(transaction) for f in faults)
        duplicate = draws.duplicate < merchant.duplicate_rate
        copies = 2 if duplicate else 1
        if dropped or merchant.webhook_url is None:
            self._dropped += copies
            return
        self._sequence += 1
        event = {
            "id": f"evt_{self._prefix}{self._sequence:06d}",
            "type": transaction.event_type(),
            "created": int(transaction.settles_at),
            "data": transaction.event_data(),
        }
        # The bytes are fixed once, so a duplicate is byte-for-byte the same event.
        body = json.dumps(event, separators=(",", ":")).encode()
        delay = transaction.settles_at - transaction.created
        if draws.out_of_order < merchant.out_of_order_rate:
            delay += merchant.out_of_order_delay_s * (0.5 + 0.5 * draws.out_of_order_share)
        if draws.late < merchant.late_rate:
            delay += merchant.late_delay_s
        for copy in range(copies):
            self.dispatcher.schedule(
                merchant.webhook_url,
                body,
                functools.partial(_signature, merchant.webhook_secret),
                delay=delay + copy * DUPLICATE_GAP_S,
            )
        self._scheduled += copies


def _signature(secret: str, body: bytes) -> dict[str, str]:
    # Signed as each delivery leaves: a late or retried webhook is not stale on arrival.
    return {SIGNATURE_HEADER: webhook_sign(secret=secret, body=body)}
