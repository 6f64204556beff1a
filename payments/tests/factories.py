"""A deposit as the attempt loop leaves it (PSP approved, webhook awaited) or as the webhook
leaves it (credited), without going through the simulator."""

from __future__ import annotations

import itertools
from decimal import Decimal
from typing import Any

from payments.models import Deposit, DepositAttempt, PaymentMethod
from wallets.services import wallet_open

_keys = itertools.count(1)


def approved_deposit(
    world: Any,
    profile: Any,
    amount: str,
    *,
    psp_transaction_id: str | None = None,
    merchant: str = "eu-cards-1",
    **fields: Any,
) -> tuple[Deposit, DepositAttempt]:
    number = next(_keys)
    deposit = Deposit.objects.create(
        entity=world.eu,
        profile=profile,
        wallet=wallet_open(profile=profile, currency="EUR"),
        amount=Decimal(amount),
        currency="EUR",
        method=PaymentMethod.objects.get(code="card"),
        idempotency_key=f"factory-{number}",
        request_hash="factory",
        created_by="test",
        **{"status": "authorised", **fields},
    )
    attempt = DepositAttempt.objects.create(
        entity=world.eu,
        deposit=deposit,
        merchant_account=world.merchants[merchant],
        number=1,
        reference=f"dep{deposit.pk}-1",
        status="approved",
        psp_transaction_id=psp_transaction_id or f"tx-{deposit.pk}",
    )
    return deposit, attempt


def stuck_deposit(
    world: Any,
    profile: Any,
    amount: str,
    *,
    merchant: str = "eu-cards-1",
    attempts: list[str] | None = None,
) -> Deposit:
    """A deposit a killed worker left `processing`, with attempts in the given statuses (sent,
    unknown, declined...) and no answer recorded for the open ones."""
    number = next(_keys)
    deposit = Deposit.objects.create(
        entity=world.eu,
        profile=profile,
        wallet=wallet_open(profile=profile, currency="EUR"),
        amount=Decimal(amount),
        currency="EUR",
        method=PaymentMethod.objects.get(code="card"),
        idempotency_key=f"factory-{number}",
        request_hash="factory",
        created_by="test",
    )
    for position, status in enumerate(attempts if attempts is not None else ["sent"], start=1):
        DepositAttempt.objects.create(
            entity=world.eu,
            deposit=deposit,
            merchant_account=world.merchants[merchant],
            number=position,
            reference=f"dep{deposit.pk}-{position}",
            status=status,
        )
    return deposit
