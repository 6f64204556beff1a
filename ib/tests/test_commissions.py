from __future__ import annotations

import datetime as dt
import threading
from decimal import Decimal
from itertools import count
from typing import Any

import pytest
from django.db import connection

from ib.models import CommissionLine, IbClosure, ReferralReview
from ib.selectors import ib_ancestors_at, ib_statement
from ib.services import (
    commission_batch_run,
    ib_parent_set,
    ib_reattribute,
    rebate_plan_correct,
    referral_attribute,
    referral_code_create,
)
from ib.tests.factories import account_of, at, deal, ib_of, plan_of, round_trip
from identity.models import ClientProfile
from platforms.tests.factories import client_of
from wallets.models import LedgerAccount
from wallets.tests.factories import assert_ledger_sound

_codes = count(1)
START = dt.datetime(2026, 1, 1, tzinfo=dt.UTC)


def attributed_client(ib: Any, brand: Any) -> Any:
    code = referral_code_create(actor=None, ib=ib, brand=brand, code=f"code-{next(_codes)}")
    profile = client_of(brand, approved=False)
    assert referral_attribute(profile=profile, code=code.code, at=START) is not None
    return profile


def wallet_balance(ib: Any) -> Decimal:
    wallet = LedgerAccount.objects.unscoped().filter(profile=ib.profile, currency="USD").first()
    return wallet.balance if wallet else Decimal(0)


def lines(**filters: Any) -> list[CommissionLine]:
    return list(CommissionLine.objects.unscoped().filter(**filters).order_by("pk"))


def test_rerun_pays_nothing_twice(world):
    # given an IB with one client who closed a 2-lot trade at 10 USD/lot, 70% to tier 0
    plan = plan_of(world.eu)
    ib = ib_of(world.eu_brand, plan)
    account = account_of(attributed_client(ib, world.eu_brand))
    round_trip(account, opened=at(5), volume="2")
    # when the batch runs three times, the last time over every deal
    first = commission_batch_run()
    second = commission_batch_run()
    third = commission_batch_run(full=True)
    # then one line, paid once
    assert (first.lines_created, second.lines_created, third.lines_created) == (1, 0, 0)
    assert wallet_balance(ib) == Decimal("14.00")
    assert [line.status for line in lines(ib=ib)] == ["paid"]
    assert_ledger_sound(world.eu)


def test_reimported_deal_pays_nothing_twice(world):
    ib = ib_of(world.eu_brand, plan_of(world.eu))
    account = account_of(attributed_client(ib, world.eu_brand))
    closing = round_trip(account, opened=at(5))
    commission_batch_run()
    # the same ticket arrives again from the server (the importer upserts on server + ticket)
    deal(account, entry="out", time=closing.time, position=closing.position, ticket=closing.ticket)
    run = commission_batch_run(full=True)
    assert run.lines_created == 0
    assert wallet_balance(ib) == Decimal("7.00")


def test_other_entity_code_attributes_nothing(world):
    eu_ib = ib_of(world.eu_brand, plan_of(world.eu))
    code = referral_code_create(actor=None, ib=eu_ib, brand=world.eu_brand, code="eu-partner")
    uk_client = client_of(world.uk_brand, approved=False)
    assert referral_attribute(profile=uk_client, code=code.code) is None
    review = ReferralReview.objects.unscoped().get(profile=uk_client)
    assert (review.reason, review.code_text, review.entity_id) == (
        "referral_other_entity",
        "eu-partner",
        world.uk.pk,
    )
    round_trip(account_of(uk_client), opened=at(5))
    commission_batch_run()
    assert lines() == []


def test_same_person_ib_in_two_entities_earns_per_entity(world):
    eu_ib = ib_of(world.eu_brand, plan_of(world.eu, per_lot="10"))
    uk_profile = client_of(world.uk_brand, approved=False)
    ClientProfile.objects.unscoped().filter(pk=uk_profile.pk).update(person=eu_ib.person)
    uk_profile.refresh_from_db()
    from ib.services import ib_partner_create

    uk_ib = ib_partner_create(actor=None, profile=uk_profile, plan=plan_of(world.uk, per_lot="20"))
    assert uk_ib.person_id == eu_ib.person_id
    assert uk_ib.pk != eu_ib.pk
    round_trip(account_of(attributed_client(eu_ib, world.eu_brand)), opened=at(5))
    round_trip(account_of(attributed_client(uk_ib, world.uk_brand)), opened=at(6), volume="3")
    commission_batch_run()
    assert [(line.entity_id, line.amount) for line in lines(ib=eu_ib)] == [
        (world.eu.pk, Decimal("7"))
    ]
    assert [(line.entity_id, line.amount) for line in lines(ib=uk_ib)] == [
        (world.uk.pk, Decimal("42"))
    ]
    assert wallet_balance(eu_ib) == Decimal("7.00")
    assert wallet_balance(uk_ib) == Decimal("42.00")
    assert_ledger_sound(world.eu, world.uk)


def test_hierarchy_change_mid_month_pays_the_right_parents(world):
    plan = plan_of(world.eu)
    ib = ib_of(world.eu_brand, plan, "child")
    first_parent = ib_of(world.eu_brand, plan, "first")
    second_parent = ib_of(world.eu_brand, plan, "second")
    grandparent = ib_of(world.eu_brand, plan, "grand")
    ib_parent_set(actor=None, ib=first_parent, parent=grandparent, valid_from=START)
    ib_parent_set(actor=None, ib=ib, parent=first_parent, valid_from=START)
    ib_parent_set(actor=None, ib=ib, parent=second_parent, valid_from=at(15))
    account = account_of(attributed_client(ib, world.eu_brand))
    before = round_trip(account, opened=at(10))
    after = round_trip(account, opened=at(20))
    commission_batch_run()
    assert {(line.ib_id, line.tier, line.amount) for line in lines(deal=before)} == {
        (ib.pk, 0, Decimal("7")),
        (first_parent.pk, 1, Decimal("2")),
        (grandparent.pk, 2, Decimal("1")),
    }
    assert {(line.ib_id, line.tier, line.amount) for line in lines(deal=after)} == {
        (ib.pk, 0, Decimal("7")),
        (second_parent.pk, 1, Decimal("2")),
    }
    assert [a.pk for a in ib_ancestors_at(ib=ib, at=at(10))] == [
        ib.pk,
        first_parent.pk,
        grandparent.pk,
    ]
    assert [a.pk for a in ib_ancestors_at(ib=ib, at=at(20))] == [ib.pk, second_parent.pk]
    assert IbClosure.objects.unscoped().filter(ib=ib, valid_to__isnull=True).count() == 2


def test_plan_correction_adjusts_and_never_pays_twice(world):
    plan = plan_of(world.eu, per_lot="10", split=[100])
    ib = ib_of(world.eu_brand, plan)
    round_trip(account_of(attributed_client(ib, world.eu_brand)), opened=at(5))
    commission_batch_run()
    assert wallet_balance(ib) == Decimal("10.00")
    version = plan.versions.unscoped().get()
    rebate_plan_correct(
        actor=None,
        version=version,
        rates=[{"symbols": [], "amount_per_lot": "12.5"}],
        tier_split=[100],
        min_holding_seconds=60,
        reason="Agreed rate was 12.50",
    )
    commission_batch_run()
    commission_batch_run()
    assert [(line.kind, line.amount, line.status) for line in lines(ib=ib)] == [
        ("commission", Decimal("10"), "paid"),
        ("reversal", Decimal("-10"), "paid"),
        ("adjustment", Decimal("12.5"), "paid"),
    ]
    assert wallet_balance(ib) == Decimal("12.50")
    assert_ledger_sound(world.eu)


def test_scalping_below_minimum_holding_earns_nothing(world):
    ib = ib_of(world.eu_brand, plan_of(world.eu, min_holding=60))
    account = account_of(attributed_client(ib, world.eu_brand))
    round_trip(account, opened=at(5), held=59)
    commission_batch_run()
    assert lines() == []
    assert wallet_balance(ib) == 0


def test_missing_opening_leg_waits_delayed(world):
    ib = ib_of(world.eu_brand, plan_of(world.eu, split=[100]))
    account = account_of(attributed_client(ib, world.eu_brand))
    closing = deal(account, entry="out", time=at(5, 13), position=777)
    commission_batch_run()
    assert [line.status for line in lines(deal=closing)] == ["delayed"]
    assert wallet_balance(ib) == 0
    deal(account, entry="in", time=at(5, 12), position=777)
    commission_batch_run()
    assert [line.status for line in lines(deal=closing)] == ["paid"]
    assert wallet_balance(ib) == Decimal("10.00")


def test_lines_add_up_to_ledger_payouts_to_the_cent(world):
    # 1/3 splits of tiny lots leave fractions of a cent on every line
    plan = plan_of(world.eu, per_lot="7", split=["33.3333", "33.3333", "33.3333"])
    ib = ib_of(world.eu_brand, plan)
    parent = ib_of(world.eu_brand, plan)
    ib_parent_set(actor=None, ib=ib, parent=parent, valid_from=START)
    account = account_of(attributed_client(ib, world.eu_brand))
    for day in range(2, 12):
        round_trip(account, opened=at(day), volume="0.13")
    commission_batch_run()
    for partner in (ib, parent):
        paid = lines(ib=partner)
        assert len(paid) == 10
        assert all(line.paid_amount == line.paid_amount.quantize(Decimal("0.01")) for line in paid)
        assert sum(line.paid_amount for line in paid) == wallet_balance(partner)
        statement = ib_statement(ib=partner, date_from=at(1), date_to=at(28))
        assert statement["totals"]["paid"] == wallet_balance(partner)
        assert statement["totals"]["ledger"] == wallet_balance(partner)
    assert wallet_balance(ib) == Decimal("3.03")  # 10 x 0.13 x 7 x 33.3333% = 3.0333303
    assert_ledger_sound(world.eu)


def test_reattribution_is_audited_and_applies_from_its_date(world):
    from audit.models import AuditEvent

    plan = plan_of(world.eu, split=[100])
    old, new = ib_of(world.eu_brand, plan), ib_of(world.eu_brand, plan)
    profile = attributed_client(old, world.eu_brand)
    ib_reattribute(actor=None, profile=profile, ib=new, valid_from=at(15), reason="Client asked")
    account = account_of(profile)
    round_trip(account, opened=at(10))
    round_trip(account, opened=at(20))
    commission_batch_run()
    assert [line.ib_id for line in lines()] == [old.pk, new.pk]
    assert AuditEvent.objects.filter(action="ib.reattribute").count() == 1


@pytest.mark.django_db(transaction=True)
def test_two_concurrent_runs_pay_nothing_twice(world):
    plan = plan_of(world.eu, split=[100])
    ib = ib_of(world.eu_brand, plan)
    account = account_of(attributed_client(ib, world.eu_brand))
    for day in range(2, 8):
        round_trip(account, opened=at(day))
    barrier = threading.Barrier(2)
    errors: list[BaseException] = []

    def run() -> None:
        try:
            barrier.wait()
            commission_batch_run()
        except BaseException as exc:
            errors.append(exc)
        finally:
            connection.close()

    threads = [threading.Thread(target=run) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert errors == []
    assert len(lines(ib=ib)) == 6
    assert {line.status for line in lines(ib=ib)} == {"paid"}
    assert wallet_balance(ib) == Decimal("60.00")
    assert_ledger_sound(world.eu)
