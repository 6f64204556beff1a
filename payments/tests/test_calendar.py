"""Withdrawals on any date: the cooling-off and the automatic approval with the clock set to
each day of `conftest.CLOCK_DAYS`, and the ledger still balanced."""

from __future__ import annotations

from datetime import timedelta
from decimal import Decimal

import pytest
from django.utils import timezone

from brokercrm.gate import SYSTEM
from kyc.models import KycFile
from payments.services import WithdrawalRefused, withdrawal_request
from wallets.models import LedgerAccount
from wallets.services import wallet_open
from wallets.tests.factories import assert_ledger_sound, fund

from .conftest import approved_client
from .test_withdrawals import _bank


def test_the_first_withdrawal_waits_for_the_cooling_off_on_any_date(clock, payments_world):
    profile = approved_client(payments_world)
    KycFile.objects.unscoped().filter(profile=profile).update(
        earliest_withdrawal_at=timezone.now() + timedelta(hours=2)
    )
    fund(wallet_open(profile=profile, currency="EUR"), "1500")
    _bank(payments_world, profile)
    with pytest.raises(WithdrawalRefused) as refused:
        withdrawal_request(
            actor=SYSTEM, profile=profile, amount="900", currency="EUR", idempotency_key="w-early"
        )
    assert refused.value.code == "withdrawal_blocked"
    assert refused.value.extra["reasons"] == ["cooling_off"]
    clock.shift(timedelta(hours=2, minutes=1))
    withdrawal = withdrawal_request(
        actor=SYSTEM, profile=profile, amount="900", currency="EUR", idempotency_key="w-later"
    )
    assert (withdrawal.status, withdrawal.approval_needed) == ("approved", "auto")
    wallet = LedgerAccount.objects.unscoped().get(profile=profile, currency="EUR")
    assert (wallet.balance, wallet.held) == (Decimal("1500"), Decimal("900"))
    assert_ledger_sound(payments_world.eu)
