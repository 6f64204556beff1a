"""Accounts: an entity's system accounts, and the client wallets its wallet rules allow."""

from __future__ import annotations

from typing import Any

from django.db import IntegrityError, transaction

from brokercrm.errors import ValidationFailed
from brokercrm.reference import CURRENCY_MINOR_UNITS

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
