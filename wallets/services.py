"""Every movement of money. Nothing else writes postings, journals, holds or balances.

Guarantees, and who keeps them:
- a journal balances per currency, its accounts are its entity's, postings are append-only:
  the database (wallets/migrations/0002_ledger_rules.py), re-checked here for clear errors;
- a client wallet never goes below zero available: the CHECK on the account row, which the
  posting trigger and the hold updates hit in the same statement (no read-decide-write);
- a repeated request does nothing twice: idempotency keys unique per entity, with a hash of
  the request so a reused key with other parameters is refused;
- deadlocks and serialization failures are retried; row locks are taken in account-id order.
"""

from __future__ import annotations

import json
from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

from django.db import IntegrityError, connection, transaction
from django.db.models import F
from django.utils import timezone

from brokercrm.errors import ApplicationError, ValidationFailed
from brokercrm.idempotency import IdempotencyKeyReused, idempotency_key_checked, request_hash
from brokercrm.money import QUANTUM, money, round_to
from brokercrm.reference import CURRENCY_MINOR_UNITS
from brokercrm.transactions import with_retries

from .models import FxRate, Hold, JournalEntry, LedgerAccount, Posting


class InsufficientFunds(ApplicationError):
    code = "insufficient_funds"
    status = 409
    default_detail = "The wallet does not have enough available funds."


class HoldNotPending(ApplicationError):
    code = "hold_not_pending"
    status = 409
    default_detail = "The hold was already posted or voided."


class CrossEntityTransfer(ApplicationError):
    code = "cross_entity_transfer"
    default_detail = "Money does not move between entities through a transfer."


def _constraint_name(exc: IntegrityError) -> str:
    return getattr(getattr(exc.__cause__, "diag", None), "constraint_name", None) or ""


def _is_overdraft(exc: IntegrityError) -> bool:
    return _constraint_name(exc) == "ledgeraccount_wallet_available_not_negative"


# --- accounts ---------------------------------------------------------------------------

NORMAL_SIDE = {
    LedgerAccount.Kind.CLIENT_WALLET: LedgerAccount.Side.CREDIT,
    LedgerAccount.Kind.IB_PAYABLE: LedgerAccount.Side.CREDIT,
    LedgerAccount.Kind.FEE_REVENUE: LedgerAccount.Side.CREDIT,
    LedgerAccount.Kind.EQUITY: LedgerAccount.Side.CREDIT,
    LedgerAccount.Kind.PSP_CLEARING: LedgerAccount.Side.DEBIT,
    LedgerAccount.Kind.PLATFORM_TRANSFER: LedgerAccount.Side.DEBIT,
    LedgerAccount.Kind.FX_POSITION: LedgerAccount.Side.DEBIT,
    LedgerAccount.Kind.SUSPENSE: LedgerAccount.Side.DEBIT,
}


def system_account(*, entity: Any, kind: str, currency: str, name: str = "main") -> LedgerAccount:
    """The entity's account of a kind and currency (created on first use)."""
    if kind == LedgerAccount.Kind.CLIENT_WALLET:
        raise ValidationFailed(
            "Client wallets are opened with wallet_open.", code="account_kind_invalid"
        )
    if currency not in CURRENCY_MINOR_UNITS:
        raise ValidationFailed(f"Unknown currency {currency!r}.", code="currency_unknown")
    entity_id = entity if isinstance(entity, int) else entity.pk
    account, _ = LedgerAccount.objects.unscoped().get_or_create(
        entity_id=entity_id,
        kind=kind,
        currency=currency,
        name=name,
        profile=None,
        defaults={"normal_side": NORMAL_SIDE[kind]},
    )
    return account


def wallet_open(*, profile: Any, currency: str) -> LedgerAccount:
    """The profile's wallet in `currency`, opened if the entity's wallet rules allow it."""
    from entities.selectors import wallet_currencies

    currency = (currency or "").upper()
    if currency not in wallet_currencies(profile.entity):
        raise ValidationFailed(
            f"{profile.entity.code} does not offer wallets in {currency or 'that currency'}.",
            code="currency_not_offered",
        )
    try:
        with transaction.atomic():
            account, _ = LedgerAccount.objects.unscoped().get_or_create(
                entity_id=profile.entity_id,
                kind=LedgerAccount.Kind.CLIENT_WALLET,
                profile=profile,
                currency=currency,
                defaults={"normal_side": LedgerAccount.Side.CREDIT, "name": "wallet"},
            )
    except IntegrityError:  # opened concurrently: the other one wins
        account = LedgerAccount.objects.unscoped().get(
            kind=LedgerAccount.Kind.CLIENT_WALLET, profile=profile, currency=currency
        )
    return account


def wallet_open_base(*, profile: Any) -> LedgerAccount:
    """The base-currency wallet a profile gets when it is activated."""
    return wallet_open(profile=profile, currency=profile.entity.base_currency)


def wallets_on_activation(*, profile: Any) -> list[LedgerAccount]:
    """What the entity's wallet rules open when a profile becomes active."""
    from entities.selectors import RuleSetMissing, ruleset_effective

    try:
        opens_base = ruleset_effective(entity=profile.entity, kind="wallet").document.get(
            "base_wallet_on_activation", True
        )
    except RuleSetMissing:
        opens_base = True
    return [wallet_open_base(profile=profile)] if opens_base else []


# --- journals -----------------------------------------------------------------------------


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


# --- holds ----------------------------------------------------------------------------------


@with_retries()
def hold_create(
    *,
    actor: Any,
    account: LedgerAccount,
    counter_account: LedgerAccount,
    amount: Any,
    purpose: str,
    idempotency_key: str,
    metadata: dict[str, Any] | None = None,
) -> Hold:
    """Reserve `amount` of a client wallet now; post or void it later, exactly once."""
    amount = money(amount)
    key = idempotency_key_checked(idempotency_key)
    if account.kind != LedgerAccount.Kind.CLIENT_WALLET:
        raise ValidationFailed("Holds are taken on client wallets.", code="account_kind_invalid")
    if counter_account.entity_id != account.entity_id:
        raise CrossEntityTransfer()
    if counter_account.currency != account.currency:
        raise ValidationFailed(
            "The counter account must be in the wallet's currency.", code="currency_mismatch"
        )
    hold_hash = request_hash(
        {
            "account": account.pk,
            "counter": counter_account.pk,
            "amount": str(amount),
            "purpose": purpose,
        }
    )
    with transaction.atomic():
        try:
            with transaction.atomic():
                hold = Hold.objects.create(
                    entity_id=account.entity_id,
                    account=account,
                    counter_account=counter_account,
                    amount=amount,
                    currency=account.currency,
                    purpose=purpose[:40],
                    idempotency_key=key,
                    request_hash=hold_hash,
                    metadata=metadata or {},
                )
        except IntegrityError as exc:
            if _constraint_name(exc) != "hold_idempotency_key_unique":
                raise
            hold = Hold.objects.in_entity(account.entity_id).get(idempotency_key=key)
            if hold.request_hash != hold_hash:
                raise IdempotencyKeyReused() from exc
            return hold
        try:
            with transaction.atomic():
                LedgerAccount.objects.unscoped().filter(pk=account.pk).update(
                    held=F("held") + amount
                )
        except IntegrityError as exc:
            if _is_overdraft(exc):
                raise InsufficientFunds() from exc
            raise
    return hold


@with_retries()
def hold_post(*, actor: Any, hold: Hold) -> JournalEntry:
    """Move the held amount to the counter account. A second post (or a post after a void)
    is refused and changes nothing."""
    spec = JournalSpec(
        type=JournalEntry.Type.HOLD_POSTED,
        idempotency_key=f"hold:{hold.pk}:post",
        lines=[Line(hold.account, -hold.amount), Line(hold.counter_account, hold.amount)],
        reference=f"hold:{hold.pk}",
        metadata={"purpose": hold.purpose},
    )
    with transaction.atomic():
        journal, created = _journal_row(actor=actor, entity_id=hold.entity_id, spec=spec)
        # The conditional update is the "exactly once": only one transaction moves it on.
        moved = (
            Hold.objects.in_entity(hold.entity_id)
            .filter(pk=hold.pk, status=Hold.Status.PENDING)
            .update(status=Hold.Status.POSTED, journal=journal, resolved_at=timezone.now())
        )
        if not moved or not created:
            raise HoldNotPending()
        # Release the reservation, then debit: available never dips below zero in between.
        LedgerAccount.objects.unscoped().filter(pk=hold.account_id).update(
            held=F("held") - hold.amount
        )
        _journal_postings(journal, spec)
    return journal


@with_retries()
def hold_void(*, actor: Any, hold: Hold) -> Hold:
    with transaction.atomic():
        moved = (
            Hold.objects.in_entity(hold.entity_id)
            .filter(pk=hold.pk, status=Hold.Status.PENDING)
            .update(status=Hold.Status.VOIDED, resolved_at=timezone.now())
        )
        if not moved:
            raise HoldNotPending()
        LedgerAccount.objects.unscoped().filter(pk=hold.account_id).update(
            held=F("held") - hold.amount
        )
    return Hold.objects.in_entity(hold.entity_id).get(pk=hold.pk)


# --- transfers and FX -----------------------------------------------------------------------


@dataclass(frozen=True)
class FxQuote:
    base: str
    quote: str
    mid: Decimal
    markup_bps: int
    rate: Decimal  # what the client gets: mid less the entity's markup
    source: str
    as_of: str


def fx_quote(*, entity: Any, base: str, quote: str) -> FxQuote:
    """The latest published rate for base→quote (or the inverse of quote→base), less the
    entity's markup from its wallet rules."""
    from entities.selectors import RuleSetMissing, ruleset_effective

    direct = FxRate.objects.filter(base=base, quote=quote).order_by("-as_of").first()
    inverse = FxRate.objects.filter(base=quote, quote=base).order_by("-as_of").first()
    if direct is None and inverse is None:
        raise ValidationFailed(f"No exchange rate for {base}/{quote}.", code="fx_rate_missing")
    if direct is not None and (inverse is None or direct.as_of >= inverse.as_of):
        mid, source, as_of = direct.rate, direct.source, direct.as_of
    else:
        mid, source, as_of = (Decimal(1) / inverse.rate), inverse.source, inverse.as_of
    try:
        markup = int(
            ruleset_effective(entity=entity, kind="wallet").document.get("fx_markup_bps", 0)
        )
    except RuleSetMissing:
        markup = 0
    rate = round_to(mid * (Decimal(10000 - markup) / Decimal(10000)), Decimal("1e-10"))
    return FxQuote(base, quote, mid, markup, rate, source, as_of.isoformat())


def wallet_transfer(
    *, actor: Any, source: LedgerAccount, target: LedgerAccount, amount: Any, idempotency_key: str
) -> JournalEntry:
    """Wallet to wallet of the same client inside one entity; converts through FX when the
    currencies differ, recording both legs and the rate applied."""
    amount = money(amount)
    if source.entity_id != target.entity_id:
        raise CrossEntityTransfer()
    if (
        source.kind != LedgerAccount.Kind.CLIENT_WALLET
        or target.kind != LedgerAccount.Kind.CLIENT_WALLET
    ):
        raise ValidationFailed("Transfers are between client wallets.", code="account_kind_invalid")
    if source.profile_id != target.profile_id:
        raise ValidationFailed(
            "Both wallets must belong to the same client.", code="wallet_owner_mismatch"
        )
    if source.pk == target.pk:
        raise ValidationFailed("Source and target are the same wallet.", code="same_wallet")
    if source.currency == target.currency:
        spec = JournalSpec(
            type=JournalEntry.Type.TRANSFER,
            idempotency_key=idempotency_key,
            lines=[Line(source, -amount), Line(target, amount)],
        )
    else:
        from entities.selectors import entity_get

        quote = fx_quote(
            entity=entity_get(source.entity_id),
            base=source.currency,
            quote=target.currency,
        )
        converted = round_to(amount * quote.rate, QUANTUM)
        if converted <= 0:
            raise ValidationFailed("The amount is too small to convert.", code="amount_invalid")
        fx_source = system_account(
            entity=source.entity_id, kind=LedgerAccount.Kind.FX_POSITION, currency=source.currency
        )
        fx_target = system_account(
            entity=source.entity_id, kind=LedgerAccount.Kind.FX_POSITION, currency=target.currency
        )
        spec = JournalSpec(
            type=JournalEntry.Type.FX_TRANSFER,
            idempotency_key=idempotency_key,
            lines=[
                Line(source, -amount),
                Line(fx_source, amount),
                Line(fx_target, -converted),
                Line(target, converted),
            ],
            metadata={
                "fx": {
                    "base": quote.base,
                    "quote": quote.quote,
                    "mid": str(quote.mid),
                    "markup_bps": quote.markup_bps,
                    "rate": str(quote.rate),
                    "source": quote.source,
                    "as_of": quote.as_of,
                },
                "sold": {"currency": source.currency, "amount": str(amount)},
                "bought": {"currency": target.currency, "amount": str(converted)},
            },
        )
    return journal_post(actor=actor, entity=source.entity_id, spec=spec)


def fx_rate_record(*, base: str, quote: str, rate: Any, source: str, as_of: Any = None) -> FxRate:
    if base not in CURRENCY_MINOR_UNITS or quote not in CURRENCY_MINOR_UNITS or base == quote:
        raise ValidationFailed("Give two different known currencies.", code="currency_unknown")
    return FxRate.objects.create(
        base=base,
        quote=quote,
        rate=money(rate, field_name="rate"),
        source=source[:40],
        as_of=as_of or timezone.now(),
    )
