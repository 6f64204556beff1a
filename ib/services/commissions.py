"""The commission batch: deals → lines (set-based, idempotent) → payouts through the ledger.

A run is one transaction under an exclusive advisory lock, so runs (and corrections) follow
each other. New lines are staged in a temporary table, summed per IB, paid through one
ledger batch and written once, already paid: no line is written twice, and no foreign key
or status update is checked or rewritten row by row (ADR 0010). The unique constraints on
lines still have the last word: a rerun, a concurrent run or a re-imported deal (same
server + ticket, same row) cannot create a second commission."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from decimal import Decimal
from typing import Any

from django.db import IntegrityError, connection, transaction
from django.utils import timezone

from brokercrm.errors import Conflict
from brokercrm.money import round_minor
from brokercrm.reference import CURRENCY_MINOR_UNITS
from ib.models import CommissionLine, CommissionRun, IbPartner
from ib.services.partners import EPOCH
from platforms.selectors import deals_committed_through
from wallets.choices import AccountKind, JournalType
from wallets.services import JournalSpec, Line, journal_post_batch, system_account, wallet_open

# The closing deal's opening leg (the first `in` deal of its position).
_OPENING_LEG = """
    LEFT JOIN LATERAL (
        SELECT o.time, o.commission FROM platforms_deal_feed o
        WHERE o.server_id = d.server_id AND o.position = d.position AND o.entry = 'in'
          AND d.position IS NOT NULL AND o.time <= d.time
        ORDER BY o.time LIMIT 1
    ) op ON true
"""

# What the deal earns before the tier split, in the plan's currency (NULL while an FX rate
# for a commission share is missing). Aliases: d deal, op opening leg, ta account, p plan,
# rate the matched rate.
_BASE = """
    CASE rate.basis
        WHEN 'per_lot' THEN rate.amount_per_lot * d.volume
        WHEN 'spread_share' THEN rate.spread_per_lot * d.volume * rate.share_percent / 100
        ELSE abs(d.commission + COALESCE(op.commission, 0)) * rate.share_percent / 100
             * CASE WHEN ta.currency = p.currency THEN 1 ELSE (
                   SELECT f.rate FROM wallets_fxrate_feed f
                   WHERE f.base = ta.currency AND f.quote = p.currency AND f.as_of <= d.time
                   ORDER BY f.as_of DESC LIMIT 1) END
    END
"""


_BASE_JOIN = f"CROSS JOIN LATERAL (SELECT {_BASE} AS base) b"


def _amount(tier: str) -> str:
    """A tier's share of the base (joined as `b`), the version's per-trade ceiling applied
    first; NULL while the base is."""
    return (
        f"round(LEAST(b.base, COALESCE(v.per_trade_ceiling, b.base))"
        f" * v.tier_split[{tier} + 1] / 100, 8)"
    )


# Deals → lines. Rates: the most specific matching rate of the version valid at the deal's
# time; tiers: the closure rows valid at the deal's time, up to the entity's depth and the
# plan's split; closing deals held less than the minimum earn nothing; a deal whose opening
# leg (or FX rate) is missing gets a `delayed` line.
_LINES_SELECT = (
    """
SELECT d.entity_id, d.id AS deal_id, c.ancestor_id AS ib_id, c.depth AS tier,
       %(kind)s::varchar AS kind, d.time AS deal_time, d.volume AS lots,
       COALESCE(amount, 0) AS amount, p.currency, v.id AS plan_version_id, rate.id AS rate_id,
       CASE WHEN op.time IS NULL OR amount IS NULL THEN 'delayed' ELSE 'computed' END::varchar
           AS status
FROM platforms_deal_feed d
JOIN platforms_account_feed ta ON ta.id = d.account_id
JOIN ib_ibassignment a ON a.profile_id = ta.profile_id AND a.entity_id = d.entity_id
     AND a.valid_from <= d.time AND (a.valid_to IS NULL OR a.valid_to > d.time)
JOIN ib_ibplanperiod pp ON pp.ib_id = a.ib_id
     AND pp.valid_from <= d.time AND (pp.valid_to IS NULL OR pp.valid_to > d.time)
JOIN ib_rebateplan p ON p.id = pp.plan_id
JOIN ib_rebateplanversion v ON v.plan_id = p.id
     AND v.valid_from <= d.time AND (v.valid_to IS NULL OR v.valid_to > d.time)
     AND NOT EXISTS (SELECT 1 FROM ib_rebateplanversion cv WHERE cv.corrects_id = v.id)
LEFT JOIN ib_ibprogramme prog ON prog.entity_id = d.entity_id
     AND prog.valid_from <= d.time AND (prog.valid_to IS NULL OR prog.valid_to > d.time)
JOIN LATERAL (
    SELECT r.id, r.basis, r.amount_per_lot, r.spread_per_lot, r.share_percent
    FROM ib_rebaterate r
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
JOIN ib_ibclosure c ON c.ib_id = a.ib_id
     AND c.valid_from <= d.time AND (c.valid_to IS NULL OR c.valid_to > d.time)
     AND c.depth < LEAST(cardinality(v.tier_split), COALESCE(prog.max_depth, 3))
"""
    + _BASE_JOIN
    + """
CROSS JOIN LATERAL (SELECT """
    + _amount("c.depth")
    + """ AS amount) computed
WHERE {deals}
  AND d.entry = 'out' AND d.kind IN ('buy', 'sell')
  AND v.tier_split[c.depth + 1] > 0
  AND (op.time IS NULL OR d.time - op.time >= make_interval(secs => v.min_holding_seconds))
"""
)

_LINE_COLUMNS = (
    "entity_id, deal_id, ib_id, tier, kind, deal_time, lots, amount, currency,"
    " plan_version_id, rate_id, status"
)

# New commissions of deals in (deal_from, deal_to] that have none yet, staged for payout.
_STAGE_SQL = "CREATE TEMPORARY TABLE ib_stage ON COMMIT DROP AS " + _LINES_SELECT.format(
    deals="d.id <= %(deal_to)s AND (d.id > %(deal_from)s"
    " OR (d.account_linked_at > %(linked_from)s AND d.account_linked_at <= %(linked_to)s))"
    # One commission per deal and tier, whoever holds the tier now (the unique index).
    " AND NOT EXISTS (SELECT 1 FROM ib_commissionline l WHERE l.deal_id = d.id"
    " AND l.tier = c.depth AND l.kind = 'commission')"
)

# Delayed lines whose opening leg (and FX rate) is there now: recomputed with the rate and
# version they were made under (a reversal as the negative), payable — or void when the
# trade turns out to have been held too briefly.
_RELEASE_SQL = f"""
UPDATE ib_commissionline l
SET amount = CASE WHEN l.kind = 'reversal' THEN -1 ELSE 1 END * {_amount("l.tier")},
    status = CASE WHEN l.deal_time - op.time >= make_interval(secs => v.min_holding_seconds)
                  THEN 'computed' ELSE 'void' END
FROM platforms_deal_feed d
JOIN platforms_account_feed ta ON ta.id = d.account_id
JOIN ib_rebateplanversion v ON true
JOIN ib_rebateplan p ON p.id = v.plan_id
JOIN ib_rebaterate rate ON true
{_OPENING_LEG}
{_BASE_JOIN}
WHERE l.status = 'delayed' AND d.id = l.deal_id AND v.id = l.plan_version_id
  AND rate.id = l.rate_id AND op.time IS NOT NULL AND b.base IS NOT NULL
"""

# Stage → lines, written once: a line of a paid IB is paid (its share of the rounded payout:
# the difference of the rounded running totals, after what the IB had open), else as staged.
_WRITE_SQL = f"""
INSERT INTO ib_commissionline ({_LINE_COLUMNS}, run_id, paid_amount, payout_journal_id,
                               payout_run_id)
SELECT s.entity_id, s.deal_id, s.ib_id, s.tier, s.kind, s.deal_time, s.lots, s.amount,
       s.currency, s.plan_version_id, s.rate_id,
       CASE WHEN pay.journal_id IS NULL OR s.status <> 'computed' THEN s.status ELSE 'paid' END,
       %(run)s,
       CASE WHEN pay.journal_id IS NOT NULL AND s.status = 'computed' THEN
           ib_round_half_even(pay.open + s.running, pay.minor)
           - ib_round_half_even(pay.open + s.running - s.amount, pay.minor) END,
       CASE WHEN s.status = 'computed' THEN pay.journal_id END,
       CASE WHEN pay.journal_id IS NOT NULL AND s.status = 'computed' THEN %(run)s END
FROM (
    SELECT *, SUM(CASE WHEN status = 'computed' THEN amount ELSE 0 END)
              OVER (PARTITION BY ib_id, currency ORDER BY deal_id, tier) AS running
    FROM ib_stage
) s
LEFT JOIN unnest(%(ibs)s::bigint[], %(currencies)s::varchar[], %(open)s::numeric[],
                 %(minors)s::int[], %(journals)s::bigint[])
     AS pay(ib_id, currency, open, minor, journal_id)
     ON pay.ib_id = s.ib_id AND pay.currency = s.currency
ORDER BY s.deal_id, s.tier  -- the order of the unique index: appends, not random inserts
"""

# Lines an IB already had open (released, corrected, or waiting on a negative net), paid
# first in the same way.
_PAY_OPEN_SQL = """
UPDATE ib_commissionline l
SET status = 'paid', paid_amount = w.paid, payout_journal_id = w.journal_id,
    payout_run_id = %(run)s
FROM (
    SELECT o.id, pay.journal_id,
        ib_round_half_even(SUM(o.amount) OVER running, pay.minor)
        - ib_round_half_even(SUM(o.amount) OVER running - o.amount, pay.minor) AS paid
    FROM ib_commissionline o
    JOIN unnest(%(ibs)s::bigint[], %(currencies)s::varchar[], %(minors)s::int[],
                %(journals)s::bigint[]) AS pay(ib_id, currency, minor, journal_id)
         ON pay.ib_id = o.ib_id AND pay.currency = o.currency
    WHERE o.status = 'computed'
    WINDOW running AS (PARTITION BY o.ib_id, o.currency ORDER BY o.id)
) w
WHERE l.id = w.id
"""

# Writers of lines (a run, a correction) hold this lock for their transaction.
_LINES_LOCK = 0x1C0


def _lines_lock(cursor: Any) -> None:
    cursor.execute("SELECT pg_advisory_xact_lock(%s)", [_LINES_LOCK])


@contextmanager
def _one_line_each() -> Iterator[None]:
    """Two lines for one deal and tier (under one version) mean overlapping attributions,
    plan versions or hierarchy links: refused whole, with a code, nothing of it kept."""
    try:
        with transaction.atomic():
            yield
    except IntegrityError as exc:
        raise Conflict(
            "Two commissions were computed for the same deal and tier; check for"
            " overlapping attributions, plan versions or hierarchy links.",
            code="commission_ambiguous",
        ) from exc


def _payable(cursor: Any) -> dict[int, list[tuple[int, str, Decimal, Decimal]]]:
    """Per entity: (IB, currency, open, payout) for every active IB whose computed lines —
    open ones and staged ones — net to a positive amount once rounded. A negative net (after
    a correction) waits for future earnings; a suspended IB's lines wait for reactivation."""
    cursor.execute(
        """
        SELECT entity_id, ib_id, currency, SUM(amount) FILTER (WHERE NOT staged),
               SUM(amount)
        FROM (
            SELECT entity_id, ib_id, currency, amount, false AS staged
            FROM ib_commissionline WHERE status = 'computed'
            UNION ALL
            SELECT entity_id, ib_id, currency, amount, true
            FROM ib_stage WHERE status = 'computed'
        ) lines
        WHERE ib_id IN (SELECT id FROM ib_ibpartner WHERE status = 'active')
        GROUP BY entity_id, ib_id, currency ORDER BY entity_id, currency, ib_id
        """
    )
    payable: dict[int, list[tuple[int, str, Decimal, Decimal]]] = {}
    for entity_id, ib_id, currency, open_, raw in cursor.fetchall():
        total = round_minor(raw, currency)
        if total > 0:
            payable.setdefault(entity_id, []).append((ib_id, currency, open_ or Decimal(0), total))
    return payable


def _journals_post(
    run: CommissionRun, entity_id: int, rows: list[tuple[int, str, Decimal, Decimal]]
) -> dict[tuple[int, str], int]:
    """One accrual per currency (fee revenue → IB payable) and one payout per IB and currency
    (IB payable → the IB's wallet), in one ledger batch. Returns the payout journal ids."""
    partners = (
        IbPartner.objects.unscoped()
        .select_related("profile", "profile__entity")
        .in_bulk({ib_id for ib_id, *_ in rows})
    )
    specs: list[JournalSpec] = []
    for currency in sorted({currency for _, currency, *_ in rows}):
        payable_account = system_account(
            entity=entity_id, kind=AccountKind.IB_PAYABLE, currency=currency
        )
        revenue = system_account(entity=entity_id, kind=AccountKind.FEE_REVENUE, currency=currency)
        grand = sum((total for _, cur, _, total in rows if cur == currency), Decimal(0))
        specs.append(
            JournalSpec(
                type=JournalType.COMMISSION,
                idempotency_key=f"ib-accrual:{run.pk}:{entity_id}:{currency}",
                lines=[Line(revenue, -grand), Line(payable_account, grand)],
                reference=f"IB commissions run {run.pk}",
            )
        )
        for ib_id, cur, _, total in rows:
            if cur != currency:
                continue
            wallet = wallet_open(profile=partners[ib_id].profile, currency=currency)
            specs.append(
                JournalSpec(
                    type=JournalType.COMMISSION,
                    idempotency_key=f"ib-payout:{run.pk}:{ib_id}:{currency}",
                    lines=[Line(payable_account, -total), Line(wallet, total)],
                    reference=f"IB {ib_id} commissions run {run.pk}",
                    metadata={"ib": ib_id, "run": run.pk},
                )
            )
    journals = journal_post_batch(actor=None, entity=entity_id, specs=specs)
    by_key = {journal.idempotency_key: journal.pk for journal in journals}
    return {
        (ib_id, currency): by_key[f"ib-payout:{run.pk}:{ib_id}:{currency}"]
        for ib_id, currency, *_ in rows
    }


def commission_batch_run(*, full: bool = False) -> CommissionRun:
    """Lines for the deals imported since the last run (every deal if `full`), released
    delayed lines, and a payout of every IB with a positive net: one transaction, safe to
    rerun and to run concurrently (runs follow each other)."""
    watermark = deals_committed_through()
    deal_to = watermark.deal_id
    with transaction.atomic():
        with connection.cursor() as cursor:
            _lines_lock(cursor)
            # Sorting and hashing a million staged lines wants more than the default.
            cursor.execute("SET LOCAL work_mem = '256MB'")
            cursor.execute(
                "SELECT COALESCE(MAX(deal_id_to), 0), MAX(linked_to) FROM ib_commissionrun"
            )
            last, linked_from = cursor.fetchone()
            linked_from = linked_from or EPOCH
            deal_from = 0 if full else last
            run = CommissionRun.objects.create(
                deal_id_from=deal_from,
                deal_id_to=max(deal_to, last),
                linked_to=max(watermark.linked_at, linked_from),
            )
            # Dropped on commit; also here and at the end, for a run inside a caller's transaction.
            cursor.execute("DROP TABLE IF EXISTS pg_temp.ib_stage")
            cursor.execute(
                _STAGE_SQL,
                {
                    "kind": CommissionLine.Kind.COMMISSION,
                    "deal_from": deal_from,
                    "deal_to": deal_to,
                    "linked_from": linked_from,
                    "linked_to": watermark.linked_at,
                },
            )
            run.lines_created = cursor.rowcount
            cursor.execute(_RELEASE_SQL)
            payable = _payable(cursor)
            journals: dict[tuple[int, str], int] = {}
            for entity_id, rows in payable.items():
                journals.update(_journals_post(run, entity_id, rows))
                run.payouts += len(rows)
                run.payout_total += sum((total for *_, total in rows), Decimal(0))
            paid = [row for rows in payable.values() for row in rows]
            ibs = [ib_id for ib_id, *_ in paid]
            currencies = [currency for _, currency, *_ in paid]
            minors = [CURRENCY_MINOR_UNITS[currency] for currency in currencies]
            journal_ids = [journals[(ib_id, currency)] for ib_id, currency, *_ in paid]
            cursor.execute(
                _PAY_OPEN_SQL,
                {
                    "run": run.pk,
                    "ibs": ibs,
                    "currencies": currencies,
                    "minors": minors,
                    "journals": journal_ids,
                },
            )
            with _one_line_each():
                cursor.execute(
                    _WRITE_SQL,
                    {
                        "run": run.pk,
                        "ibs": ibs,
                        "currencies": currencies,
                        "open": [open_ for _, _, open_, _ in paid],
                        "minors": minors,
                        "journals": journal_ids,
                    },
                )
            cursor.execute("DROP TABLE pg_temp.ib_stage")
        run.finished_at = timezone.now()
        run.save()
    return run
