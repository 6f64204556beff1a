"""Introducing brokers: partners, referral codes, hierarchy over time, rebate plans and the
commission lines computed from imported deals. See docs/adr/0010-ib-commissions.md."""

from __future__ import annotations

from .base import MONEY, _epoch, _named
from .commissions import CommissionLine, CommissionRun
from .partners import (
    IbAssignment,
    IbClosure,
    IbLink,
    IbPartner,
    IbPlanPeriod,
    ReferralCode,
    ReferralReview,
)
from .plans import IbProgramme, RebatePlan, RebatePlanVersion, RebateRate

__all__ = [
    "MONEY",
    "CommissionLine",
    "CommissionRun",
    "IbAssignment",
    "IbClosure",
    "IbLink",
    "IbPartner",
    "IbPlanPeriod",
    "IbProgramme",
    "RebatePlan",
    "RebatePlanVersion",
    "RebateRate",
    "ReferralCode",
    "ReferralReview",
    "_epoch",
    "_named",
]
