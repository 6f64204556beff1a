from __future__ import annotations

import datetime as dt
import threading
from decimal import ROUND_HALF_EVEN, Decimal
from itertools import count
from typing import Any

import pytest
from django.db import connection, transaction

from brokercrm.errors import Conflict, ValidationFailed
from brokercrm.gate import SYSTEM
from ib.models import CommissionLine, CommissionRun, IbAssignment, IbClosure, ReferralReview
from ib.selectors import ib_ancestors_at, ib_statement
from ib.services import (
    commission_batch_run,
    ib_parent_set,
    ib_reattribute,
    rebate_plan_correct,
    rebate_plan_create,
    rebate_plan_publish,
    referral_attribute,
    referral_code_create,
)
from ib.tests.factories import account_of, at, deal, ib_of, plan_of, round_trip
from identity.models import ClientProfile
from platforms.models import Deal
from platforms.tests.factories import client_of
from wallets.models import LedgerAccount
from wallets.services import fx_rate_record
from wallets.tests.factories import assert_ledger_sound

_codes = count(1)
START = dt.datetime(2026, 1, 1, tzinfo=dt.UTC)


def attributed_client(ib: Any, brand: Any) -> Any:
    code = referral_code_create(actor=SYSTEM, ib=ib, brand=brand, code=f"code-{next(_codes)}")
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
    code = referral_code_create(actor=SYSTEM, ib=eu_ib, brand=world.eu_brand, code="eu-partner")
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

    uk_ib = ib_partner_create(
        actor=SYSTEM, profile=uk_profile, plan=plan_of(world.uk, per_lot="20")
    )
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
    ib_parent_set(actor=SYSTEM, ib=first_parent, parent=grandparent, valid_from=START)
    ib_parent_set(actor=SYSTEM, ib=ib, parent=first_parent, valid_from=START)
    ib_parent_set(actor=SYSTEM, ib=ib, parent=second_parent, valid_from=at(15))
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
        actor=SYSTEM,
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
    ib_parent_set(actor=SYSTEM, ib=ib, parent=parent, valid_from=START)
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
    ib_reattribute(actor=SYSTEM, profile=profile, ib=new, valid_from=at(15), reason="Client asked")
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


def test_a_correction_can_itself_be_corrected_and_nets_once(world):
    plan = plan_of(world.eu, per_lot="10", split=[100])
    ib = ib_of(world.eu_brand, plan)
    round_trip(account_of(attributed_client(ib, world.eu_brand)), opened=at(5))
    commission_batch_run()
    first = plan.versions.unscoped().get()
    second = rebate_plan_correct(
        actor=SYSTEM,
        version=first,
        rates=[{"symbols": [], "amount_per_lot": "12.5"}],
        tier_split=[100],
        min_holding_seconds=60,
        reason="Agreed rate was 12.50",
    )
    commission_batch_run()
    third = rebate_plan_correct(
        actor=SYSTEM,
        version=second,
        rates=[{"symbols": [], "amount_per_lot": "11"}],
        tier_split=[100],
        min_holding_seconds=60,
        reason="12.50 was for gold only",
    )
    commission_batch_run()
    commission_batch_run(full=True)
    assert [
        (line.kind, line.plan_version_id, line.amount, line.status) for line in lines(ib=ib)
    ] == [
        ("commission", first.pk, Decimal("10"), "paid"),
        ("reversal", first.pk, Decimal("-10"), "paid"),
        ("adjustment", second.pk, Decimal("12.5"), "paid"),
        ("reversal", second.pk, Decimal("-12.5"), "computed"),
        ("adjustment", third.pk, Decimal("11"), "computed"),
    ]
    # 12.50 was paid; the second correction nets -1.50, which waits for future earnings
    assert wallet_balance(ib) == Decimal("12.50")
    assert sum(line.paid_amount or 0 for line in lines(ib=ib)) == Decimal("12.50")
    # the corrected versions are closed to further corrections; nothing was written
    with pytest.raises(ValidationFailed) as refused:
        rebate_plan_correct(
            actor=SYSTEM,
            version=first,
            rates=[{"symbols": [], "amount_per_lot": "1"}],
            tier_split=[100],
            reason="again",
        )
    assert refused.value.code == "version_corrected"
    assert plan.versions.unscoped().count() == 3
    assert_ledger_sound(world.eu)


def test_a_correction_that_lowers_the_rate_waits_for_future_earnings(world):
    plan = plan_of(world.eu, per_lot="10", split=[100])
    ib = ib_of(world.eu_brand, plan)
    account = account_of(attributed_client(ib, world.eu_brand))
    round_trip(account, opened=at(5))
    commission_batch_run()
    rebate_plan_correct(
        actor=SYSTEM,
        version=plan.versions.unscoped().get(),
        rates=[{"symbols": [], "amount_per_lot": "4"}],
        tier_split=[100],
        min_holding_seconds=60,
        reason="Overpaid",
    )
    commission_batch_run()
    # -10 + 4 = -6 open: nothing paid back or out
    assert wallet_balance(ib) == Decimal("10.00")
    assert {line.status for line in lines(ib=ib, kind__in=["reversal", "adjustment"])} == {
        "computed"
    }
    round_trip(account, opened=at(6), volume="2")  # earns 8 under the correction
    commission_batch_run()
    assert wallet_balance(ib) == Decimal("12.00")  # 10 paid, then -6 + 8
    assert {line.status for line in lines(ib=ib)} == {"paid"}
    assert sum(line.paid_amount for line in lines(ib=ib)) == Decimal("12.00")
    assert_ledger_sound(world.eu)


def shared_plan(entity: Any, rates: list[dict[str, Any]], **options: Any) -> Any:
    plan = rebate_plan_create(
        actor=SYSTEM, entity=entity, name=f"Share {next(_codes)}", currency="USD"
    )
    rebate_plan_publish(
        actor=SYSTEM,
        plan=plan,
        valid_from=dt.datetime(2020, 1, 1, tzinfo=dt.UTC),
        rates=rates,
        tier_split=options.get("split", [100]),
        per_trade_ceiling=options.get("ceiling"),
        min_holding_seconds=60,
    )
    return plan


def test_share_of_spread_and_of_commission(world):
    plan = shared_plan(
        world.eu,
        [
            {"basis": "spread_share", "spread_per_lot": "8", "share_percent": "25"},
            {"basis": "commission_share", "symbols": ["XAUUSD"], "share_percent": "40"},
        ],
        split=[75, 25],
    )
    ib = ib_of(world.eu_brand, plan)
    parent = ib_of(world.eu_brand, plan)
    ib_parent_set(actor=SYSTEM, ib=ib, parent=parent, valid_from=START)
    account = account_of(attributed_client(ib, world.eu_brand))
    # 3 lots EURUSD: 25% of 8 x 3 = 6 → 4.50 / 1.50
    round_trip(account, opened=at(5), volume="3")
    # gold: the client paid 3.50 to open and 3.50 to close → 40% of 7 = 2.80 → 2.10 / 0.70
    position = 90001
    deal(account, entry="in", time=at(6), position=position, symbol="XAUUSD", commission="-3.5")
    deal(
        account, entry="out", time=at(6, 14), position=position, symbol="XAUUSD", commission="-3.5"
    )
    commission_batch_run()
    assert sorted((line.ib_id, line.amount) for line in lines()) == sorted(
        [
            (ib.pk, Decimal("4.5")),
            (parent.pk, Decimal("1.5")),
            (ib.pk, Decimal("2.1")),
            (parent.pk, Decimal("0.7")),
        ]
    )
    assert (wallet_balance(ib), wallet_balance(parent)) == (Decimal("6.60"), Decimal("2.20"))
    statement = ib_statement(ib=ib, date_from=at(1), date_to=at(28))
    assert [row["rate"] for row in statement["lines"]] == [
        "*: 25% of 8/lot spread",
        "XAUUSD: 40% of commission",
    ]
    assert_ledger_sound(world.eu)


def test_commission_share_of_another_currency_waits_for_the_fx_rate(world):
    plan = shared_plan(world.eu, [{"basis": "commission_share", "share_percent": "50"}])
    ib = ib_of(world.eu_brand, plan)
    account = account_of(attributed_client(ib, world.eu_brand))
    account.currency = "EUR"
    account.save(update_fields=["currency"])
    position = 90002
    deal(account, entry="in", time=at(7), position=position, commission="-2")
    closing = deal(account, entry="out", time=at(7, 15), position=position, commission="-2")
    commission_batch_run()
    assert [line.status for line in lines(deal=closing)] == ["delayed"]
    assert wallet_balance(ib) == 0
    fx_rate_record(base="EUR", quote="USD", rate="1.1", source="ECB", as_of=at(7, 9))
    fx_rate_record(base="EUR", quote="USD", rate="1.3", source="ECB", as_of=at(8))  # later
    commission_batch_run()
    # 50% of 4 EUR at 1.1 = 2.20 USD
    assert [(line.status, line.amount) for line in lines(deal=closing)] == [
        ("paid", Decimal("2.2"))
    ]
    assert wallet_balance(ib) == Decimal("2.20")
    assert_ledger_sound(world.eu)


@pytest.mark.parametrize(
    "rate",
    [
        {"basis": "spread_share", "spread_per_lot": "8"},
        {"basis": "commission_share", "share_percent": "120"},
        {"basis": "per_lot", "amount_per_lot": "ten"},
        {"basis": "per_lot", "amount_per_lot": 1.5},
        {"basis": "per_lot", "amount_per_lot": "-1"},
        {"basis": "turnover", "amount_per_lot": "1"},
    ],
)
def test_bad_rates_are_refused_and_nothing_is_written(world, rate):
    plan = rebate_plan_create(actor=SYSTEM, entity=world.eu, name="Bad", currency="USD")
    with pytest.raises(ValidationFailed) as refused:
        rebate_plan_publish(
            actor=SYSTEM,
            plan=plan,
            valid_from=dt.datetime(2020, 1, 1, tzinfo=dt.UTC),
            rates=[rate],
            tier_split=[100],
        )
    assert refused.value.code == "rate_invalid"
    assert not plan.versions.unscoped().exists()


def test_overlapping_attributions_are_refused_whole(world):
    plan = plan_of(world.eu, split=[100])
    first, second = ib_of(world.eu_brand, plan), ib_of(world.eu_brand, plan)
    profile = attributed_client(first, world.eu_brand)
    # bad data: a second open attribution of the same client, written around the services
    IbAssignment.objects.unscoped().create(
        entity=world.eu, profile=profile, ib=second, valid_from=START, source="manager"
    )
    round_trip(account_of(profile), opened=at(5))
    runs = CommissionRun.objects.count()
    with pytest.raises(Conflict) as refused:
        commission_batch_run()
    assert refused.value.code == "commission_ambiguous"
    assert lines() == []
    assert CommissionRun.objects.count() == runs
    assert (wallet_balance(first), wallet_balance(second)) == (0, 0)


def test_lines_keep_their_deal_ib_and_version(world):
    from django.db import IntegrityError, transaction

    plan = plan_of(world.eu, split=[100])
    ib = ib_of(world.eu_brand, plan)
    closing = round_trip(account_of(attributed_client(ib, world.eu_brand)), opened=at(5))
    commission_batch_run()
    statements = [
        ("DELETE FROM platforms_deal WHERE id = %s", closing.pk),
        ("DELETE FROM ib_rebateplanversion WHERE plan_id = %s", plan.pk),
    ]
    for sql, key in statements:
        with pytest.raises(IntegrityError), transaction.atomic(), connection.cursor() as cursor:
            cursor.execute(sql, [key])
    assert len(lines(ib=ib)) == 1


@pytest.mark.django_db(transaction=True)
def test_a_deal_committed_late_with_a_lower_id_is_still_paid(world):
    from django.db import transaction

    from platforms.selectors import DEAL_IMPORT_LOCK

    plan = plan_of(world.eu, split=[100])
    ib = ib_of(world.eu_brand, plan)
    account = account_of(attributed_client(ib, world.eu_brand))
    inserted, release = threading.Event(), threading.Event()
    errors: list[BaseException] = []

    def slow_import() -> None:
        try:
            with transaction.atomic(), connection.cursor() as cursor:
                cursor.execute("SELECT pg_advisory_xact_lock_shared(%s)", [DEAL_IMPORT_LOCK])
                round_trip(account, opened=at(3))  # lower ids, committed last
                inserted.set()
                release.wait(10)
        except BaseException as exc:
            errors.append(exc)
        finally:
            connection.close()

    importer = threading.Thread(target=slow_import)
    importer.start()
    assert inserted.wait(10)
    round_trip(account, opened=at(4))  # higher ids, committed first
    batch = threading.Thread(target=lambda: (commission_batch_run(), connection.close()))
    batch.start()
    batch.join(0.5)
    assert batch.is_alive()  # waits for the open import instead of skipping past it
    release.set()
    importer.join()
    batch.join()
    commission_batch_run()
    assert errors == []
    assert len(lines(ib=ib)) == 2
    assert wallet_balance(ib) == Decimal("20.00")


@pytest.mark.django_db
def test_database_half_even_rounding_matches_decimal():
    import random

    rng = random.Random(7)
    values = [Decimal(n) / 1000 for n in range(-3000, 3001, 5)]  # every midpoint near zero
    values += [Decimal(rng.randrange(-(10**12), 10**12)) / 10**8 for _ in range(2000)]
    values += [Decimal("0.125"), Decimal("-0.125"), Decimal("2.5"), Decimal("-2.5"), Decimal(0)]
    with connection.cursor() as cursor:
        for scale in (0, 2, 3):
            cursor.execute(
                "SELECT ib_round_half_even(x, %s) FROM unnest(%s::numeric[]) WITH ORDINALITY"
                " AS t(x, n) ORDER BY n",
                [scale, values],
            )
            got = [row[0] for row in cursor.fetchall()]
            quantum = Decimal(1).scaleb(-scale)
            assert got == [v.quantize(quantum, rounding=ROUND_HALF_EVEN) for v in values]


def test_a_plan_change_never_reprices_deals_made_before_it(world):
    from django.utils import timezone

    from ib.services import ib_partner_update

    old_plan = plan_of(world.eu, per_lot="10", split=[100], name="Old")
    new_plan = plan_of(world.eu, per_lot="3", split=[100], name="New")
    ib = ib_of(world.eu_brand, old_plan)
    account = account_of(attributed_client(ib, world.eu_brand))
    now = timezone.now()
    before = round_trip(account, opened=now - dt.timedelta(hours=5))
    ib_partner_update(actor=SYSTEM, ib=ib, plan=new_plan, reason="Moved to the new grid")
    after = round_trip(account, opened=now + dt.timedelta(minutes=1), held=120)
    # the batch sees both deals only after the change
    commission_batch_run()
    assert [(line.deal_id, line.amount) for line in lines(ib=ib)] == [
        (before.pk, Decimal("10")),
        (after.pk, Decimal("3")),
    ]
    with pytest.raises(ValidationFailed) as refused:
        ib_partner_update(
            actor=SYSTEM,
            ib=ib,
            plan=old_plan,
            plan_from=now - dt.timedelta(days=1),
            reason="backdated",
        )
    assert refused.value.code == "date_invalid"
    assert ib.plan_periods.unscoped().count() == 2


def test_a_suspended_ib_is_paid_after_reactivation_only(world):
    from ib.services import ib_partner_update

    ib = ib_of(world.eu_brand, plan_of(world.eu, split=[100]))
    account = account_of(attributed_client(ib, world.eu_brand))
    ib_partner_update(actor=SYSTEM, ib=ib, status="suspended", reason="Complaint under review")
    round_trip(account, opened=at(5))
    commission_batch_run()
    assert [line.status for line in lines(ib=ib)] == ["computed"]
    assert wallet_balance(ib) == 0
    ib_partner_update(actor=SYSTEM, ib=ib, status="active", reason="Complaint closed")
    commission_batch_run()
    assert [line.status for line in lines(ib=ib)] == ["paid"]
    assert wallet_balance(ib) == Decimal("10.00")
    assert_ledger_sound(world.eu)


def test_the_depth_in_force_at_the_deals_time_decides_how_many_tiers_earn(world):
    from django.utils import timezone

    from ib.services import ib_programme_set

    plan = plan_of(world.eu, split=[70, 20, 10])
    top, middle, ib = (ib_of(world.eu_brand, plan) for _ in range(3))
    ib_parent_set(actor=SYSTEM, ib=middle, parent=top, valid_from=START)
    ib_parent_set(actor=SYSTEM, ib=ib, parent=middle, valid_from=START)
    account = account_of(attributed_client(ib, world.eu_brand))
    now = timezone.now()
    early = round_trip(account, opened=now - dt.timedelta(hours=3))
    ib_programme_set(actor=SYSTEM, entity=world.eu, max_depth=1, reason="Direct IBs only")
    late = round_trip(account, opened=now + dt.timedelta(minutes=1), held=120)
    commission_batch_run()
    assert sorted(line.tier for line in lines(deal=early)) == [0, 1, 2]
    assert [line.tier for line in lines(deal=late)] == [0]
    with pytest.raises(ValidationFailed) as refused:
        ib_programme_set(actor=SYSTEM, entity=world.eu, max_depth=0, reason="none")
    assert refused.value.code == "depth_invalid"


def test_a_deal_linked_to_its_account_after_a_run_is_still_paid(world):
    from platforms.services import deals_link

    ib = ib_of(world.eu_brand, plan_of(world.eu, split=[100]))
    account = account_of(attributed_client(ib, world.eu_brand))
    # imported before the login was known to be ours: no account yet
    closing = round_trip(account, opened=at(5))
    Deal.objects.unscoped().filter(position=closing.position).update(account=None)
    commission_batch_run()
    assert lines() == []
    round_trip(account, opened=at(6))  # a later deal moves the id watermark past it
    commission_batch_run()
    assert len(lines()) == 1
    with transaction.atomic():
        assert deals_link(account) == 2  # the opening leg and the closing deal
    commission_batch_run()
    commission_batch_run()
    assert sorted(line.deal_id for line in lines(ib=ib)) == sorted([closing.pk, lines()[0].deal_id])
    assert wallet_balance(ib) == Decimal("20.00")
    assert_ledger_sound(world.eu)


def test_a_backdated_parent_change_leaves_paid_deals_and_later_runs_alone(world):
    plan = plan_of(world.eu, split=[70, 30])
    ib, first_parent, second_parent = (ib_of(world.eu_brand, plan) for _ in range(3))
    ib_parent_set(actor=SYSTEM, ib=ib, parent=first_parent, valid_from=START)
    account = account_of(attributed_client(ib, world.eu_brand))
    round_trip(account, opened=at(5))
    commission_batch_run()
    # the new parent takes over from a date before the deal that was already paid
    ib_parent_set(actor=SYSTEM, ib=ib, parent=second_parent, valid_from=at(2))
    rerun = commission_batch_run(full=True)
    round_trip(account, opened=at(9))
    commission_batch_run()
    assert rerun.lines_created == 0
    assert (wallet_balance(first_parent), wallet_balance(second_parent)) == (
        Decimal("3.00"),
        Decimal("3.00"),
    )
    assert_ledger_sound(world.eu)
