"""What the IB app records in the audit log (`ib.*`).

Most of its actions are named with the verb of the service that records them
(`ib.partner_create`), not in the past tense of the other apps; the stored values stay.
"""

PARTNER_CREATE = "ib.partner_create"
PARTNER_UPDATE = "ib.partner_update"
# A referral code of an IB on one brand.
CODE_CREATE = "ib.code_create"
# An IB placed under another in the hierarchy.
PARENT_SET = "ib.parent_set"
# A registration's referral code attributed the client to its IB.
REFERRAL_ATTRIBUTE = "ib.referral_attribute"
# A referral code that attributes nobody (unknown, another entity's, a suspended IB's): kept
# for review.
REFERRAL_REJECTED = "ib.referral_rejected"
REFERRAL_REVIEW_RESOLVE = "ib.referral_review_resolve"
# An IB manager moved a client to another IB.
REATTRIBUTE = "ib.reattribute"
# An entity's programme (how deep the hierarchy pays) set from a date.
PROGRAMME_SET = "ib.programme_set"
# The demo data's programme of an entity.
PROGRAMME_CREATED = "ib.programme_created"
PLAN_CREATE = "ib.plan_create"
PLAN_PUBLISH = "ib.plan_publish"
# A published plan version corrected for its whole period: its lines reversed and recomputed.
PLAN_CORRECT = "ib.plan_correct"
COMMISSION_RUN_REQUEST = "ib.commission_run_request"
