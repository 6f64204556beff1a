"""Every write of the payments app (see each module)."""

from .bank_accounts import bank_account_add, bank_account_verify
from .deposit_checkout import deposit_checkout_create
from .deposit_credits import deposit_credit, deposits_credit_batch, parked_deposits_release
from .deposit_recovery import StuckDepositsSweep, deposits_stuck_resolve
from .deposits import DepositRefused, deposit_create
from .reconciliation import reconciliation_all, reconciliation_break_resolve, reconciliation_run
from .routing import CrossEntityRoute, NoRoute, gateway_for, route_for, routing_rule_set
from .webhooks import (
    merchant_for_webhook,
    merchant_webhook_secret,
    psp_webhook_receive,
    psp_webhooks_process,
)
from .withdrawal_decisions import withdrawal_approve, withdrawal_reject
from .withdrawal_payouts import payout_leg_settle, withdrawal_payout
from .withdrawals import WithdrawalRefused, withdrawal_request

__all__ = [
    "CrossEntityRoute",
    "DepositRefused",
    "NoRoute",
    "StuckDepositsSweep",
    "WithdrawalRefused",
    "bank_account_add",
    "bank_account_verify",
    "deposit_checkout_create",
    "deposit_create",
    "deposit_credit",
    "deposits_credit_batch",
    "deposits_stuck_resolve",
    "gateway_for",
    "merchant_for_webhook",
    "merchant_webhook_secret",
    "parked_deposits_release",
    "payout_leg_settle",
    "psp_webhook_receive",
    "psp_webhooks_process",
    "reconciliation_all",
    "reconciliation_break_resolve",
    "reconciliation_run",
    "route_for",
    "routing_rule_set",
    "withdrawal_approve",
    "withdrawal_payout",
    "withdrawal_reject",
    "withdrawal_request",
]
