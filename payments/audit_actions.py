"""What the payments app records in the audit log (`payments.*`)."""

from __future__ import annotations

# A routing rule (the merchant accounts tried, in order) set for an entity.
ROUTE_SET = "payments.route_set"

DEPOSIT_CREATED = "payments.deposit_created"
# A deposit reached a status, by the status (`Deposit.Status`).
DEPOSIT_AWAITING_PAYER = "payments.deposit_awaiting_payer"
DEPOSIT_AUTHORISED = "payments.deposit_authorised"
DEPOSIT_DECLINED = "payments.deposit_declined"
DEPOSIT_FAILED = "payments.deposit_failed"
DEPOSIT_EXPIRED = "payments.deposit_expired"

DEPOSIT_BY_STATUS = {
    "awaiting_payer": DEPOSIT_AWAITING_PAYER,
    "authorised": DEPOSIT_AUTHORISED,
    "declined": DEPOSIT_DECLINED,
    "failed": DEPOSIT_FAILED,
    "expired": DEPOSIT_EXPIRED,
}

# A parked deposit released to the client once their KYC was approved.
DEPOSIT_RELEASED = "payments.deposit_released"

BANK_ACCOUNT_ADDED = "payments.bank_account_added"
BANK_ACCOUNT_VERIFIED = "payments.bank_account_verified"

WITHDRAWAL_REQUESTED = "payments.withdrawal_requested"
# One of the approvals a withdrawal needs, with another still to come.
WITHDRAWAL_FIRST_APPROVAL = "payments.withdrawal_first_approval"
WITHDRAWAL_APPROVED = "payments.withdrawal_approved"
WITHDRAWAL_REJECTED = "payments.withdrawal_rejected"
# The PSP's answer on one payout leg of a withdrawal.
PAYOUT_PAID = "payments.payout_paid"
PAYOUT_FAILED = "payments.payout_failed"

# A settlement report matched against the ledger; its breaks are kept.
RECONCILIATION_RUN = "payments.reconciliation_run"
BREAK_RESOLVED = "payments.break_resolved"
