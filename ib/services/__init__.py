"""Every write of the IB app."""

from ib.services.commission_corrections import rebate_plan_correct
from ib.services.commissions import commission_batch_run
from ib.services.management import (
    commission_run_allowed,
    commission_run_request,
    ib_partner_update,
    ib_programme_set,
    referral_review_resolve,
)
from ib.services.partners import (
    ib_parent_set,
    ib_partner_create,
    ib_reattribute,
    referral_attribute,
    referral_code_create,
    referral_code_new,
)
from ib.services.plans import rebate_plan_create, rebate_plan_publish

__all__ = [
    "commission_batch_run",
    "commission_run_allowed",
    "commission_run_request",
    "ib_parent_set",
    "ib_partner_create",
    "ib_partner_update",
    "ib_programme_set",
    "ib_reattribute",
    "rebate_plan_correct",
    "rebate_plan_create",
    "rebate_plan_publish",
    "referral_attribute",
    "referral_code_create",
    "referral_code_new",
    "referral_review_resolve",
]
