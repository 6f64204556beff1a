"""The KYC workflow on any date: the same journey with the clock set to each day of
`conftest.CLOCK_DAYS` (two years of month ends, a leap day, new year's eve). Fixture dates come
from the clock, so a test that passes today must pass on each of these days."""

from __future__ import annotations

from datetime import timedelta

from django.utils import timezone

from identity.tests.factories import register
from kyc.models import KycCheck
from kyc.selectors import withdrawal_blocks

from .test_workflow import submit_complete_file


def test_approval_and_cooling_off_follow_the_clock(clock, kyc_world):
    profile = register(kyc_world.eu_brand).profile
    kyc_file = submit_complete_file(profile)
    assert kyc_file.status == "approved"
    assert kyc_file.earliest_withdrawal_at == kyc_file.decided_at + timedelta(hours=24)
    assert [block.code for block in withdrawal_blocks(profile=profile)] == ["cooling_off"]
    clock.shift(timedelta(hours=24, minutes=1))
    assert withdrawal_blocks(profile=profile) == []


def test_a_passport_expired_yesterday_is_refused_on_any_date(clock, kyc_world):
    profile = register(kyc_world.eu_brand).profile
    kyc_file = submit_complete_file(profile, expires=timezone.localdate() - timedelta(days=1))
    expiry = KycCheck.objects.unscoped().get(kyc_file=kyc_file, kind="expiry")
    assert (expiry.result, expiry.evidence["reason"]) == ("fail", "document expired")
    assert kyc_file.status == "in_review"
