"""Accounts: an entity's system accounts, and the client wallets its wallet rules allow."""

from __future__ import annotations

from typing import Any

from django.db import IntegrityError, transaction
from django.utils import timezone

from audit.services import audit_record
from brokercrm.errors import Conflict, ValidationFailed
from brokercrm.gate import require
from brokercrm.reference import CURRENCY_MINOR_UNITS

from .. import audit_actions as actions
from ..models import LedgerAccount

NORMAL_SIDE = {
    LedgerAccount.Kind.CLIENT_WALLET: LedgerAccount.Side.CREDIT,
    LedgerAccount.Kind.IB_PAYABLE: LedgerAccount.Side.CREDIT,
    LedgerAccount.Kind.FEE_REVENUE: LedgerAccount.Side.CREDIT,
    LedgerAccount.Kind.EQUITY: LedgerAccount.Side.CREDIT,
    LedgerAccount.Kind.PSP_CLEARING: LedgerAccount.Side.DEBIT,
    LedgerAccount.Kind.PLATFORM_TRANSFER: LedgerAccount.Side.DEBIT,
    LedgerAccount.Kind.FX_POSITION: LedgerAccount.Side.DEBIT,
    LedgerAccount.Kind.SUSPENSE: LedgerAccount.Side.DEBIT,
}


def system_account(*, entity: Any, kind: str, currency: str, name: str = "main") -> LedgerAccount:
    """The entity's account of a kind and currency (created on first use)."""
    if kind == LedgerAccount.Kind.CLIENT_WALLET:
        raise ValidationFailed(
            "Client wallets are opened with wallet_open.", code="account_kind_invalid"
        )
    if currency not in CURRENCY_MINOR_UNITS:
        raise ValidationFailed(f"Unknown currency {currency!r}.", code="currency_unknown")
    entity_id = entity if isinstance(entity, int) else entity.pk
    account, _ = LedgerAccount.objects.unscoped().get_or_create(
        entity_id=entity_id,
        kind=kind,
        currency=currency,
        name=name,
        profile=None,
        defaults={"normal_side": NORMAL_SIDE[kind]},
    )
    return account


def wallet_open(*, profile: Any, currency: str) -> LedgerAccount:
    """The profile's wallet in `currency`, opened if the entity's wallet rules allow it."""
    from entities.selectors import wallet_currencies

    currency = (currency or "").upper()
    if currency not in wallet_currencies(profile.entity):
        raise ValidationFailed(
            f"{profile.entity.code} does not offer wallets in {currency or 'that currency'}.",
            code="currency_not_offered",
        )
    try:
        with transaction.atomic():
            account, _ = LedgerAccount.objects.unscoped().get_or_create(
                entity_id=profile.entity_id,
                kind=LedgerAccount.Kind.CLIENT_WALLET,
                profile=profile,
                currency=currency,
                defaults={"normal_side": LedgerAccount.Side.CREDIT, "name": "wallet"},
            )
    except IntegrityError:  # opened concurrently: the other one wins
        account = LedgerAccount.objects.unscoped().get(
            kind=LedgerAccount.Kind.CLIENT_WALLET, profile=profile, currency=currency
        )
    return account


def wallet_add(*, actor: Any, profile: Any, currency: str) -> tuple[LedgerAccount, bool]:
    """A client (or staff for them) opens a wallet in another currency the entity offers.
    Returns the wallet and whether it was opened now (False: it existed)."""
    require(actor, "wallets.add_ledgeraccount", profile)
    with transaction.atomic(durable=True):
        existed = (
            LedgerAccount.objects.unscoped()
            .filter(
                kind=LedgerAccount.Kind.CLIENT_WALLET,
                profile=profile,
                currency=(currency or "").upper(),
            )
            .exists()
        )
        wallet = wallet_open(profile=profile, currency=currency)
        if not existed:
            audit_record(
                actor=actor,
                action=actions.WALLET_OPENED,
                entity=profile.entity_id,
                obj=wallet,
                after={"currency": wallet.currency},
            )
    return wallet, not existed


def wallet_open_base(*, profile: Any) -> LedgerAccount:
    """The base-currency wallet a profile gets when it is activated."""
    return wallet_open(profile=profile, currency=profile.entity.base_currency)


def wallets_on_activation(*, profile: Any) -> list[LedgerAccount]:
    """What the entity's wallet rules open when a profile becomes active."""
    from entities.selectors import RuleSetMissing, ruleset_effective

    try:
        opens_base = ruleset_effective(entity=profile.entity, kind="wallet").document.get(
            "base_wallet_on_activation", True
        )
    except RuleSetMissing:
        opens_base = True
    return [wallet_open_base(profile=profile)] if opens_base else []


def wallet_close(*, actor: Any, wallet: LedgerAccount, reason: str) -> LedgerAccount:
    """Close an empty client wallet: it takes no money in from then on (transfers to it are
    refused with `wallet_closed`). Closing twice changes nothing."""
    require(actor, "wallets.change_ledgeraccount", wallet, detail="You may not close wallets.")
    if not reason.strip():
        raise ValidationFailed("Give a reason for the audit trail.", code="reason_required")
    with transaction.atomic(durable=True):
        wallet = (
            LedgerAccount.objects.in_entity(wallet.entity_id)
            .select_for_update()
            .get(pk=wallet.pk, kind=LedgerAccount.Kind.CLIENT_WALLET)
        )
        if wallet.closed_at is not None:
            return wallet
        if wallet.balance or wallet.held:
            raise Conflict(
                f"The wallet still holds {wallet.balance} {wallet.currency}: empty it first.",
                code="wallet_not_empty",
            )
        wallet.closed_at = timezone.now()
        wallet.save(update_fields=["closed_at"])
        audit_record(
            actor=actor,
            action=actions.WALLET_CLOSED,
            entity=wallet.entity_id,
            obj=wallet,
            after={"currency": wallet.currency, "profile": wallet.profile_id},
            reason=reason,
        )
    return wallet
