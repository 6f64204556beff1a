"""Rows the dashboard figures read, written straight into their tables at a given moment, so
that each figure's test knows exactly what it should count."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from itertools import count
from typing import Any

import time_machine

from identity.models import ClientProfile, DuplicateCase, MatchDecision, Person
from kyc.models import KycFile
from payments.models import (
    BankAccount,
    Deposit,
    DepositAttempt,
    MerchantAccount,
    PaymentMethod,
    PaymentProvider,
    Withdrawal,
    WithdrawalLeg,
)
from wallets.models import JournalEntry, LedgerAccount, Posting
from wallets.services import hold_create, hold_post, system_account, wallet_open
from wallets.tests.factories import fund

_numbers = count(1)

# The clock the figure tests run at: every period below ends on this day.
NOW = dt.datetime(2027, 3, 31, 15, 0, tzinfo=dt.UTC)
TODAY = NOW.date()


def on(day: int, hour: int = 12, month: int = 3) -> dt.datetime:
    return dt.datetime(2027, month, day, hour, tzinfo=dt.UTC)


def profile_of(brand: Any) -> ClientProfile:
    n = next(_numbers)
    person = Person.objects.create(
        given_name="Fig", family_name=f"Person{n}", birth_date=dt.date(1980, 1, 1 + n % 28)
    )
    return ClientProfile.objects.create(
        entity=brand.entity,
        person=person,
        brand=brand,
        given_name="Fig",
        family_name=f"Person{n}",
        given_name_latin="Fig",
        family_name_latin=f"Person{n}",
        birth_date=person.birth_date,
        residence_country="DE",
        email=f"fig{n}@example.test",
        email_canonical=f"fig{n}@example.test",
        routing_ruleset="test",
    )


def match_decision(brand: Any, outcome: str, at: dt.datetime) -> MatchDecision:
    decision = MatchDecision.objects.create(
        entity=brand.entity, brand=brand, outcome=outcome, ruleset="test"
    )
    MatchDecision.objects.unscoped().filter(pk=decision.pk).update(created_at=at)
    return decision


def duplicate_case(brand: Any, status: str, at: dt.datetime) -> DuplicateCase:
    profile = profile_of(brand)
    case = DuplicateCase.objects.create(
        entity=brand.entity,
        profile=profile,
        new_person=profile.person,
        candidate=profile_of(brand).person,
        decision=match_decision(brand, "review", at),
        confidence=Decimal("0.9"),
        status=status,
    )
    DuplicateCase.objects.unscoped().filter(pk=case.pk).update(created_at=at)
    return case


def kyc_decision(
    brand: Any,
    *,
    submitted: dt.datetime,
    decided: dt.datetime | None,
    status: str = "approved",
    auto: bool = False,
) -> KycFile:
    return KycFile.objects.create(
        entity=brand.entity,
        profile=profile_of(brand),
        status=status,
        submitted_at=submitted,
        decided_at=decided,
        auto_approved=auto,
    )


def merchant_of(entity: Any, code: str) -> MerchantAccount:
    provider, _ = PaymentProvider.objects.get_or_create(
        code="figpay", defaults={"name": "FigPay", "base_url": "http://127.0.0.1:9"}
    )
    merchant, _ = MerchantAccount.objects.unscoped().get_or_create(
        entity=entity,
        code=code,
        defaults={
            "provider": provider,
            "gateway_family": "cards",
            "currencies": ["EUR", "USD", "GBP"],
            "methods": ["card"],
            "webhook_secret_env": "FIG_SECRET",
        },
    )
    return merchant


def _deposit(profile: Any, amount: str, currency: str, **fields: Any) -> Deposit:
    method, _ = PaymentMethod.objects.get_or_create(
        code="card", defaults={"name": "Card", "kind": "card"}
    )
    return Deposit.objects.create(
        entity_id=profile.entity_id,
        profile=profile,
        wallet=wallet_open(profile=profile, currency=currency),
        amount=Decimal(amount),
        currency=currency,
        method=method,
        idempotency_key=f"fig-{next(_numbers)}",
        request_hash="fig",
        created_by="test",
        **fields,
    )


def journal_at(
    entity_id: int, kind: str, debit: Any, credit: Any, amount: str, at: dt.datetime
) -> JournalEntry:
    """A balanced journal (`debit` account to `credit` account) stamped with the test's clock:
    the ledger service stamps journals with the database's, which the test cannot move."""
    with time_machine.travel(at, tick=False):
        journal = JournalEntry.objects.create(
            entity_id=entity_id,
            type=kind,
            idempotency_key=f"fig-journal-{next(_numbers)}",
            request_hash="fig",
            actor_label="system",
        )
    Posting.objects.bulk_create(
        [
            Posting(
                entity_id=entity_id,
                journal=journal,
                account=account,
                amount=value,
                currency=account.currency,
            )
            for account, value in ((debit, -Decimal(amount)), (credit, Decimal(amount)))
        ]
    )
    return journal


def credited_deposit(profile: Any, amount: str, currency: str, at: dt.datetime) -> Deposit:
    """Credited at `at`: the journal that put the money on the wallet is of that moment."""
    clearing = system_account(
        entity=profile.entity_id, kind=LedgerAccount.Kind.PSP_CLEARING, currency=currency
    )
    wallet = wallet_open(profile=profile, currency=currency)
    journal = journal_at(profile.entity_id, "deposit", clearing, wallet, amount, at)
    return _deposit(profile, amount, currency, status="credited", journal=journal)


def deposit_attempt(merchant: MerchantAccount, profile: Any, status: str, at: dt.datetime) -> Any:
    deposit = _deposit(profile, "10", profile.entity.base_currency, status="processing")
    attempt = DepositAttempt.objects.create(
        entity_id=profile.entity_id,
        deposit=deposit,
        merchant_account=merchant,
        number=1,
        reference=f"fig-attempt-{next(_numbers)}",
        status=status,
    )
    DepositAttempt.objects.unscoped().filter(pk=attempt.pk).update(created_at=at)
    return attempt


def withdrawal(
    profile: Any, amount: str, currency: str, status: str, at: dt.datetime
) -> Withdrawal:
    row = Withdrawal.objects.create(
        entity_id=profile.entity_id,
        profile=profile,
        wallet=wallet_open(profile=profile, currency=currency),
        amount=Decimal(amount),
        currency=currency,
        payout_currency=currency,
        status=status,
        approval_needed="auto",
        requested_label="test",
        idempotency_key=f"fig-{next(_numbers)}",
        request_hash="fig",
    )
    Withdrawal.objects.unscoped().filter(pk=row.pk).update(created_at=at)
    return row


def paid_withdrawal(profile: Any, amount: str, currency: str, at: dt.datetime) -> Withdrawal:
    """Requested and paid at `at`: one bank leg whose hold was posted then."""
    wallet = wallet_open(profile=profile, currency=currency)
    clearing = system_account(
        entity=profile.entity_id, kind=LedgerAccount.Kind.PSP_CLEARING, currency=currency
    )
    row = withdrawal(profile, amount, currency, "paid", at)
    with time_machine.travel(at, tick=False):
        fund(wallet, amount)
        hold = hold_create(
            actor=None,
            account=wallet,
            counter_account=clearing,
            amount=amount,
            purpose="withdrawal",
            idempotency_key=f"fig-hold-{next(_numbers)}",
        )
        hold_post(actor=None, hold=hold)
    WithdrawalLeg.objects.create(
        entity_id=profile.entity_id,
        withdrawal=row,
        number=1,
        destination="bank",
        bank_account=BankAccount.objects.create(
            entity_id=profile.entity_id,
            profile=profile,
            iban=f"DE89370400440532{next(_numbers):06d}",
            holder="Fig Person",
            verified=True,
        ),
        amount=Decimal(amount),
        hold=hold,
        reference=f"fig-leg-{next(_numbers)}",
        status="paid",
    )
    return row
