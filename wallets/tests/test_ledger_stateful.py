"""Random sequences of deposits, withdrawals, holds, posts, voids, conversions and repeated
requests; after every step the ledger must still be sound and match a simple model."""

from __future__ import annotations

import itertools
from decimal import ROUND_HALF_EVEN, Decimal

import pytest
from hypothesis import HealthCheck, settings
from hypothesis import strategies as st
from hypothesis.stateful import (
    Bundle,
    RuleBasedStateMachine,
    consumes,
    invariant,
    rule,
    run_state_machine_as_test,
)

from brokercrm.gate import SYSTEM
from identity.models import ClientProfile, Person
from wallets.models import LedgerAccount
from wallets.selectors import ledger_imbalance, ledger_reconcile, trial_balance
from wallets.services import (
    HoldNotPending,
    InsufficientFunds,
    JournalSpec,
    Line,
    fx_quote,
    fx_rate_record,
    hold_create,
    hold_post,
    hold_void,
    journal_post,
    system_account,
    wallet_open,
    wallet_transfer,
)

amounts = st.decimals(min_value=Decimal("0.01"), max_value=Decimal("500"), places=2)
_people = itertools.count(1)


def _profile(world) -> ClientProfile:
    n = next(_people)
    person = Person.objects.create(
        given_name=f"Model{n}", family_name="Client", birth_date="1980-01-01"
    )
    return ClientProfile.objects.create(
        entity=world.eu,
        person=person,
        brand=world.eu_brand,
        given_name=f"Model{n}",
        family_name="Client",
        given_name_latin=f"Model{n}",
        family_name_latin="Client",
        birth_date="1980-01-01",
        residence_country="DE",
        email=f"model{n}@example.com",
        email_canonical=f"model{n}@example.com",
        routing_ruleset="EU/onboarding/*/v1",
    )


def _machine(world):
    class LedgerMachine(RuleBasedStateMachine):
        holds = Bundle("holds")

        def __init__(self) -> None:
            super().__init__()
            profile = _profile(world)
            self.wallets = {c: wallet_open(profile=profile, currency=c) for c in ("EUR", "USD")}
            self.clearing = {
                c: system_account(entity=world.eu, kind="psp_clearing", currency=c)
                for c in ("EUR", "USD")
            }
            self.balance = {"EUR": Decimal(0), "USD": Decimal(0)}
            self.held = {"EUR": Decimal(0), "USD": Decimal(0)}
            self.keys = itertools.count(1)
            self.done: list[tuple[str, JournalSpec]] = []
            self.prefix = f"m{profile.pk}"

        def key(self) -> str:
            return f"{self.prefix}-{next(self.keys)}"

        @rule(currency=st.sampled_from(["EUR", "USD"]), amount=amounts)
        def deposit(self, currency: str, amount: Decimal) -> None:
            spec = JournalSpec(
                type="deposit",
                idempotency_key=self.key(),
                lines=[
                    Line(self.clearing[currency], -amount),
                    Line(self.wallets[currency], amount),
                ],
            )
            journal_post(actor=None, entity=world.eu, spec=spec)
            self.balance[currency] += amount
            self.done.append((currency, spec))

        @rule(currency=st.sampled_from(["EUR", "USD"]), amount=amounts)
        def withdraw(self, currency: str, amount: Decimal) -> None:
            spec = JournalSpec(
                type="withdrawal",
                idempotency_key=self.key(),
                lines=[
                    Line(self.wallets[currency], -amount),
                    Line(self.clearing[currency], amount),
                ],
            )
            try:
                journal_post(actor=None, entity=world.eu, spec=spec)
            except InsufficientFunds:
                assert amount > self.balance[currency] - self.held[currency]
                return
            self.balance[currency] -= amount

        @rule(target=holds, currency=st.sampled_from(["EUR", "USD"]), amount=amounts)
        def reserve(self, currency: str, amount: Decimal):  # type: ignore[no-untyped-def]
            try:
                hold = hold_create(
                    actor=None,
                    account=self.wallets[currency],
                    counter_account=self.clearing[currency],
                    amount=amount,
                    purpose="withdrawal",
                    idempotency_key=self.key(),
                )
            except InsufficientFunds:
                assert amount > self.balance[currency] - self.held[currency]
                return None
            self.held[currency] += amount
            return hold

        @rule(hold=consumes(holds), post=st.booleans())
        def resolve(self, hold, post: bool) -> None:  # type: ignore[no-untyped-def]
            if hold is None:
                return
            (hold_post if post else hold_void)(actor=None, hold=hold)
            self.held[hold.currency] -= hold.amount
            if post:
                self.balance[hold.currency] -= hold.amount
            with pytest.raises(HoldNotPending):
                hold_post(actor=None, hold=hold)

        @rule(amount=amounts, eur_to_usd=st.booleans())
        def convert(self, amount: Decimal, eur_to_usd: bool) -> None:
            source, target = ("EUR", "USD") if eur_to_usd else ("USD", "EUR")
            quote = fx_quote(entity=world.eu, base=source, quote=target)
            try:
                wallet_transfer(
                    actor=SYSTEM,
                    source=self.wallets[source],
                    target=self.wallets[target],
                    amount=amount,
                    idempotency_key=self.key(),
                )
            except InsufficientFunds:
                assert amount > self.balance[source] - self.held[source]
                return
            self.balance[source] -= amount
            self.balance[target] += (amount * quote.rate).quantize(Decimal("1e-8"), ROUND_HALF_EVEN)

        @rule(data=st.data())
        def repeat_a_request(self, data: st.DataObject) -> None:
            if not self.done:
                return
            _, spec = data.draw(st.sampled_from(self.done))
            journal_post(actor=None, entity=world.eu, spec=spec)  # changes nothing

        @invariant()
        def ledger_is_sound(self) -> None:
            checks.append(1)
            for currency, wallet in self.wallets.items():
                row = LedgerAccount.objects.unscoped().get(pk=wallet.pk)
                assert (row.balance, row.held) == (self.balance[currency], self.held[currency])
                assert row.balance - row.held >= 0
            assert ledger_imbalance() == {}
            assert ledger_reconcile(entity=world.eu) == []
            assert all(kinds["net"] == 0 for kinds in trial_balance(entity=world.eu).values())

    return LedgerMachine


checks: list[int] = []


def test_random_money_movements_keep_the_ledger_sound(world):
    checks.clear()
    fx_rate_record(base="EUR", quote="USD", rate="1.0875", source="test")
    run_state_machine_as_test(
        _machine(world),
        settings=settings(
            max_examples=25,
            stateful_step_count=25,
            deadline=None,
            database=None,
            suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
        ),
    )
    # The machine really ran: many examples, each checked after every step.
    assert len(checks) > 300
