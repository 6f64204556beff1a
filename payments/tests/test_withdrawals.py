"""Withdrawals: blocks from any entity, return to source, approvals, payouts, FX."""

from __future__ import annotations

import time
from decimal import Decimal

import pytest

from brokercrm.errors import ApplicationError
from brokercrm.events.models import Event
from brokercrm.gate import SYSTEM
from identity.services import person_flags_set
from payments.models import BankAccount, Deposit, Withdrawal
from payments.services import (
    WithdrawalRefused,
    withdrawal_approve,
    withdrawal_payout,
    withdrawal_reject,
    withdrawal_request,
)
from wallets.models import Hold, LedgerAccount
from wallets.services import fx_rate_record, wallet_open
from wallets.tests.factories import assert_ledger_sound, fund

from .conftest import IBAN_OK, approved_client, configure_simulator
from .factories import approved_deposit


def _card_deposit(world, profile, amount: str, card: str = "fp-card-1") -> Deposit:
    """A credited card deposit, as the webhook leaves it."""
    journal = fund(wallet_open(profile=profile, currency="EUR"), amount)
    deposit, _attempt = approved_deposit(
        world, profile, amount, status="credited", journal=journal, instrument_fingerprint=card
    )
    return deposit


def _paid_out(withdrawal: Withdrawal, timeout: float = 15) -> None:
    """Send the withdrawal's legs and wait for the PSP's webhooks to settle them."""
    withdrawal_payout(withdrawal_id=withdrawal.pk)
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        withdrawal.refresh_from_db()
        if withdrawal.status == "paid":
            return
        time.sleep(0.1)


def _bank(world, profile, verified=True) -> BankAccount:
    return BankAccount.objects.create(
        entity=world.eu, profile=profile, iban=IBAN_OK, holder="Ivan Petrov", verified=verified
    )


def test_a_risk_hold_raised_in_another_entity_refuses_the_withdrawal(payments_world):
    profile = approved_client(payments_world)
    fund(wallet_open(profile=profile, currency="EUR"), "500")
    person_flags_set(
        person=profile.person,
        reason="chargeback pattern seen by UK risk",
        entity=payments_world.uk,
        risk_hold=True,
    )
    with pytest.raises(WithdrawalRefused) as caught:
        withdrawal_request(
            actor=SYSTEM,
            profile=profile,
            amount="100",
            currency="EUR",
            idempotency_key="w-1",
            bank_account=_bank(payments_world, profile),
        )
    assert caught.value.code == "withdrawal_blocked"
    assert caught.value.extra["reasons"] == ["risk_hold"]
    assert not Withdrawal.objects.unscoped().exists()
    assert not Hold.objects.unscoped().exists()


def test_return_to_source_refunds_the_card_first_and_the_rest_goes_to_the_bank(payments_world):
    profile = approved_client(payments_world)
    _card_deposit(payments_world, profile, "300")
    fund(LedgerAccount.objects.unscoped().get(profile=profile, currency="EUR"), "400")  # by wire
    with pytest.raises(WithdrawalRefused) as caught:
        withdrawal_request(
            actor=SYSTEM, profile=profile, amount="500", currency="EUR", idempotency_key="w-nobank"
        )
    assert caught.value.code == "bank_account_required"
    bank = _bank(payments_world, profile)
    withdrawal = withdrawal_request(
        actor=SYSTEM, profile=profile, amount="500", currency="EUR", idempotency_key="w-split"
    )
    legs = [
        (leg.destination, leg.amount, leg.hold.amount, leg.hold.status)
        for leg in withdrawal.legs.model.objects.unscoped().filter(withdrawal=withdrawal)
    ]
    assert legs == [
        ("card", Decimal("300"), Decimal("300"), "pending"),
        ("bank", Decimal("200"), Decimal("200"), "pending"),
    ]
    assert withdrawal.legs.model.objects.unscoped().get(number=2).bank_account == bank
    wallet = LedgerAccount.objects.unscoped().get(profile=profile, currency="EUR")
    assert (wallet.balance, wallet.held) == (Decimal("700"), Decimal("500"))
    # A second withdrawal refunds nothing more to the card: it was used up.
    second = withdrawal_request(
        actor=SYSTEM, profile=profile, amount="100", currency="EUR", idempotency_key="w-second"
    )
    assert [
        leg.destination for leg in second.legs.model.objects.unscoped().filter(withdrawal=second)
    ] == ["bank"]
    assert_ledger_sound(payments_world.eu)


def test_a_large_withdrawal_needs_finance_and_compliance_as_two_people(
    payments_world, django_capture_on_commit_callbacks
):
    profile = approved_client(payments_world)
    fund(wallet_open(profile=profile, currency="EUR"), "20000")
    _bank(payments_world, profile)
    withdrawal = withdrawal_request(
        actor=payments_world.eu_finance,
        profile=profile,
        amount="15000",
        currency="EUR",
        idempotency_key="w-big",
    )
    assert (withdrawal.status, withdrawal.approval_needed) == (
        "pending_approval",
        "finance_compliance",
    )
    world = payments_world
    # The requester may not approve; another finance officer may.
    with pytest.raises(ApplicationError) as caught:
        withdrawal_approve(actor=world.eu_finance, withdrawal=withdrawal, reason="ok")
    assert caught.value.code == "maker_checker_same_person"
    withdrawal = withdrawal_approve(actor=world.eu_finance_2, withdrawal=withdrawal, reason="ok")
    assert withdrawal.status == "pending_approval"
    # The same person approving twice is refused; finance cannot give compliance's approval.
    with pytest.raises(ApplicationError) as caught:
        withdrawal_approve(actor=world.eu_finance_2, withdrawal=withdrawal, reason="again")
    assert caught.value.code == "maker_checker_same_person"
    # Another entity's staff cannot touch it at all.
    with pytest.raises(ApplicationError) as caught:
        withdrawal_approve(actor=world.uk_finance, withdrawal=withdrawal, reason="ok")
    assert caught.value.code == "permission_denied"
    with django_capture_on_commit_callbacks() as callbacks:
        withdrawal = withdrawal_approve(
            actor=world.eu_compliance, withdrawal=withdrawal, reason="source of funds documented"
        )
    assert withdrawal.status == "approved"
    assert (withdrawal.finance_approver, withdrawal.compliance_approver) == (
        world.eu_finance_2,
        world.eu_compliance,
    )
    assert len(callbacks) == 1  # the payout task


def test_small_withdrawals_of_low_risk_clients_are_approved_automatically(
    payments_world, django_capture_on_commit_callbacks
):
    profile = approved_client(payments_world)
    fund(wallet_open(profile=profile, currency="EUR"), "2000")
    _bank(payments_world, profile)
    with django_capture_on_commit_callbacks() as callbacks:
        small = withdrawal_request(
            actor=SYSTEM, profile=profile, amount="900", currency="EUR", idempotency_key="w-small"
        )
    assert (small.status, small.approval_needed) == ("approved", "auto")
    assert len(callbacks) == 1
    medium = withdrawal_request(
        actor=SYSTEM, profile=profile, amount="1001", currency="EUR", idempotency_key="w-medium"
    )
    assert (medium.status, medium.approval_needed) == ("pending_approval", "finance")
    rejected = withdrawal_reject(
        actor=payments_world.eu_finance, withdrawal=medium, reason="client asked to cancel"
    )
    assert rejected.status == "rejected"
    wallet = LedgerAccount.objects.unscoped().get(profile=profile, currency="EUR")
    assert (wallet.balance, wallet.held) == (Decimal("2000"), Decimal("900"))
    assert_ledger_sound(payments_world.eu)


def test_repeated_and_bad_withdrawal_requests(payments_world):
    profile = approved_client(payments_world)
    fund(wallet_open(profile=profile, currency="EUR"), "100")
    _bank(payments_world, profile)
    first = withdrawal_request(
        actor=SYSTEM, profile=profile, amount="50", currency="EUR", idempotency_key="w-rep"
    )
    assert (
        withdrawal_request(
            actor=SYSTEM, profile=profile, amount="50", currency="EUR", idempotency_key="w-rep"
        ).pk
        == first.pk
    )
    for args, code in [
        ({"amount": "60", "idempotency_key": "w-rep"}, "idempotency_key_reused"),
        ({"amount": "51"}, "insufficient_funds"),
        ({"amount": "0"}, "amount_invalid"),
        ({"amount": "1.001"}, "amount_invalid"),
        ({"currency": "USD"}, "wallet_not_found"),
    ]:
        call = {
            "actor": SYSTEM,
            "profile": profile,
            "amount": "10",
            "currency": "EUR",
            "idempotency_key": f"w-{code}",
            **args,
        }
        with pytest.raises(ApplicationError) as caught:
            withdrawal_request(**call)
        assert caught.value.code == code
    assert Withdrawal.objects.unscoped().count() == 1


@pytest.mark.django_db(transaction=True)
def test_a_cross_currency_bank_payout_converts_at_the_rate_fixed_on_request(
    payments_world, psp_simulator, live_server, eager_tasks
):
    configure_simulator(payments_world, psp_simulator, live_server.url)
    fx_rate_record(base="EUR", quote="USD", rate="1.10", source="ECB")
    profile = approved_client(payments_world)
    fund(wallet_open(profile=profile, currency="EUR"), "1000")
    _bank(payments_world, profile)
    withdrawal = withdrawal_request(
        actor=SYSTEM,
        profile=profile,
        amount="500",
        currency="EUR",
        payout_currency="USD",
        idempotency_key="w-fx",
    )
    assert withdrawal.status == "approved"
    # 1.10 less the entity's 50 bps markup.
    assert withdrawal.fx_rate == Decimal("1.0945")
    leg = withdrawal.legs.model.objects.unscoped().get(withdrawal=withdrawal)
    assert leg.payout_amount == Decimal("547.25")
    _paid_out(withdrawal)
    assert withdrawal.status == "paid"
    wallet = LedgerAccount.objects.unscoped().get(profile=profile, currency="EUR")
    assert (wallet.balance, wallet.held) == (Decimal("500"), Decimal("0"))
    usd_clearing = LedgerAccount.objects.unscoped().get(
        entity=payments_world.eu, kind="psp_clearing", currency="USD"
    )
    assert usd_clearing.balance == Decimal("547.25")
    paid = Event.objects.get(type="payments.withdrawal_paid")
    assert (paid.entity_id, paid.profile_id, paid.person_id) == (
        profile.entity_id,
        profile.pk,
        profile.person_id,
    )
    assert paid.payload == {
        "withdrawal_id": withdrawal.pk,
        "amount": "500.00000000",
        "currency": "EUR",
        "payout_amount": "547.25000000",
        "payout_currency": "USD",
        "paid": {"USD": "547.25000000"},
    }
    assert_ledger_sound(payments_world.eu)


def test_a_cross_currency_withdrawal_refunds_the_card_in_its_own_currency(
    payments_world, psp_simulator, live_server, eager_tasks
):
    """Return to source sends the card its money back in EUR; only what goes to the bank is
    converted to the payout currency, at the rate fixed on request."""
    configure_simulator(payments_world, psp_simulator, live_server.url)
    fx_rate_record(base="EUR", quote="USD", rate="1.10", source="ECB")
    profile = approved_client(payments_world)
    _card_deposit(payments_world, profile, "300")
    fund(LedgerAccount.objects.unscoped().get(profile=profile, currency="EUR"), "700")  # by wire
    _bank(payments_world, profile)
    withdrawal = withdrawal_request(
        actor=SYSTEM,
        profile=profile,
        amount="500",
        currency="EUR",
        payout_currency="USD",
        idempotency_key="w-fx-split",
    )
    legs = withdrawal.legs.model.objects.unscoped().filter(withdrawal=withdrawal).order_by("number")
    assert [(leg.destination, leg.amount, leg.payout_amount, leg.payout) for leg in legs] == [
        ("card", Decimal("300"), None, (Decimal("300"), "EUR")),
        ("bank", Decimal("200"), Decimal("218.90"), (Decimal("218.90"), "USD")),
    ]
    _paid_out(withdrawal)
    assert withdrawal.status == "paid"
    clearing = {
        account.currency: account.balance
        for account in LedgerAccount.objects.unscoped().filter(
            entity=payments_world.eu, kind="psp_clearing"
        )
    }
    # The card deposit came in through EUR clearing (-300 there by the test's funding) and
    # went back out; the bank leg left through USD clearing.
    assert clearing["USD"] == Decimal("218.90")
    fx = {
        account.currency: account.balance
        for account in LedgerAccount.objects.unscoped().filter(
            entity=payments_world.eu, kind="fx_position"
        )
    }
    assert (fx["EUR"], fx["USD"]) == (Decimal("200"), Decimal("-218.90"))
    paid = Event.objects.get(type="payments.withdrawal_paid")
    assert paid.payload["paid"] == {"EUR": "300.00000000", "USD": "218.90000000"}
    assert_ledger_sound(payments_world.eu)
