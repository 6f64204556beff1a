"""Reads of the ledger: statements, trial balance, reconciliation."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal
from typing import Any

from django.db import connection
from django.db.models import DecimalField, F, OuterRef, QuerySet, Subquery, Sum, Value, Window
from django.db.models.functions import Coalesce

from brokercrm.money import MONEY

from .models import Hold, JournalEntry, LedgerAccount, Posting


def wallets_visible_to(user: Any) -> QuerySet[LedgerAccount]:
    return LedgerAccount.objects.visible_to(user, "wallets.view_ledgeraccount").filter(
        kind=LedgerAccount.Kind.CLIENT_WALLET
    )


def account_statement(
    *, account: LedgerAccount, since: datetime | None = None, until: datetime | None = None
) -> list[dict[str, Any]]:
    """Every posting of the account with the running balance after it (oldest first)."""
    rows = (
        Posting.objects.in_entity(account.entity_id)
        .filter(account=account)
        .annotate(running_balance=Window(Sum("amount"), order_by=F("id").asc()))
        .values(
            "id",
            "journal_id",
            "journal__type",
            "journal__reference",
            "journal__created_at",
            "amount",
            "currency",
            "running_balance",
        )
        .order_by("id")
    )
    statement = [
        {
            "posting_id": row["id"],
            "journal_id": row["journal_id"],
            "type": row["journal__type"],
            "reference": row["journal__reference"],
            "at": row["journal__created_at"],
            "amount": row["amount"],
            "currency": row["currency"],
            "balance_after": row["running_balance"],
        }
        for row in rows
    ]
    return [
        line
        for line in statement
        if (since is None or line["at"] >= since) and (until is None or line["at"] < until)
    ]


def _ledger_sum(queryset: QuerySet) -> Coalesce:
    total = queryset.values("account_id").annotate(total=Sum("amount")).values("total")
    return Coalesce(
        Subquery(total, output_field=DecimalField(**MONEY)),
        Value(Decimal(0)),
        output_field=DecimalField(**MONEY),
    )


def wallets_with_ledger_figures() -> QuerySet[LedgerAccount]:
    """Client wallets with `ledger_balance` (the sum of their postings) and `ledger_held`
    (their pending holds) read from the ledger itself, not the stored running figures;
    `ledger_available` is what may be spent. Scope it (`in_entity`) before use."""
    postings = Posting.objects.unscoped().filter(account_id=OuterRef("pk"))
    holds = Hold.objects.unscoped().filter(account_id=OuterRef("pk"), status=Hold.Status.PENDING)
    return (
        LedgerAccount.objects.filter(kind=LedgerAccount.Kind.CLIENT_WALLET)
        .annotate(ledger_balance=_ledger_sum(postings), ledger_held=_ledger_sum(holds))
        .annotate(ledger_available=F("ledger_balance") - F("ledger_held"))
        .order_by("currency", "pk")
    )


def client_wallets(*, entity_id: int, profile_id: int) -> QuerySet[LedgerAccount]:
    """The profile's wallets with their ledger figures (see `wallets_with_ledger_figures`)."""
    return wallets_with_ledger_figures().in_entity(entity_id).filter(profile_id=profile_id)


def wallet_statement(
    *, account: LedgerAccount, since: datetime | None = None, until: datetime | None = None
) -> QuerySet[Posting]:
    """The account's postings booked in [since, until), oldest first, each with
    `balance_after`: the balance before `since` plus the running sum, so a page of a date
    range shows the same balances as the whole statement."""
    postings = Posting.objects.in_entity(account.entity_id).filter(account=account)
    opening = Decimal(0)
    if since is not None:
        opening = postings.filter(journal__created_at__lt=since).aggregate(total=Sum("amount"))[
            "total"
        ] or Decimal(0)
        postings = postings.filter(journal__created_at__gte=since)
    if until is not None:
        postings = postings.filter(journal__created_at__lt=until)
    return (
        postings.select_related("journal")
        .annotate(
            balance_after=Window(Sum("amount"), order_by=F("id").asc())
            + Value(opening, output_field=DecimalField(**MONEY))
        )
        .order_by("id")
    )


def trial_balance(*, entity: Any) -> dict[str, dict[str, Decimal]]:
    """Per currency: the sum of each account kind's balances. Every currency nets to zero."""
    entity_id = entity if isinstance(entity, int) else entity.pk
    result: dict[str, dict[str, Decimal]] = {}
    for row in (
        LedgerAccount.objects.in_entity(entity_id)
        .values("currency", "kind")
        .annotate(total=Sum("balance"))
        .order_by("currency", "kind")
    ):
        result.setdefault(row["currency"], {})[row["kind"]] = row["total"]
    for kinds in result.values():
        kinds["net"] = sum(kinds.values(), Decimal(0))
    return result


@dataclass(frozen=True)
class Discrepancy:
    account_id: int
    field: str
    stored: Decimal
    recomputed: Decimal


def ledger_reconcile(*, entity: Any = None) -> list[Discrepancy]:
    """Recompute every account's balance from its postings and its held amount from its
    pending holds; report each difference (there should be none)."""
    params: list[Any] = []
    where = ""
    if entity is not None:
        where = "WHERE a.entity_id = %s"
        params.append(entity if isinstance(entity, int) else entity.pk)
    sql = f"""
        SELECT a.id, a.balance, COALESCE(p.total, 0), a.held, COALESCE(h.total, 0)
          FROM wallets_ledgeraccount a
          LEFT JOIN (SELECT account_id, SUM(amount) AS total
                       FROM wallets_posting GROUP BY account_id) p
                 ON p.account_id = a.id
          LEFT JOIN (SELECT account_id, SUM(amount) AS total FROM wallets_hold
                      WHERE status = %s GROUP BY account_id) h
                 ON h.account_id = a.id
          {where}
    """
    found = []
    with connection.cursor() as cursor:
        cursor.execute(sql, [Hold.Status.PENDING, *params])
        for account_id, balance, posted, held, pending in cursor.fetchall():
            if balance != posted:
                found.append(Discrepancy(account_id, "balance", balance, posted))
            if held != pending:
                found.append(Discrepancy(account_id, "held", held, pending))
    return found


def ledger_imbalance() -> dict[tuple[int, str], Decimal]:
    """Journals whose postings do not sum to zero per currency (there should be none)."""
    rows = (
        Posting.objects.unscoped()
        .values("journal_id", "currency")
        .annotate(total=Sum("amount"))
        .exclude(total=0)
    )
    return {(row["journal_id"], row["currency"]): row["total"] for row in rows}


def wallet_credits_total(*, journal_ids: Any, profile_id: int) -> Decimal:
    """What these journals credited to the client wallets of one profile."""
    total = (
        Posting.objects.unscoped()
        .filter(
            journal_id__in=journal_ids,
            account__profile_id=profile_id,
            account__kind=LedgerAccount.Kind.CLIENT_WALLET,
        )
        .aggregate(total=Sum("amount"))["total"]
    )
    return total or Decimal(0)


def client_wallet(*, entity_id: int, profile_id: int, currency: str) -> LedgerAccount | None:
    """The profile's wallet in `currency`, if it is open."""
    return (
        LedgerAccount.objects.in_entity(entity_id)
        .filter(kind=LedgerAccount.Kind.CLIENT_WALLET, profile_id=profile_id, currency=currency)
        .first()
    )


def client_wallet_by_id(*, entity_id: int, profile_id: int, wallet_id: int) -> LedgerAccount | None:
    """One of the profile's wallets by id (None for anyone else's)."""
    return (
        LedgerAccount.objects.in_entity(entity_id)
        .filter(kind=LedgerAccount.Kind.CLIENT_WALLET, profile_id=profile_id, pk=wallet_id)
        .first()
    )


def journal_get(*, entity_id: int, journal_id: int) -> JournalEntry:
    return JournalEntry.objects.in_entity(entity_id).get(pk=journal_id)


def journal_clearing_amount(journal: Any, currency: str) -> Decimal | None:
    """What a journal moved on PSP clearing in `currency`, as a positive amount (None: it
    did not touch PSP clearing)."""
    amounts = (
        Posting.objects.unscoped()
        .filter(journal=journal, account__kind=LedgerAccount.Kind.PSP_CLEARING, currency=currency)
        .values_list("amount", flat=True)
    )
    return abs(sum(amounts, Decimal(0))) if amounts else None


def journal_by_reference_elsewhere(*, reference: str, entity_id: int) -> JournalEntry | None:
    """A journal with this reference booked under another entity than `entity_id`."""
    return (
        JournalEntry.objects.unscoped()
        .filter(reference=reference)
        .exclude(entity_id=entity_id)
        .first()
    )


def journal_by_key(*, entity_id: int, idempotency_key: str) -> JournalEntry | None:
    return JournalEntry.objects.in_entity(entity_id).filter(idempotency_key=idempotency_key).first()


def journal_is_reversed(journal: JournalEntry) -> bool:
    return JournalEntry.objects.in_entity(journal.entity_id).filter(reverses=journal).exists()


def client_postings(
    *,
    entity_id: int,
    profile_id: int,
    currency: str = "",
    since: datetime | None = None,
    until: datetime | None = None,
) -> QuerySet[Posting]:
    """Postings on the profile's wallets in [since, until), newest first, with their journal
    (its type and reference say what moved the money)."""
    postings = Posting.objects.in_entity(entity_id).filter(
        account__profile_id=profile_id, account__kind=LedgerAccount.Kind.CLIENT_WALLET
    )
    if currency:
        postings = postings.filter(currency=currency)
    if since is not None:
        postings = postings.filter(journal__created_at__gte=since)
    if until is not None:
        postings = postings.filter(journal__created_at__lt=until)
    return postings.select_related("journal", "account").order_by("-journal__created_at", "-pk")
