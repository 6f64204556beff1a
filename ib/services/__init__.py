"""Every write of the IB app."""

from ib.services.commissions import (
    commission_batch_run,
    rebate_plan_correct,
)
from ib.services.partners import (
    ib_parent_set,
    ib_partner_create,
    ib_reattribute,
    rebate_plan_create,
    rebate_plan_publish,
    referral_attribute,
    referral_code_create,
)

__all__ = [
    "commission_batch_run",
    "ib_parent_set",
    "ib_partner_create",
    "ib_reattribute",
    "rebate_plan_correct",
    "rebate_plan_create",
    "rebate_plan_publish",
    "referral_attribute",
    "referral_code_create",
]
