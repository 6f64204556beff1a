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
