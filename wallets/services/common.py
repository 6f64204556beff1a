"""The ledger's refusals, and how a database constraint failure is told apart."""

from __future__ import annotations

from django.db import IntegrityError

from brokercrm.errors import ApplicationError


class InsufficientFunds(ApplicationError):
    code = "insufficient_funds"
    status = 409
    default_detail = "The wallet does not have enough available funds."


class HoldNotPending(ApplicationError):
    code = "hold_not_pending"
    status = 409
    default_detail = "The hold was already posted or voided."


class WalletClosed(ApplicationError):
    code = "wallet_closed"
    status = 409
    default_detail = "The wallet is closed: it takes no money in."


class CrossEntityTransfer(ApplicationError):
    code = "cross_entity_transfer"
    default_detail = "Money does not move between entities through a transfer."


def _constraint_name(exc: IntegrityError) -> str:
    return getattr(getattr(exc.__cause__, "diag", None), "constraint_name", None) or ""


def _is_overdraft(exc: IntegrityError) -> bool:
    return _constraint_name(exc) == "ledgeraccount_wallet_available_not_negative"
