"""Reads of the IB app that leave it: ancestors at a time, statements."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from typing import Any

from django.db.models import Q

from ib.models import CommissionLine, IbClosure, IbPartner
from wallets.selectors import wallet_credits_total


def ib_ancestors_at(*, ib: IbPartner, at: dt.datetime) -> list[IbPartner]:
    """The IB itself, its parent, grandparent… at time `at`: one indexed closure query."""
    rows = (
        IbClosure.objects.unscoped()
        .filter(ib=ib, valid_from__lte=at)
        .filter(Q(valid_to__isnull=True) | Q(valid_to__gt=at))
        .select_related("ancestor")
        .order_by("depth")
    )
    return [row.ancestor for row in rows]


def ib_partner_of_profile(*, profile_id: int) -> IbPartner | None:
    """The IB partner a client profile is, if any (one per profile)."""
    return IbPartner.objects.unscoped().filter(profile_id=profile_id).first()


def ib_partner_of_client(*, entity_id: int, profile_id: int) -> IbPartner | None:
    """The IB partner the client is in their entity, or None (the portal's IB pages)."""
    return IbPartner.objects.in_entity(entity_id).filter(profile_id=profile_id).first()


def ib_statement(*, ib: IbPartner, date_from: dt.datetime, date_to: dt.datetime) -> dict[str, Any]:
    """Every line of the IB's deals in [date_from, date_to): deal, lots, plan version, tier,
    amount; totals, and what the ledger paid into the IB's wallet for those lines."""
    lines = (
        CommissionLine.objects.unscoped()
        .filter(ib=ib, deal_time__gte=date_from, deal_time__lt=date_to)
        .select_related("deal", "plan_version", "rate")
        .order_by("deal_time", "pk")
    )
    rows = [
        {
            "deal_ticket": line.deal.ticket,
            "login": line.deal.login,
            "symbol": line.deal.symbol,
            "deal_time": line.deal_time,
            "lots": line.lots,
            "plan_version": line.plan_version.number,
            "rate": str(line.rate) if line.rate_id else "",
            "tier": line.tier,
            "kind": line.kind,
            "status": line.status,
            "amount": line.amount,
            "paid_amount": line.paid_amount,
            "currency": line.currency,
        }
        for line in lines
    ]
    journal_ids = {line.payout_journal_id for line in lines if line.payout_journal_id}
    # Only journals whose every line lies in the period count whole: otherwise the ledger
    # figure would include another period's lines.
    outside = set(
        CommissionLine.objects.unscoped()
        .filter(ib=ib, payout_journal_id__in=journal_ids)
        .exclude(deal_time__gte=date_from, deal_time__lt=date_to)
        .values_list("payout_journal_id", flat=True)
    )
    ledger = wallet_credits_total(journal_ids=journal_ids - outside, profile_id=ib.profile_id)
    paid_in_whole = sum(
        (
            line.paid_amount
            for line in lines
            if line.payout_journal_id and line.payout_journal_id not in outside
        ),
        Decimal(0),
    )
    return {
        "ib": ib.pk,
        "date_from": date_from,
        "date_to": date_to,
        "lines": rows,
        "totals": {
            "amount": sum((row["amount"] for row in rows), Decimal(0)),
            "paid": sum((row["paid_amount"] or Decimal(0) for row in rows), Decimal(0)),
            "paid_in_whole_payouts": paid_in_whole,
            "ledger": ledger,
        },
    }


STATEMENT_COLUMNS = [
    "deal_ticket",
    "login",
    "symbol",
    "deal_time",
    "lots",
    "plan_version",
    "rate",
    "tier",
    "kind",
    "status",
    "amount",
    "paid_amount",
    "currency",
]


def ib_statement_csv(statement: dict[str, Any]) -> str:
    """The statement as CSV: one row per line, then the totals."""
    import csv
    import io

    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow(STATEMENT_COLUMNS)
    for row in statement["lines"]:
        writer.writerow(
            [
                row[column].isoformat() if column == "deal_time" else row[column]
                for column in STATEMENT_COLUMNS
            ]
        )
    for name, value in statement["totals"].items():
        writer.writerow([f"total_{name}", *[""] * (len(STATEMENT_COLUMNS) - 2), value])
    return out.getvalue()
