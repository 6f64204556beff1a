"""The daily settlement report and the faults a reconciliation test can inject into it.

One line per successful transaction created that UTC day, in creation order:
amount is the transaction amount (always positive, `kind` says the direction), fee is
`amount * fee_bps / 10 000` rounded half-even to the currency's minor unit, and net is the
effect on the merchant account's balance: `amount - fee` for a payment, `-(amount + fee)` for a
payout.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Iterable
from dataclasses import dataclass
from decimal import ROUND_HALF_EVEN, Decimal
from typing import Any

from brokercrm.money import minor_unit
from brokercrm.simulators import HttpError

from .transactions import Transaction, format_amount, iso_utc, parse_amount

COLUMNS = (
    "psp_transaction_id",
    "reference",
    "kind",
    "amount",
    "currency",
    "fee",
    "net",
    "created_at",
)
FAULT_KINDS = ("duplicate_line", "amount_mismatch", "drop_webhook", "drop_line")


@dataclass(frozen=True)
class Fault:
    id: str
    kind: str
    psp_transaction_id: str | None
    reference: str | None
    amount: Decimal | None  # the amount to report, for amount_mismatch

    def matches(self, transaction: Transaction) -> bool:
        if self.psp_transaction_id is not None:
            return self.psp_transaction_id == transaction.psp_transaction_id
        return self.reference == transaction.reference

    def as_dict(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "kind": self.kind,
            "psp_transaction_id": self.psp_transaction_id,
            "reference": self.reference,
            "amount": None if self.amount is None else format(self.amount, "f"),
        }


def parse_fault(data: Any, *, fault_id: str) -> Fault:
    if not isinstance(data, dict):
        raise HttpError(422, "invalid_fault", "The body must be a JSON object.")
    kind = data.get("kind")
    if kind not in FAULT_KINDS:
        raise HttpError(422, "invalid_fault", f"kind must be one of {', '.join(FAULT_KINDS)}.")
    psp_transaction_id = data.get("psp_transaction_id")
    reference = data.get("reference")
    if (psp_transaction_id is None) == (reference is None):
        raise HttpError(
            422, "invalid_fault", "Name the transaction by psp_transaction_id or reference."
        )
    for value in (psp_transaction_id, reference):
        if value is not None and (not isinstance(value, str) or not value):
            raise HttpError(422, "invalid_fault", "Transaction names must be strings.")
    if kind == "drop_webhook" and psp_transaction_id is not None:
        # Events are handed to the dispatcher when the transaction is created, before its PSP
        # id can be known to a test, so only a reference set in advance can stop them.
        raise HttpError(
            422, "invalid_fault", "drop_webhook is set before the charge, by reference."
        )
    amount = None
    if kind == "amount_mismatch":
        amount = parse_amount(data.get("amount"))
    elif "amount" in data:
        raise HttpError(422, "invalid_fault", "Only amount_mismatch takes an amount.")
    return Fault(fault_id, kind, psp_transaction_id, reference, amount)


def fee_for(amount: Decimal, currency: str, fee_bps: int) -> Decimal:
    return (amount * fee_bps / 10_000).quantize(minor_unit(currency), ROUND_HALF_EVEN)


def settlement_rows(
    transactions: Iterable[Transaction], *, fee_bps: int, faults: list[Fault]
) -> list[dict[str, str]]:
    rows: list[dict[str, str]] = []
    for transaction in transactions:
        mine = [fault for fault in faults if fault.matches(transaction)]
        kinds = {fault.kind for fault in mine}
        if "drop_line" in kinds:
            continue
        amount = transaction.amount
        for fault in mine:
            if fault.kind == "amount_mismatch" and fault.amount is not None:
                amount = fault.amount.quantize(minor_unit(transaction.currency), ROUND_HALF_EVEN)
        # The fee follows the reported amount, so a wrong line is still self-consistent and
        # only a comparison with our own records can catch it.
        fee = fee_for(amount, transaction.currency, fee_bps)
        net = amount - fee if transaction.kind == "payment" else -(amount + fee)
        row = {
            "psp_transaction_id": transaction.psp_transaction_id,
            "reference": transaction.reference,
            "kind": transaction.kind,
            "amount": format_amount(amount, transaction.currency),
            "currency": transaction.currency,
            "fee": format_amount(fee, transaction.currency),
            "net": format_amount(net, transaction.currency),
            "created_at": iso_utc(transaction.created),
        }
        rows.append(row)
        if "duplicate_line" in kinds:
            rows.append(dict(row))
    return rows


def render_csv(rows: list[dict[str, str]]) -> str:
    buffer = io.StringIO()
    writer = csv.DictWriter(buffer, fieldnames=COLUMNS, lineterminator="\n")
    writer.writeheader()
    writer.writerows(rows)
    return buffer.getvalue()
