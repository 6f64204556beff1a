"""The commission batch: deals → lines (set-based, idempotent) → payouts through the ledger.

Lines are one per deal x IB x tier x kind, guarded by a unique constraint, so a rerun, a
concurrent run or a re-imported deal (same server + ticket, same row) creates nothing twice.
Payouts are serialised per entity by an advisory lock; only `computed` lines are claimed,
and they become `paid` in the transaction that posts the journals."""

from __future__ import annotations

from decimal import ROUND_HALF_EVEN, Decimal
from typing import Any

from django.db import connection, transaction
from django.utils import timezone

from audit.services import audit_record
from brokercrm.errors import ValidationFailed
from brokercrm.reference import CURRENCY_MINOR_UNITS
from ib.models import CommissionLine, CommissionRun, IbPartner, RebatePlanVersion
from ib.services.partners import _rates_create, _require, _split_checked
from wallets.models import JournalEntry, LedgerAccount
from wallets.services import JournalSpec, Line, journal_post_batch, system_account, wallet_open

_OPENING_LEG = """
    LEFT JOIN LATERAL (
        SELECT o.time FROM platforms_deal o
        WHERE o.server_id = d.server_id AND o.position = d.position AND o.entry = 'in'
          AND d.position IS NOT NULL AND o.time <= d.time
        ORDER BY o.time LIMIT 1
    ) op ON true
"""

# One statement from deals to lines. Rates: the most specific matching rate of the version
# valid at the deal's time; tiers: the closure rows valid at the deal's time, up to the
# entity's depth and the plan's split; closing deals held less than the minimum earn nothing.
_LINES_SQL = (
    """
INSERT INTO ib_commissionline (
    entity_id, deal_id, ib_id, tier, kind, deal_time, lots, amount, currency,
    plan_version_id, status, run_id)
SELECT d.entity_id, d.id, c.ancestor_id, c.depth, %(kind)s, d.time, d.volume,
       round(LEAST(rate.amount_per_lot * d.volume,
                   COALESCE(v.per_trade_ceiling, rate.amount_per_lot * d.volume))
             * v.tier_split[c.depth + 1] / 100, 8),
       p.currency, v.id,
       CASE WHEN op.time IS NULL THEN 'delayed' ELSE 'computed' END,
       %(run)s
FROM platforms_deal d
JOIN platforms_tradingaccount ta ON ta.id = d.account_id
JOIN ib_ibassignment a ON a.profile_id = ta.profile_id AND a.entity_id = d.entity_id
     AND a.valid_from <= d.time AND (a.valid_to IS NULL OR a.valid_to > d.time)
JOIN ib_ibpartner direct ON direct.id = a.ib_id
JOIN ib_rebateplan p ON p.id = direct.plan_id
JOIN ib_rebateplanversion v ON v.plan_id = p.id
     AND v.valid_from <= d.time AND (v.valid_to IS NULL OR v.valid_to > d.time)
     AND NOT EXISTS (SELECT 1 FROM ib_rebateplanversion cv WHERE cv.corrects_id = v.id)
LEFT JOIN ib_ibprogramme prog ON prog.entity_id = d.entity_id
JOIN LATERAL (
    SELECT r.amount_per_lot FROM ib_rebaterate r
    WHERE r.version_id = v.id
      AND (cardinality(r.symbols) = 0 OR d.symbol = ANY(r.symbols))
      AND (r.account_group = '' OR r.account_group = ta."group")
      AND (r.server_id IS NULL OR r.server_id = d.server_id)
    ORDER BY (r.server_id IS NOT NULL)::int + (r.account_group <> '')::int
             + (cardinality(r.symbols) > 0)::int DESC, r.id
    LIMIT 1
) rate ON true
"""
    + _OPENING_LEG
    + """
JOIN ib_ibclosure c ON c.ib_id = direct.id
     AND c.valid_from <= d.time AND (c.valid_to IS NULL OR c.valid_to > d.time)
     AND c.depth < LEAST(cardinality(v.tier_split), COALESCE(prog.max_depth, 3))
WHERE d.id > %(deal_from)s AND d.id <= %(deal_to)s
  AND d.entry = 'out' AND d.kind IN ('buy', 'sell')
  AND v.tier_split[c.depth + 1] > 0
  AND (op.time IS NULL OR d.time - op.time >= make_interval(secs => v.min_holding_seconds))
  AND {only}
ON CONFLICT (deal_id, ib_id, tier, kind) DO NOTHING
"""
)

# A delayed line whose opening leg has arrived: payable, or void if held too briefly.
_DELAYED_SQL = (
    """
UPDATE ib_commissionline l
SET status = CASE WHEN l.deal_time - op.time >= make_interval(secs => v.min_holding_seconds)
                  THEN 'computed' ELSE 'void' END
FROM platforms_deal d
JOIN ib_rebateplanversion v ON true
"""
    + _OPENING_LEG
    + """
WHERE l.status = 'delayed' AND d.id = l.deal_id AND v.id = l.plan_version_id
  AND op.time IS NOT NULL
"""
)


# Writers of lines hold this lock shared; a payout holds it exclusively, so every line its
# statements see was committed before it started and none appears between its sum and its
# update (READ COMMITTED takes a new snapshot per statement).
_LINES_LOCK = 0x1C0


def _lines_lock(cursor: Any, *, exclusive: bool) -> None:
    function = "pg_advisory_xact_lock" if exclusive else "pg_advisory_xact_lock_shared"
    cursor.execute(f"SELECT {function}(%s)", [_LINES_LOCK])


def _lines_insert(
    *,
    run: CommissionRun,
    kind: str,
    deal_from: int,
    deal_to: int,
    only: str = "true",
    params: dict[str, Any] | None = None,
) -> int:
    with connection.cursor() as cursor:
        cursor.execute(
            _LINES_SQL.format(only=only),
            {
                "kind": kind,
                "run": run.pk,
                "deal_from": deal_from,
                "deal_to": deal_to,
                **(params or {}),
            },
        )
        return cursor.rowcount


def commission_lines_compute(*, run: CommissionRun, full: bool = False) -> int:
    """Lines for deals imported since the last run (all deals if `full`). Returns new lines."""
    with transaction.atomic():
        with connection.cursor() as cursor:
            _lines_lock(cursor, exclusive=False)
            cursor.execute(
                "SELECT COALESCE(MAX(deal_id_to), 0) FROM ib_commissionrun"
                " WHERE finished_at IS NOT NULL"
            )
            deal_from = 0 if full else cursor.fetchone()[0]
            cursor.execute("SELECT COALESCE(MAX(id), 0) FROM platforms_deal")
            deal_to = cursor.fetchone()[0]
        created = _lines_insert(
            run=run, kind=CommissionLine.Kind.COMMISSION, deal_from=deal_from, deal_to=deal_to
        )
        with connection.cursor() as cursor:
            cursor.execute(_DELAYED_SQL)
        run.deal_id_from, run.deal_id_to = deal_from, deal_to
        run.lines_created = created
        run.save(update_fields=["deal_id_from", "deal_id_to", "lines_created"])
    return created


_PAID_SQL = """
UPDATE ib_commissionline l
SET status = 'paid', paid_amount = w.paid, payout_journal_id = j.journal_id,
    payout_run_id = %(run)s
FROM (
    SELECT id, ib_id,
        ib_round_half_even(SUM(amount) OVER run_total, %(minor)s)
        - ib_round_half_even(COALESCE(SUM(amount) OVER run_before, 0), %(minor)s) AS paid
    FROM ib_commissionline
    WHERE entity_id = %(entity)s AND currency = %(currency)s AND status = 'computed'
      AND ib_id = ANY(%(ibs)s::bigint[])
    WINDOW run_total AS (PARTITION BY ib_id ORDER BY id),
           run_before AS (PARTITION BY ib_id ORDER BY id
                          ROWS BETWEEN UNBOUNDED PRECEDING AND 1 PRECEDING)
) w
JOIN unnest(%(ibs)s::bigint[], %(journals)s::bigint[]) AS j(ib_id, journal_id)
     ON j.ib_id = w.ib_id
WHERE l.id = w.id
"""


def _minor(currency: str) -> Decimal:
    return Decimal(1).scaleb(-CURRENCY_MINOR_UNITS[currency])


def commission_payout(*, run: CommissionRun, entity_id: int) -> tuple[int, Decimal]:
    """Pay every computed line of the entity: one journal per IB and currency, all in one
    ledger batch, lines marked paid in the same transaction.

    Each line's paid amount is the difference of the rounded running totals (half-even), so
    the lines of a payout add up exactly to the rounded payout."""
    with transaction.atomic():
        with connection.cursor() as cursor:
            _lines_lock(cursor, exclusive=True)
            cursor.execute(
                "SELECT ib_id, currency, SUM(amount) FROM ib_commissionline"
                " WHERE entity_id = %s AND status = 'computed'"
                " GROUP BY ib_id, currency ORDER BY currency, ib_id",
                [entity_id],
            )
            sums = cursor.fetchall()
        payable: dict[str, list[tuple[int, Decimal]]] = {}
        for ib_id, currency, raw in sums:
            total = raw.quantize(_minor(currency), rounding=ROUND_HALF_EVEN)
            if total > 0:  # a negative net (a correction) waits for future earnings
                payable.setdefault(currency, []).append((ib_id, total))
        partners = (
            IbPartner.objects.unscoped()
            .select_related("profile", "profile__entity")
            .in_bulk([ib_id for rows in payable.values() for ib_id, _ in rows])
        )
        specs: list[JournalSpec] = []
        for currency, rows in payable.items():
            payable_account = system_account(
                entity=entity_id, kind=LedgerAccount.Kind.IB_PAYABLE, currency=currency
            )
            revenue = system_account(
                entity=entity_id, kind=LedgerAccount.Kind.FEE_REVENUE, currency=currency
            )
            grand = sum((total for _, total in rows), Decimal(0))
            specs.append(
                JournalSpec(
                    type=JournalEntry.Type.COMMISSION,
                    idempotency_key=f"ib-accrual:{run.pk}:{currency}",
                    lines=[Line(revenue, -grand), Line(payable_account, grand)],
                    reference=f"IB commissions run {run.pk}",
                )
            )
            for ib_id, total in rows:
                wallet = wallet_open(profile=partners[ib_id].profile, currency=currency)
                specs.append(
                    JournalSpec(
                        type=JournalEntry.Type.COMMISSION,
                        idempotency_key=f"ib-payout:{run.pk}:{ib_id}:{currency}",
                        lines=[Line(payable_account, -total), Line(wallet, total)],
                        reference=f"IB {ib_id} commissions run {run.pk}",
                        metadata={"ib": ib_id, "run": run.pk},
                    )
                )
        journals = journal_post_batch(actor=None, entity=entity_id, specs=specs) if specs else []
        by_key = {journal.idempotency_key: journal.pk for journal in journals}
        count, paid = 0, Decimal(0)
        with connection.cursor() as cursor:
            for currency, rows in payable.items():
                ibs = [ib_id for ib_id, _ in rows]
                cursor.execute(
                    _PAID_SQL,
                    {
                        "minor": CURRENCY_MINOR_UNITS[currency],
                        "run": run.pk,
                        "entity": entity_id,
                        "currency": currency,
                        "ibs": ibs,
                        "journals": [by_key[f"ib-payout:{run.pk}:{i}:{currency}"] for i in ibs],
                    },
                )
                count += len(rows)
                paid += sum((total for _, total in rows), Decimal(0))
    return count, paid


def commission_batch_run(*, full: bool = False) -> CommissionRun:
    """Compute new lines, then pay every entity. Safe to rerun and to run concurrently."""
    run = CommissionRun.objects.create()
    commission_lines_compute(run=run, full=full)
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT DISTINCT entity_id FROM ib_commissionline"
            " WHERE status = 'computed' ORDER BY entity_id"
        )
        entity_ids = [row[0] for row in cursor.fetchall()]
    for entity_id in entity_ids:
        count, paid = commission_payout(run=run, entity_id=entity_id)
        run.payouts += count
        run.payout_total += paid
    run.finished_at = timezone.now()
    run.save(update_fields=["payouts", "payout_total", "finished_at"])
    return run


def rebate_plan_correct(
    *,
    actor: Any,
    version: RebatePlanVersion,
    rates: list[dict[str, Any]],
    tier_split: list[Any],
    per_trade_ceiling: Any = None,
    min_holding_seconds: int = 0,
    reason: str,
) -> RebatePlanVersion:
    """Correct a version for its whole period: every commission it produced is reversed and
    recomputed under the correction as adjustment lines; the next payout settles the net.
    Nothing is paid a second time: paid lines stay paid, only the difference moves."""
    _require(actor, "ib.change_rebateplan", version.entity_id)
    split = _split_checked(tier_split)
    if not reason:
        raise ValidationFailed("Give a reason.", code="reason_required")
    if version.corrects_id is not None or hasattr(version, "corrected_by"):
        raise ValidationFailed(
            "This version was already corrected or is a correction.", code="version_corrected"
        )
    with transaction.atomic():
        number = (
            RebatePlanVersion.objects.unscoped()
            .filter(plan_id=version.plan_id)
            .order_by("-number")
            .values_list("number", flat=True)
            .first()
        )
        correction = RebatePlanVersion.objects.unscoped().create(
            entity_id=version.entity_id,
            plan_id=version.plan_id,
            number=number + 1,
            valid_from=version.valid_from,
            valid_to=version.valid_to,
            tier_split=split,
            per_trade_ceiling=per_trade_ceiling,
            min_holding_seconds=min_holding_seconds,
            corrects=version,
        )
        _rates_create(correction, rates)
        run = CommissionRun.objects.create()
        with connection.cursor() as cursor:
            _lines_lock(cursor, exclusive=False)
            cursor.execute(
                """
                INSERT INTO ib_commissionline (
                    entity_id, deal_id, ib_id, tier, kind, deal_time, lots, amount, currency,
                    plan_version_id, status, run_id)
                SELECT entity_id, deal_id, ib_id, tier, 'reversal', deal_time, lots, -amount,
                       currency, plan_version_id,
                       CASE WHEN status = 'delayed' THEN 'delayed' ELSE 'computed' END, %s
                FROM ib_commissionline
                WHERE plan_version_id = %s AND kind = 'commission' AND status <> 'void'
                ON CONFLICT (deal_id, ib_id, tier, kind) DO NOTHING
                """,
                [run.pk, version.pk],
            )
        _lines_insert(
            run=run,
            kind=CommissionLine.Kind.ADJUSTMENT,
            deal_from=0,
            deal_to=2**62,
            only="d.id IN (SELECT deal_id FROM ib_commissionline"
            " WHERE plan_version_id = %(old)s AND kind = 'commission' AND status <> 'void')",
            params={"old": version.pk},
        )
        run.finished_at = timezone.now()
        run.save(update_fields=["finished_at"])
        audit_record(
            actor=actor,
            action="ib.plan_correct",
            entity=version.entity_id,
            obj=correction,
            before={"version": version.pk},
            reason=reason,
        )
    return correction
