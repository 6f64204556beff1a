"""Journals: balanced postings written in one statement, one batch, or inside a caller's
transaction; idempotent on their key; corrected by reversal."""

from __future__ import annotations

import json
from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

from django.db import IntegrityError, connection, transaction

from brokercrm.errors import ValidationFailed
from brokercrm.gate import authorised_by_caller
from brokercrm.idempotency import IdempotencyKeyReused, idempotency_key_checked, request_hash
from brokercrm.money import QUANTUM
from brokercrm.transactions import with_retries

from ..models import JournalEntry, LedgerAccount, Posting
from .common import CrossEntityTransfer, InsufficientFunds, _is_overdraft


@dataclass(frozen=True)
class Line:
    account: LedgerAccount
    amount: Decimal  # credit positive, debit negative


@dataclass
class JournalSpec:
    type: str
    idempotency_key: str
    lines: list[Line]
    reference: str = ""
    metadata: dict[str, Any] = field(default_factory=dict)
    reverses: JournalEntry | None = None


def _validate_spec(entity_id: int, spec: JournalSpec) -> str:
    if spec.type not in JournalEntry.Type.values:
        raise ValidationFailed(f"Unknown journal type {spec.type!r}.", code="journal_type_invalid")
    if len(spec.lines) < 2:
        raise ValidationFailed("A journal needs at least two lines.", code="journal_unbalanced")
    totals: dict[str, Decimal] = defaultdict(Decimal)
    for line in spec.lines:
        if line.account.entity_id != entity_id:
            raise CrossEntityTransfer("Every account of a journal belongs to the journal's entity.")
        if line.amount == 0 or line.amount != line.amount.quantize(QUANTUM):
            raise ValidationFailed(
                "Line amounts are non-zero with at most 8 decimals.", code="amount_invalid"
            )
        totals[line.account.currency] += line.amount
    unbalanced = {currency: total for currency, total in totals.items() if total != 0}
    if unbalanced:
        raise ValidationFailed(
            f"The journal does not balance: {unbalanced}.", code="journal_unbalanced"
        )
    return request_hash(
        {
            "type": spec.type,
            "reference": spec.reference,
            "lines": sorted((line.account.pk, str(line.amount)) for line in spec.lines),
            "reverses": spec.reverses.pk if spec.reverses else None,
            "metadata": spec.metadata,
        }
    )


def _existing_journal(entity_id: int, key: str, request_hash: str) -> JournalEntry:
    journal = JournalEntry.objects.in_entity(entity_id).get(idempotency_key=key)
    if journal.request_hash != request_hash:
        raise IdempotencyKeyReused()
    return journal


_INSERT_JOURNAL = """
    INSERT INTO wallets_journalentry
        (entity_id, type, idempotency_key, request_hash, reference, reverses_id, actor_id,
         actor_label, metadata, created_at)
    VALUES (%s, %s, %s, %s, %s, %s, %s, %s, %s, now())
    ON CONFLICT (entity_id, idempotency_key) DO NOTHING
    RETURNING id, created_at
"""


def _journal_row(*, actor: Any, entity_id: int, spec: JournalSpec) -> tuple[JournalEntry, bool]:
    """Insert the journal row (one statement, no savepoint). A repeat of the same request
    returns the first journal and created=False; the same key with another request is refused.
    A concurrent twin waits on the unique index until the first commits, then sees it."""
    fields = _journal_fields(actor=actor, entity_id=entity_id, spec=spec)
    key, request_hash = fields["idempotency_key"], fields["request_hash"]
    with connection.cursor() as cursor:
        cursor.execute(_INSERT_JOURNAL, [*list(fields.values())[:-1], json.dumps(spec.metadata)])
        row = cursor.fetchone()
    if row is None:
        return _existing_journal(entity_id, key, request_hash), False
    journal = JournalEntry(id=row[0], created_at=row[1], **fields)
    journal._state.adding = False
    return journal, True


def _journal_postings(journal: JournalEntry, spec: JournalSpec) -> None:
    """All postings of a journal in one INSERT, in account-id order (the lock order). The
    posting trigger moves each balance in the same statement; an overdraft fails it."""
    lines = sorted(spec.lines, key=lambda line: line.account.pk)
    values = ", ".join(["(%s, %s, %s, %s, %s)"] * len(lines))
    params: list[Any] = []
    for line in lines:
        params += [
            journal.entity_id,
            journal.pk,
            line.account.pk,
            line.amount,
            line.account.currency,
        ]
    try:
        with connection.cursor() as cursor:
            cursor.execute(
                "INSERT INTO wallets_posting (entity_id, journal_id, account_id, amount, currency) "
                f"VALUES {values}",
                params,
            )
    except IntegrityError as exc:
        # The surrounding durable transaction rolls back; nothing of this journal remains.
        if _is_overdraft(exc):
            raise InsufficientFunds() from exc
        raise


def _insert_journal(*, actor: Any, entity_id: int, spec: JournalSpec) -> tuple[JournalEntry, bool]:
    journal, created = _journal_row(actor=actor, entity_id=entity_id, spec=spec)
    if created:
        _journal_postings(journal, spec)
    return journal, created


_POST_JOURNAL_ONE_STATEMENT = """
    WITH journal AS (
        INSERT INTO wallets_journalentry
            (entity_id, type, idempotency_key, request_hash, reference, reverses_id, actor_id,
             actor_label, metadata, created_at)
        VALUES (%s, %s, %s, %s, %s, %s, %s, %s, %s, now())
        ON CONFLICT (entity_id, idempotency_key) DO NOTHING
        RETURNING id, created_at
    ), postings AS (
        INSERT INTO wallets_posting (entity_id, journal_id, account_id, amount, currency)
        SELECT %s, journal.id, line.account_id, line.amount, line.currency
          FROM journal, (VALUES {lines}) AS line (account_id, amount, currency)
         ORDER BY line.account_id
    )
    SELECT id, created_at FROM journal
"""


def _journal_fields(*, actor: Any, entity_id: int, spec: JournalSpec) -> dict[str, Any]:
    authenticated = getattr(actor, "is_authenticated", False)
    return {
        "entity_id": entity_id,
        "type": spec.type,
        "idempotency_key": idempotency_key_checked(spec.idempotency_key),
        "request_hash": _validate_spec(entity_id, spec),
        "reference": spec.reference[:100],
        "reverses_id": spec.reverses.pk if spec.reverses else None,
        "actor_id": actor.pk if authenticated else None,
        "actor_label": actor.get_username() if authenticated else "system",
        "metadata": spec.metadata,
    }


def _post_in_one_statement(*, actor: Any, entity_id: int, spec: JournalSpec) -> JournalEntry:
    """The journal row and its postings in a single statement, hence a single round trip and
    its own transaction (autocommit): the deferred balance check runs at the statement's end,
    the posting trigger moves the balances in account-id order, and an overdraft or any other
    refusal leaves nothing behind. See docs/adr/0007-one-statement-journal.md."""
    fields = _journal_fields(actor=actor, entity_id=entity_id, spec=spec)
    lines = sorted(spec.lines, key=lambda line: line.account.pk)
    params: list[Any] = [*list(fields.values())[:-1], json.dumps(spec.metadata), entity_id]
    for line in lines:
        params += [line.account.pk, line.amount, line.account.currency]
    sql = _POST_JOURNAL_ONE_STATEMENT.format(
        lines=", ".join(["(%s::bigint, %s::numeric, %s::varchar)"] * len(lines))
    )
    try:
        with connection.cursor() as cursor:
            cursor.execute(sql, params)
            row = cursor.fetchone()
    except IntegrityError as exc:
        if _is_overdraft(exc):
            raise InsufficientFunds() from exc
        raise
    if row is None:
        # The key was used before: answer with that journal (or refuse other parameters).
        return _existing_journal(entity_id, fields["idempotency_key"], fields["request_hash"])
    journal = JournalEntry(id=row[0], created_at=row[1], **fields)
    journal._state.adding = False
    return journal


@authorised_by_caller
@with_retries()
def journal_post(*, actor: Any, entity: Any, spec: JournalSpec) -> JournalEntry:
    """Post one balanced journal in its own transaction; idempotent on spec.idempotency_key.

    Outside any transaction it is one statement (one round trip). Inside one (a service that
    writes other rows with it), the journal joins that transaction."""
    entity_id = entity if isinstance(entity, int) else entity.pk
    if connection.get_autocommit() and not connection.in_atomic_block:
        return _post_in_one_statement(actor=actor, entity_id=entity_id, spec=spec)
    with transaction.atomic():  # a savepoint: a refusal leaves the caller's work usable
        journal, _ = _insert_journal(actor=actor, entity_id=entity_id, spec=spec)
    return journal


@authorised_by_caller
@with_retries()
def journal_post_batch(
    *, actor: Any, entity: Any, specs: Iterable[JournalSpec]
) -> list[JournalEntry]:
    """Many journals in one transaction: one INSERT for the journals, one for all postings,
    in account-id order. For commission payouts and platform sync. All or nothing."""
    entity_id = entity if isinstance(entity, int) else entity.pk
    specs = list(specs)
    hashes = [_validate_spec(entity_id, spec) for spec in specs]
    keys = [idempotency_key_checked(spec.idempotency_key) for spec in specs]
    if len(set(keys)) != len(keys):
        raise ValidationFailed(
            "Idempotency keys repeat inside the batch.", code="idempotency_key_invalid"
        )
    with transaction.atomic():  # joins a caller's transaction (webhook batches)
        existing = {
            journal.idempotency_key: journal
            for journal in JournalEntry.objects.in_entity(entity_id).filter(
                idempotency_key__in=keys
            )
        }
        for key, request_hash in zip(keys, hashes, strict=True):
            if key in existing and existing[key].request_hash != request_hash:
                raise IdempotencyKeyReused(f"Key {key!r} was already used for a different request.")
        fresh = [
            (spec, key, h)
            for spec, key, h in zip(specs, keys, hashes, strict=True)
            if key not in existing
        ]
        label = actor.get_username() if getattr(actor, "is_authenticated", False) else "system"
        created = JournalEntry.objects.bulk_create(
            [
                JournalEntry(
                    entity_id=entity_id,
                    type=spec.type,
                    idempotency_key=key,
                    request_hash=h,
                    reference=spec.reference[:100],
                    reverses=spec.reverses,
                    metadata=spec.metadata,
                    actor=actor if getattr(actor, "is_authenticated", False) else None,
                    actor_label=label,
                )
                for spec, key, h in fresh
            ]
        )
        postings = [
            Posting(
                entity_id=entity_id,
                journal=journal,
                account=line.account,
                amount=line.amount,
                currency=line.account.currency,
            )
            for journal, (spec, _, _) in zip(created, fresh, strict=True)
            for line in spec.lines
        ]
        postings.sort(key=lambda posting: posting.account.pk)
        try:
            with transaction.atomic():
                # One statement: sorted by account, a journal's postings sit far apart, and a
                # batch split would leave a journal half-written at a statement's end.
                Posting.objects.bulk_create(postings)
        except IntegrityError as exc:
            if _is_overdraft(exc):
                raise InsufficientFunds() from exc
            raise
        by_key = {journal.idempotency_key: journal for journal in created}
        return [existing.get(key) or by_key[key] for key in keys]


@authorised_by_caller
def journal_reverse(*, actor: Any, journal: JournalEntry, reason: str) -> JournalEntry:
    """Correct a mistake: a new journal with every posting negated. Once per journal."""
    lines = [
        Line(posting.account, -posting.amount)
        for posting in Posting.objects.in_entity(journal.entity_id)
        .filter(journal=journal)
        .select_related("account")
    ]
    return journal_post(
        actor=actor,
        entity=journal.entity_id,
        spec=JournalSpec(
            type=JournalEntry.Type.REVERSAL,
            idempotency_key=f"reversal:{journal.pk}",
            lines=lines,
            reverses=journal,
            metadata={"reason": reason},
        ),
    )
