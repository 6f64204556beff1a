"""The PSP simulator process and the HTTP gateway, end to end over real HTTP (no database).

One simulator process serves the module; each test configures its own merchant account, so
tests share no transactions. Webhooks land in a JsonApp served from a thread of this process.
"""

from __future__ import annotations

import json
import threading
import time
import urllib.request
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from decimal import Decimal
from typing import Any, Literal, TypeVar

import pytest

from brokercrm.errors import ValidationFailed
from brokercrm.httpjson import (
    JsonResponse,
    UpstreamTimeout,
    UpstreamUnavailable,
    json_request,
)
from brokercrm.signing import SIGNATURE_HEADER, WebhookSignatureError, webhook_verify
from brokercrm.simulators import JsonApp, Request, SimulatorProcess, start_in_thread
from payments.gateway import (
    HARD_DECLINES,
    SOFT_DECLINES,
    HttpPspGateway,
    PspRefused,
    PspResult,
    SettlementLine,
    decline_category,
    psp_amount,
)
from payments.simulator import CARD_OUTCOMES, IBAN_OUTCOMES
from payments.simulator import HARD_DECLINES as SIMULATOR_HARD
from payments.simulator import SOFT_DECLINES as SIMULATOR_SOFT

SECRET = "whsec_test_secret"
APPROVE = "4242424242424242"
T = TypeVar("T")


def wait_for(predicate: Callable[[], T], *, timeout: float = 5.0) -> T:
    deadline = time.monotonic() + timeout
    while True:
        value = predicate()
        if value:
            return value
        if time.monotonic() > deadline:
            raise AssertionError(f"nothing after {timeout} s")
        time.sleep(0.02)


@dataclass(frozen=True)
class Received:
    merchant: str
    body: bytes
    signature: str | None
    at: float  # time.monotonic() on arrival

    @property
    def event(self) -> dict[str, Any]:
        return json.loads(self.body)

    @property
    def reference(self) -> str:
        return self.event["data"]["reference"]


@dataclass
class Psp:
    url: str
    hooks_url: str
    received: list[Received] = field(default_factory=list)
    lock: threading.Lock = field(default_factory=threading.Lock)

    def admin(self, method: str, path: str, body: Any = None) -> JsonResponse:
        return json_request(method, f"{self.url}{path}", body=body)

    def merchant(self, merchant_id: str, **overrides: Any) -> HttpPspGateway:
        config = {
            "webhook_url": f"{self.hooks_url}/hooks/{merchant_id}",
            "webhook_secret": SECRET,
            "currencies": ["EUR", "JPY"],
            "methods": ["card", "bank_wire"],
            **overrides,
        }
        answer = self.admin("PUT", f"/admin/merchants/{merchant_id}", config)
        assert answer.status in (200, 201), answer.body
        return HttpPspGateway(self.url, merchant_id)

    def events(self, merchant_id: str) -> list[Received]:
        with self.lock:
            return [item for item in self.received if item.merchant == merchant_id]

    def wait_events(self, merchant_id: str, count: int, *, timeout: float = 5.0) -> list[Received]:
        return wait_for(
            lambda: (found := self.events(merchant_id)) and len(found) >= count and found,
            timeout=timeout,
        )

    def raw_transaction(self, merchant_id: str, psp_transaction_id: str) -> dict[str, Any]:
        path = f"/v1/merchants/{merchant_id}/transactions/{psp_transaction_id}"
        return self.admin("GET", path).body


@pytest.fixture(scope="module")
def psp() -> Iterator[Psp]:
    received: list[Received] = []
    lock = threading.Lock()
    receiver = JsonApp("receiver")

    @receiver.route("POST", "/hooks/{mid}")
    def hook(request: Request) -> dict[str, bool]:
        item = Received(
            request.params["mid"],
            request.raw_body,
            request.header(SIGNATURE_HEADER),
            time.monotonic(),
        )
        with lock:
            received.append(item)
        return {"ok": True}

    hooks_url, stop_receiver = start_in_thread(receiver)
    try:
        with SimulatorProcess("payments.simulator", "--seed", "7") as simulator:
            yield Psp(url=simulator.url, hooks_url=hooks_url, received=received, lock=lock)
    finally:
        stop_receiver()


def charge(
    gateway: HttpPspGateway,
    reference: str,
    *,
    card: str = APPROVE,
    amount: str = "100.00",
    currency: str = "EUR",
    key: str | None = None,
) -> PspResult:
    return gateway.charge(
        reference=reference,
        amount=Decimal(amount),
        currency=currency,
        method="card",
        instrument={"card_number": card},
        customer={"email": "ada@example.com"},
        idempotency_key=key or f"key-{reference}",
    )


def bank_payout(gateway: HttpPspGateway, reference: str, iban: str, amount: str) -> PspResult:
    return gateway.payout(
        reference=reference,
        amount=Decimal(amount),
        currency="EUR",
        method="bank_wire",
        instrument={"iban": iban},
        customer={},
        idempotency_key=f"key-{reference}",
    )


def test_amounts_are_rounded_half_even_to_minor_units_and_declines_categorised() -> None:
    assert psp_amount(Decimal("100.005"), "EUR") == Decimal("100.00")
    assert psp_amount(Decimal("100.015"), "EUR") == Decimal("100.02")
    assert psp_amount(Decimal("1500.5"), "JPY") == Decimal("1500")
    assert psp_amount(Decimal("1501.5"), "JPY") == Decimal("1502")
    assert psp_amount(Decimal("1.0005"), "KWD") == Decimal("1.000")
    with pytest.raises(ValidationFailed) as nothing:
        psp_amount(Decimal("0.004"), "EUR")
    assert nothing.value.code == "invalid_amount"
    with pytest.raises(ValidationFailed) as unknown:
        psp_amount(Decimal(1), "XXX")
    assert unknown.value.code == "currency_unknown"
    assert (SOFT_DECLINES, HARD_DECLINES) == (SIMULATOR_SOFT, SIMULATOR_HARD)
    assert [decline_category(c) for c in (None, "timeout", "stolen_card", "brand_new")] == [
        None,
        "soft",
        "hard",
        "hard",
    ]


def test_an_approving_card_is_approved_and_its_webhook_is_signed(psp: Psp) -> None:
    gateway = psp.merchant("approve")

    result = charge(gateway, "dep-1", amount="100.005")

    assert result == PspResult(
        psp_transaction_id=result.psp_transaction_id,
        reference="dep-1",
        status="approved",
        decline_code=None,
        decline_category=None,
        amount=Decimal("100.00"),
        currency="EUR",
    )
    assert gateway.transaction(result.psp_transaction_id) == result
    (delivery,) = psp.wait_events("approve", 1)
    signed_at = webhook_verify(secret=SECRET, header=delivery.signature, body=delivery.body)
    assert abs(signed_at - time.time()) < 60
    event = delivery.event
    assert event["id"].startswith("evt_")
    assert event["type"] == "payment.succeeded"
    assert abs(event["created"] - time.time()) < 60
    assert event["data"] == {
        "psp_transaction_id": result.psp_transaction_id,
        "reference": "dep-1",
        "merchant_account": "approve",
        "kind": "payment",
        "amount": "100.00",
        "currency": "EUR",
        "status": "approved",
        "decline_code": None,
        "decline_category": None,
    }
    with pytest.raises(WebhookSignatureError) as wrong_secret:
        webhook_verify(secret="other", header=delivery.signature, body=delivery.body)
    assert wrong_secret.value.code == "signature_invalid"
    with pytest.raises(WebhookSignatureError) as tampered:
        webhook_verify(
            secret=SECRET, header=delivery.signature, body=delivery.body.replace(b"100", b"900")
        )
    assert tampered.value.code == "signature_invalid"


def test_the_instrument_tables_are_the_documented_ones() -> None:
    assert CARD_OUTCOMES == {
        "4242424242424242": "approved",
        "4000000000000002": "do_not_honour",
        "4000000000000010": "insufficient_funds",
        "4000000000000028": "stolen_card",
        "4000000000000036": "issuer_unavailable",
        "4000000000000044": "timeout",
        "4000000000000051": "invalid_account",
        "4000000000000069": "closed_account",
    }
    assert IBAN_OUTCOMES == {
        "DE89370400440532013000": "approved",
        "DE09000000000000000001": "closed_account",
        "DE79000000000000000002": "invalid_account",
        "DE52000000000000000003": "issuer_unavailable",
        "DE25000000000000000004": "timeout",
    }


@pytest.mark.parametrize(
    ("card", "code", "category"),
    [
        ("4000000000000002", "do_not_honour", "soft"),
        ("4000000000000010", "insufficient_funds", "soft"),
        ("4000000000000036", "issuer_unavailable", "soft"),
        ("4000000000000028", "stolen_card", "hard"),
        ("4000000000000051", "invalid_account", "hard"),
        ("4000000000000069", "closed_account", "hard"),
    ],
)
def test_a_forced_card_is_declined_with_its_code_and_category(
    psp: Psp, card: str, code: str, category: str
) -> None:
    gateway = psp.merchant(f"decline-{code}")

    result = charge(gateway, f"dep-{code}", card=card)

    assert (result.status, result.decline_code, result.decline_category) == (
        "declined",
        code,
        category,
    )
    assert gateway.transaction(result.psp_transaction_id) == result
    (delivery,) = psp.wait_events(f"decline-{code}", 1)
    assert delivery.event["type"] == "payment.declined"
    assert delivery.event["data"]["decline_code"] == code
    assert delivery.event["data"]["decline_category"] == category


def test_a_repeated_key_returns_the_first_answer_and_a_reused_key_is_refused(psp: Psp) -> None:
    gateway = psp.merchant("idempotent")
    first = charge(gateway, "dep-1", key="k-1")

    again = charge(gateway, "dep-1", key="k-1")
    racing: list[PspResult] = []
    threads = [
        threading.Thread(target=lambda: racing.append(charge(gateway, "dep-2", key="k-2")))
        for _ in range(6)
    ]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()

    assert again == first
    assert len({result.psp_transaction_id for result in racing}) == 1
    assert len(racing) == 6
    with pytest.raises(PspRefused) as refused:
        charge(gateway, "dep-1", amount="200.00", key="k-1")
    assert (refused.value.code, refused.value.psp_status) == ("idempotency_key_reused", 409)
    listed = psp.admin("GET", "/v1/merchants/idempotent/transactions").body["results"]
    assert [(t["reference"], t["amount"]) for t in listed] == [
        ("dep-1", "100.00"),
        ("dep-2", "100.00"),
    ]


def test_refused_requests_name_the_reason_and_apply_nothing(psp: Psp) -> None:
    gateway = psp.merchant("refusals")
    refusals = []
    for kwargs in (
        {"currency": "USD"},
        {"method": "pix"},
        {"instrument": {"card_number": "4242424242424241"}},  # fails the Luhn check
    ):
        call = {
            "reference": "dep-x",
            "amount": Decimal("10.00"),
            "currency": "EUR",
            "method": "card",
            "instrument": {"card_number": APPROVE},
            "customer": {},
            "idempotency_key": f"key-{len(refusals)}",
            **kwargs,
        }
        with pytest.raises(PspRefused) as refused:
            gateway.charge(**call)
        refusals.append((refused.value.code, refused.value.psp_status))
    path = f"{psp.url}/v1/merchants/refusals/payments"
    raw = []
    for amount in ("10.001", "-5", "1e3", 5, None):
        body = {"reference": "dep-y", "amount": amount, "currency": "EUR", "method": "card"}
        answer = json_request("POST", path, body=body, headers={"Idempotency-Key": "k-fix"})
        raw.append((answer.status, answer.body["code"]))
    no_key = json_request("POST", path, body={"reference": "dep-z"})

    assert refusals == [
        ("currency_not_supported", 422),
        ("method_not_supported", 422),
        ("invalid_instrument", 422),
    ]
    assert raw == [(422, "invalid_amount")] * 5
    assert (no_key.status, no_key.body["code"]) == (400, "idempotency_key_required")
    assert psp.admin("GET", "/v1/merchants/refusals/transactions").body == {"results": []}
    # A refused request is not remembered: the same key works once the body is fixed.
    fixed = charge(gateway, "dep-y", amount="10.00", key="k-fix")
    assert (fixed.status, fixed.amount) == ("approved", Decimal("10.00"))
    with pytest.raises(PspRefused) as unknown_merchant:
        charge(HttpPspGateway(psp.url, "nobody"), "dep-1")
    assert (unknown_merchant.value.code, unknown_merchant.value.psp_status) == (
        "merchant_not_found",
        404,
    )
    with pytest.raises(UpstreamUnavailable):
        charge(HttpPspGateway("http://127.0.0.1:9", "nobody", timeout=2), "dep-1")


def test_a_timeout_is_applied_and_found_by_reference(psp: Psp) -> None:
    gateway = psp.merchant("timeouts")

    with pytest.raises(UpstreamTimeout):
        charge(gateway, "dep-t", card="4000000000000044", amount="55.00")

    found = gateway.transaction_by_reference("dep-t")
    assert found is not None
    assert (found.reference, found.status, found.amount) == ("dep-t", "approved", Decimal("55.00"))
    # A retry with the same key is answered this time, with the same transaction.
    assert charge(gateway, "dep-t", card="4000000000000044", amount="55.00") == found
    (delivery,) = psp.wait_events("timeouts", 1)
    assert delivery.event["type"] == "payment.succeeded"
    assert delivery.event["data"]["psp_transaction_id"] == found.psp_transaction_id
    assert gateway.transaction_by_reference("dep-never") is None


def test_a_slow_answer_times_out_after_the_psp_applied_it(psp: Psp) -> None:
    psp.merchant("slow", latency_ms=400)
    impatient = HttpPspGateway(psp.url, "slow", timeout=0.15)
    patient = HttpPspGateway(psp.url, "slow", timeout=5)

    with pytest.raises(UpstreamTimeout):
        charge(impatient, "dep-slow")

    found = patient.transaction_by_reference("dep-slow")
    assert found is not None
    assert (found.status, found.amount) == ("approved", Decimal("100.00"))


def test_duplicate_rate_one_sends_every_event_twice_identically(psp: Psp) -> None:
    gateway = psp.merchant("duplicates", duplicate_rate=1.0)
    before = psp.admin("GET", "/admin/deliveries").body

    first = charge(gateway, "dep-a")
    second = charge(gateway, "dep-b", card="4000000000000010")

    deliveries = psp.wait_events("duplicates", 4)
    time.sleep(0.3)  # a fifth delivery would be a bug
    assert len(psp.events("duplicates")) == 4
    by_reference = {r: [d for d in deliveries if d.reference == r] for r in ("dep-a", "dep-b")}
    for reference, result in (("dep-a", first), ("dep-b", second)):
        original, duplicate = by_reference[reference]
        assert original.body == duplicate.body
        assert original.event["data"]["psp_transaction_id"] == result.psp_transaction_id
        webhook_verify(secret=SECRET, header=duplicate.signature, body=duplicate.body)
    assert by_reference["dep-a"][0].event["id"] != by_reference["dep-b"][0].event["id"]
    after = psp.admin("GET", "/admin/deliveries").body
    assert after["scheduled"] - before["scheduled"] == 4


def test_an_out_of_order_event_arrives_after_a_later_one(psp: Psp) -> None:
    gateway = psp.merchant("reorder", out_of_order_rate=1.0, out_of_order_delay_s=0.6)
    started = time.monotonic()
    charge(gateway, "dep-earlier")
    psp.merchant("reorder", out_of_order_rate=0.0)

    charge(gateway, "dep-later")

    deliveries = psp.wait_events("reorder", 2)
    assert [delivery.reference for delivery in deliveries] == ["dep-later", "dep-earlier"]
    assert deliveries[1].at - started >= 0.3  # held back by 50-100 % of 0.6 s


def test_a_late_event_arrives_after_the_late_delay(psp: Psp) -> None:
    gateway = psp.merchant("late", late_rate=1.0, late_delay_s=0.8)
    started = time.monotonic()

    charge(gateway, "dep-late")

    time.sleep(0.4)
    assert psp.events("late") == []
    (delivery,) = psp.wait_events("late", 1)
    assert delivery.at - started >= 0.8
    assert delivery.reference == "dep-late"


def test_a_bank_payout_is_pending_then_settled_by_its_webhook(psp: Psp) -> None:
    gateway = psp.merchant("payouts", payout_settle_s=0.3)

    closed = bank_payout(gateway, "wd-closed", "DE09 0000 0000 0000 0000 01", "70.00")
    paid = bank_payout(gateway, "wd-paid", "DE89370400440532013000", "80.00")

    assert (closed.status, closed.decline_code, paid.status) == ("pending", None, "pending")
    assert gateway.transaction(closed.psp_transaction_id).status == "pending"
    deliveries = psp.wait_events("payouts", 2)
    events = {delivery.reference: delivery.event for delivery in deliveries}
    assert (events["wd-closed"]["type"], events["wd-paid"]["type"]) == (
        "payout.failed",
        "payout.paid",
    )
    assert events["wd-closed"]["data"]["kind"] == "payout"
    assert events["wd-closed"]["data"]["decline_code"] == "closed_account"
    assert gateway.transaction(closed.psp_transaction_id) == PspResult(
        psp_transaction_id=closed.psp_transaction_id,
        reference="wd-closed",
        status="declined",
        decline_code="closed_account",
        decline_category="hard",
        amount=Decimal("70.00"),
        currency="EUR",
    )
    assert gateway.transaction(paid.psp_transaction_id).status == "approved"


def test_the_settlement_report_carries_fees_and_every_injected_fault(psp: Psp) -> None:
    gateway = psp.merchant("settles", fee_bps=100)
    quiet = psp.admin(
        "POST", "/admin/merchants/settles/faults", {"kind": "drop_webhook", "reference": "quiet"}
    )
    assert quiet.status == 201
    before = psp.admin("GET", "/admin/deliveries").body

    doubled = charge(gateway, "doubled", amount="10.50")  # 1 % = 0.105, half-even: 0.10
    wrong = charge(gateway, "wrong", amount="20.00")
    dropped = charge(gateway, "dropped", amount="30.00")
    silent = charge(gateway, "quiet", amount="40.00")
    charge(gateway, "declined", card="4000000000000002")
    refund = gateway.payout(
        reference="refund",
        amount=Decimal("5.00"),
        currency="EUR",
        method="card",
        instrument={"card_number": APPROVE},
        customer={},
        idempotency_key="key-refund",
    )
    yen = charge(gateway, "yen", amount="1001", currency="JPY")  # fee 10.01 -> 10
    faults = [
        {"kind": "duplicate_line", "psp_transaction_id": doubled.psp_transaction_id},
        {"kind": "amount_mismatch", "reference": "wrong", "amount": "19.00"},
        {"kind": "drop_line", "reference": "dropped"},
    ]
    for fault in faults:
        assert psp.admin("POST", "/admin/merchants/settles/faults", fault).status == 201

    def line(
        result: PspResult, amount: str, fee: str, net: str, kind: Literal["payment", "payout"]
    ) -> SettlementLine:
        created = psp.raw_transaction("settles", result.psp_transaction_id)["created_at"]
        return SettlementLine(
            psp_transaction_id=result.psp_transaction_id,
            reference=result.reference,
            kind=kind,
            amount=Decimal(amount),
            currency=result.currency,
            fee=Decimal(fee),
            net=Decimal(net),
            created_at=datetime.strptime(created, "%Y-%m-%dT%H:%M:%SZ").replace(tzinfo=UTC),
        )

    expected = [
        line(doubled, "10.50", "0.10", "10.40", "payment"),
        line(doubled, "10.50", "0.10", "10.40", "payment"),
        line(wrong, "19.00", "0.19", "18.81", "payment"),
        line(silent, "40.00", "0.40", "39.60", "payment"),
        line(refund, "5.00", "0.05", "-5.05", "payout"),
        line(yen, "1001", "10", "991", "payment"),
    ]
    day = expected[0].created_at.date()
    assert gateway.settlement_report(day) == expected
    assert gateway.settlement_report(date(2001, 1, 1)) == []
    url = f"{psp.url}/v1/merchants/settles/settlements/{day.isoformat()}"
    with urllib.request.urlopen(url, timeout=5) as response:  # noqa: S310 - our simulator
        # JsonApp labels any text body text/plain; the bytes are the CSV file itself.
        assert response.headers["Content-Type"] == "text/plain; charset=utf-8"
        text = response.read().decode()
    rows = [
        f"{x.psp_transaction_id},{x.reference},{x.kind},{x.amount},{x.currency},{x.fee},{x.net},"
        f"{x.created_at:%Y-%m-%dT%H:%M:%SZ}"
        for x in expected
    ]
    header = "psp_transaction_id,reference,kind,amount,currency,fee,net,created_at"
    assert text == "\n".join([header, *rows]) + "\n"
    # Webhooks leave in due order from one thread: once the last has arrived, "quiet" would have.
    deliveries = psp.wait_events("settles", 6)
    time.sleep(0.2)
    assert sorted(d.reference for d in psp.events("settles")) == [
        "declined",
        "doubled",
        "dropped",
        "refund",
        "wrong",
        "yen",
    ]
    assert all(
        d.event["data"]["psp_transaction_id"] != silent.psp_transaction_id for d in deliveries
    )
    after = psp.admin("GET", "/admin/deliveries").body
    assert (after["dropped"] - before["dropped"], after["scheduled"] - before["scheduled"]) == (
        1,
        6,
    )
    listed = psp.admin("GET", "/admin/merchants/settles/faults").body["faults"]
    assert [fault["kind"] for fault in listed] == [
        "drop_webhook",
        "duplicate_line",
        "amount_mismatch",
        "drop_line",
    ]
    assert dropped.status == "approved"


def test_bad_faults_and_configs_are_refused_with_codes(psp: Psp) -> None:
    psp.merchant("faulty")
    faults = "/admin/merchants/faulty/faults"
    answers = [
        psp.admin("POST", faults, {"kind": "bogus", "reference": "r"}),
        psp.admin("POST", faults, {"kind": "drop_webhook", "psp_transaction_id": "psp_1"}),
        psp.admin("POST", faults, {"kind": "amount_mismatch", "reference": "r"}),
        psp.admin("POST", faults, {"kind": "drop_line", "psp_transaction_id": "psp_unknown"}),
        psp.admin("POST", "/admin/merchants/nobody/faults", {"kind": "drop_line"}),
        psp.admin("PUT", "/admin/merchants/faulty", {"webhook_url": None, "aproval_rate": 1}),
        psp.admin("PUT", "/admin/merchants/faulty", {"webhook_url": None}),
    ]

    assert [(answer.status, answer.body["code"]) for answer in answers] == [
        (422, "invalid_fault"),
        (422, "invalid_fault"),
        (422, "invalid_amount"),
        (404, "transaction_not_found"),
        (404, "merchant_not_found"),
        (422, "invalid_config"),
        (422, "invalid_config"),
    ]
    assert answers[5].body["detail"] == "aproval_rate: unknown field."
    assert psp.admin("GET", faults).body == {"faults": []}
    configured = psp.admin("GET", "/admin/merchants/faulty").body
    assert (configured["approval_rate"], configured["currencies"]) == (1.0, ["EUR", "JPY"])
    ids = [merchant["id"] for merchant in psp.admin("GET", "/admin/merchants").body["merchants"]]
    assert "faulty" in ids


def test_the_same_seed_replays_the_same_outcomes_after_a_reset(psp: Psp) -> None:
    def run() -> list[tuple[str, str | None]]:
        assert psp.admin("POST", "/admin/reset").body == {"status": "reset", "seed": 7}
        gateway = psp.merchant("chance", approval_rate=0.5)
        results = [charge(gateway, f"dep-{n}", card="5555555555554444") for n in range(12)]
        return [(result.status, result.decline_code) for result in results]

    first = run()
    second = run()

    assert first == second
    assert {status for status, _ in first} == {"approved", "declined"}
    assert {code for _, code in first} - {None} <= set(SIMULATOR_SOFT | SIMULATOR_HARD)
    psp.admin("POST", "/admin/reset")
    assert HttpPspGateway(psp.url, "chance").transaction_by_reference("dep-0") is None
