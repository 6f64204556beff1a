"""Money in and out: providers, merchant accounts, routing, deposits, withdrawals, webhooks and
reconciliation. Every row that touches a client or money is owned by one entity; a route, an
attempt or a payout leg can only name a merchant account of its own entity (the database checks
it, see migrations/0002_same_entity.py)."""

from __future__ import annotations

from .deposits import Deposit, DepositAttempt
from .providers import MerchantAccount, PaymentMethod, PaymentProvider, RoutingRule, RoutingTarget
from .reconciliation import ReconciliationBreak, ReconciliationRun
from .webhooks import WebhookEvent
from .withdrawals import BankAccount, Withdrawal, WithdrawalLeg

__all__ = [
    "BankAccount",
    "Deposit",
    "DepositAttempt",
    "MerchantAccount",
    "PaymentMethod",
    "PaymentProvider",
    "ReconciliationBreak",
    "ReconciliationRun",
    "RoutingRule",
    "RoutingTarget",
    "WebhookEvent",
    "Withdrawal",
    "WithdrawalLeg",
]
