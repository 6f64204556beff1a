"""Daily reconciliation of each merchant account's settlement report against our ledger, both
ways; every difference becomes a break in finance's queue, and finance resolves a break with an
audited correcting journal."""

from __future__ import annotations

from collections import Counter, defaultdict
from datetime import date
from decimal import Decimal
from typing import TYPE_CHECKING, Any

from django.db import transaction

from audit.services import audit_record
from brokercrm.errors import Conflict, ValidationFailed
from brokercrm.gate import require
from brokercrm.money import money
from wallets.selectors import (
    journal_by_key,
    journal_by_reference_elsewhere,
    journal_clearing_amount,
)
from wallets.services import JournalSpec, Line, journal_post, system_account

from .. import audit_actions as actions
from ..models import (
    Deposit,
    DepositAttempt,
    MerchantAccount,
    ReconciliationBreak,
    ReconciliationRun,
    WithdrawalLeg,
)
from .routing import gateway_for

if TYPE_CHECKING:
    from wallets.models import JournalEntry

Kind = ReconciliationBreak.Kind


def reconciliation_run(*, merchant: MerchantAccount, day: date) -> ReconciliationRun:
    lines = gateway_for(merchant).settlement_report(day)
    entity_id = merchant.entity_id
    breaks: list[dict[str, Any]] = []
    settled_total: dict[str, Decimal] = defaultdict(Decimal)
    ledger_total: dict[str, Decimal] = defaultdict(Decimal)
    counts = Counter(line.psp_transaction_id for line in lines)
    seen: set[str] = set()
    matched = 0
    for line in lines:
        settled_total[line.currency] += line.amount
        if line.psp_transaction_id in seen:
            breaks.append(
                {
                    "kind": Kind.DUPLICATE,
                    "line": line,
                    "ledger": Decimal(0),
                    "detail": f"settled {counts[line.psp_transaction_id]} times",
                }
            )
            continue
        seen.add(line.psp_transaction_id)
        journal_reference = f"psp:{merchant.code}:{line.psp_transaction_id}"
        elsewhere = journal_by_reference_elsewhere(reference=journal_reference, entity_id=entity_id)
        if elsewhere is not None:
            breaks.append(
                {
                    "kind": Kind.WRONG_ENTITY,
                    "line": line,
                    "ledger": Decimal(0),
                    "detail": f"journal {elsewhere.pk} is under entity {elsewhere.entity_id}",
                }
            )
            continue
        journal, known = _our_journal(merchant, line.kind, line.reference, line.psp_transaction_id)
        if not known:
            breaks.append(
                {
                    "kind": Kind.UNKNOWN_TRANSACTION,
                    "line": line,
                    "ledger": Decimal(0),
                    "detail": "no attempt or payout of ours has this reference",
                }
            )
            continue
        if journal is None:
            breaks.append(
                {
                    "kind": Kind.MISSING_CALLBACK,
                    "line": line,
                    "ledger": Decimal(0),
                    "detail": "settled by the PSP, never credited or posted here",
                }
            )
            continue
        ledger = journal_clearing_amount(journal, line.currency)
        if ledger is None:
            breaks.append(
                {
                    "kind": Kind.CURRENCY_MISMATCH,
                    "line": line,
                    "ledger": Decimal(0),
                    "detail": f"journal {journal.pk} has no {line.currency} posting",
                }
            )
            continue
        ledger_total[line.currency] += ledger
        if ledger != line.amount:
            breaks.append(
                {
                    "kind": Kind.AMOUNT_MISMATCH,
                    "line": line,
                    "ledger": ledger,
                    "detail": f"settled {line.amount}, ledger {ledger}",
                }
            )
            continue
        matched += 1
    # The other way: what our ledger holds for this merchant and day that the PSP did not settle.
    for kind, reference, psp_id, currency, amount in _our_records(merchant, day):
        if psp_id in seen:
            continue
        ledger_total[currency] += amount
        breaks.append(
            {
                "kind": Kind.MISSING_SETTLEMENT,
                "line": None,
                "ledger": amount,
                "currency": currency,
                "reference": reference,
                "psp_id": psp_id,
                "detail": f"{kind} on our ledger, absent from the settlement",
            }
        )
    explained: dict[str, Decimal] = defaultdict(Decimal)
    for item in breaks:
        line = item["line"]
        currency = line.currency if line else item["currency"]
        explained[currency] += (line.amount if line else Decimal(0)) - item["ledger"]
    currencies = set(settled_total) | set(ledger_total)
    unexplained = {
        c: str(settled_total[c] - ledger_total[c] - explained[c]) for c in sorted(currencies)
    }
    with transaction.atomic(durable=True):
        run, _ = ReconciliationRun.objects.unscoped().update_or_create(
            merchant_account=merchant,
            day=day,
            defaults={
                "entity_id": entity_id,
                "lines": len(lines),
                "matched": matched,
                "breaks": len(breaks),
                "unexplained": unexplained,
            },
        )
        for item in breaks:
            line = item["line"]
            ReconciliationBreak.objects.unscoped().get_or_create(
                run=run,
                kind=item["kind"],
                psp_transaction_id=line.psp_transaction_id if line else item["psp_id"],
                reference=line.reference if line else item["reference"],
                defaults={
                    "entity_id": entity_id,
                    "currency": line.currency if line else item["currency"],
                    "settled_amount": line.amount if line else None,
                    "ledger_amount": item["ledger"],
                    "detail": item["detail"],
                },
            )
        audit_record(
            actor=None,
            actor_label="system:reconciliation",
            action=actions.RECONCILIATION_RUN,
            entity=entity_id,
            obj=run,
            after={
                "lines": len(lines),
                "matched": matched,
                "breaks": len(breaks),
                "unexplained": unexplained,
            },
        )
    return run


def _our_journal(
    merchant: MerchantAccount, kind: str, reference: str, psp_id: str
) -> tuple[JournalEntry | None, bool]:
    """(the journal that booked it, whether the transaction is ours at all)."""
    if kind == "payment":
        attempt = (
            DepositAttempt.objects.in_entity(merchant.entity_id)
            .filter(merchant_account=merchant, reference=reference)
            .select_related("deposit__journal")
            .first()
        )
        if attempt is None:
            return None, False
        deposit = attempt.deposit
        return (deposit.journal if deposit.journal_id else None), True
    leg = (
        WithdrawalLeg.objects.in_entity(merchant.entity_id)
        .filter(merchant_account=merchant, reference=reference)
        .select_related("hold__journal")
        .first()
    )
    if leg is None:
        return None, False
    if leg.status != WithdrawalLeg.Status.PAID:
        return None, True
    if leg.converted:
        fx = journal_by_key(
            entity_id=merchant.entity_id,
            idempotency_key=f"withdrawal:{leg.withdrawal_id}:{leg.number}:fx",
        )
        return fx, True
    return leg.hold.journal, True


def _our_records(merchant: MerchantAccount, day: date) -> list[tuple[str, str, str, str, Decimal]]:
    records = []
    deposits = Deposit.objects.in_entity(merchant.entity_id).filter(
        journal__created_at__date=day, journal__isnull=False
    )
    for attempt in (
        DepositAttempt.objects.in_entity(merchant.entity_id)
        .filter(
            merchant_account=merchant, status=DepositAttempt.Status.APPROVED, deposit__in=deposits
        )
        .select_related("deposit")
    ):
        records.append(
            (
                "deposit",
                attempt.reference,
                attempt.psp_transaction_id,
                attempt.deposit.currency,
                attempt.deposit.amount,
            )
        )
    for leg in (
        WithdrawalLeg.objects.in_entity(merchant.entity_id)
        .filter(
            merchant_account=merchant, status=WithdrawalLeg.Status.PAID, hold__resolved_at__date=day
        )
        .select_related("withdrawal")
    ):
        amount, currency = leg.payout
        records.append(("payout", leg.reference, leg.psp_transaction_id, currency, amount))
    return records


def reconciliation_all(*, day: date) -> list[ReconciliationRun]:
    return [
        reconciliation_run(merchant=merchant, day=day)
        for merchant in MerchantAccount.objects.unscoped()
        .filter(active=True)
        .select_related("provider")
    ]


def reconciliation_break_resolve(
    *, actor: Any, item: ReconciliationBreak, note: str, adjustment: Any = None
) -> ReconciliationBreak:
    """Close a break, with a correcting journal between PSP clearing and suspense when money
    must be moved (positive: the PSP holds more than our ledger says)."""
    require(actor, "payments.resolve_reconciliationbreak", item)
    if not note.strip():
        raise ValidationFailed("Say how the break was resolved.", code="reason_required")
    with transaction.atomic(durable=True):
        item = (
            ReconciliationBreak.objects.in_entity(item.entity_id)
            .select_for_update()
            .get(pk=item.pk)
        )
        if item.status != ReconciliationBreak.Status.OPEN:
            raise Conflict("The break is already resolved.", code="break_resolved")
        if adjustment is not None:
            try:
                amount = Decimal(str(adjustment))
            except ArithmeticError:
                raise ValidationFailed(
                    "The adjustment is not a number.", code="amount_invalid"
                ) from None
            size = money(abs(amount))
            sign = 1 if amount > 0 else -1
            item.resolution_journal = journal_post(
                actor=actor,
                entity=item.entity_id,
                spec=JournalSpec(
                    type="adjustment",
                    idempotency_key=f"recon-break:{item.pk}",
                    lines=[
                        Line(
                            system_account(
                                entity=item.entity_id, kind="psp_clearing", currency=item.currency
                            ),
                            -sign * size,
                        ),
                        Line(
                            system_account(
                                entity=item.entity_id, kind="suspense", currency=item.currency
                            ),
                            sign * size,
                        ),
                    ],
                    reference=f"recon-break:{item.pk}",
                    metadata={"note": note[:200], "kind": item.kind},
                ),
            )
        item.status = ReconciliationBreak.Status.RESOLVED
        item.resolved_by = actor
        item.resolution_note = note
        item.save()
        audit_record(
            actor=actor,
            action=actions.BREAK_RESOLVED,
            entity=item.entity_id,
            obj=item,
            after={
                "note": note,
                "adjustment": str(adjustment or ""),
                "journal": item.resolution_journal_id,
            },
        )
    return item
