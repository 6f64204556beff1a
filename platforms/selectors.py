"""Reads of the platforms app that other code uses: who may trade, and scoped lists."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import TYPE_CHECKING, Any

from django.db import connection, transaction
from django.db.models import Q, QuerySet

from identity.choices import ProfileStatus
from kyc.selectors import kyc_cleared_profiles, withdrawal_blocks

from .models import (
    ControlFailure,
    Deal,
    GroupMapping,
    TradingAccount,
    TradingServer,
    TransferQuote,
)

if TYPE_CHECKING:
    from identity.models import ClientProfile

# What kyc.selectors reports that also stops trading. Cooling-off and a risk hold are about
# money leaving the group; they do not stop a client trading the money already on a server.
_KYC_TRADING_BLOCKS = frozenset(
    {"kyc_not_approved", "aml_block", "sanctions_hit", "document_expired"}
)
# A demo account needs no KYC, but a blocked person gets no account of any kind.
_DEMO_EXEMPT = frozenset({"kyc_not_approved", "document_expired"})
_PROFILE_BLOCKS = {
    ProfileStatus.RESTRICTED: ("profile_restricted", "The client profile is restricted."),
    ProfileStatus.CLOSED: ("profile_closed", "The client profile is closed."),
    ProfileStatus.PENDING: ("profile_pending", "The client is held for duplicate review."),
}


# Deal imports and links hold this advisory lock shared for their transaction;
# `deals_committed_through` takes it exclusively for one statement. ("DEAL" in ASCII.)
DEAL_IMPORT_LOCK = 0x4445414C


@dataclass(frozen=True)
class DealWatermark:
    """Every deal with id <= `deal_id` is committed, and so is every link of a deal to its
    account made at or before `linked_at` (`Deal.account_linked_at`)."""

    deal_id: int
    linked_at: datetime


def deals_committed_through() -> DealWatermark:
    """Where a reader following deals by id (and late links by time) may safely stop.

    Deal ids come from a sequence in the order imports ask for them, not the order they
    commit: a reader that took MAX(id) while an import was still open would later find a
    lower id appear. Imports and links hold DEAL_IMPORT_LOCK shared; this waits for the open
    ones to commit, reads MAX(id) and the clock, and lets them go on at once. Call it outside
    a transaction, or imports wait until the caller's transaction ends."""
    with transaction.atomic(), connection.cursor() as cursor:
        cursor.execute("SELECT pg_advisory_xact_lock(%s)", [DEAL_IMPORT_LOCK])
        cursor.execute("SELECT COALESCE(MAX(id), 0), clock_timestamp() FROM platforms_deal")
        deal_id, linked_at = cursor.fetchone()
        return DealWatermark(deal_id=deal_id, linked_at=linked_at)


@dataclass(frozen=True)
class TradingBlock:
    code: str
    detail: str


def trading_blocks(*, profile: ClientProfile, demo: bool = False) -> list[TradingBlock]:
    """Every reason the profile may not trade now (empty: it may). Flags raised on the person
    in any entity count, as they do for withdrawals."""
    blocks: list[TradingBlock] = []
    if profile.status in _PROFILE_BLOCKS:
        blocks.append(TradingBlock(*_PROFILE_BLOCKS[profile.status]))
    for block in withdrawal_blocks(profile=profile):
        if block.code in _KYC_TRADING_BLOCKS and not (demo and block.code in _DEMO_EXEMPT):
            blocks.append(TradingBlock(block.code, block.detail))
    return blocks


def blocked_accounts(*, server: TradingServer) -> QuerySet[TradingAccount]:
    """Accounts of the server that the CRM still lets trade although their client may not:
    the safety net run before every full reconcile, for a block that reached the client
    without passing the enforcement hook."""
    allowed = [TradingAccount.Status.ENABLED, TradingAccount.Status.READ_ONLY]
    blocked = (
        Q(profile__status__in=list(_PROFILE_BLOCKS))
        | Q(profile__person__aml_blocked=True)
        | Q(profile__person__sanctions_hit=True)
        | (~Q(account_type="demo") & ~Q(profile_id__in=kyc_cleared_profiles()))
    )
    return (
        TradingAccount.objects.unscoped().filter(server=server, status__in=allowed).filter(blocked)
    )


def trading_accounts_visible_to(user: Any) -> QuerySet[TradingAccount]:
    return TradingAccount.objects.visible_to(user, "platforms.view_tradingaccount")


def trading_accounts_of_profile(*, user: Any, profile: ClientProfile) -> QuerySet[TradingAccount]:
    return trading_accounts_visible_to(user).filter(profile=profile).order_by("created_at")


def control_failures_open(*, user: Any) -> QuerySet[ControlFailure]:
    """Compliance's queue: open control failures of the entities the user may see."""
    return (
        ControlFailure.objects.visible_to(user, "platforms.view_controlfailure")
        .filter(status=ControlFailure.Status.OPEN)
        .order_by("detected_at")
    )


def group_mappings_for(
    *, entity_id: int, account_type: str, currency: str, server: TradingServer | None = None
) -> list[GroupMapping]:
    mappings = (
        GroupMapping.objects.in_entity(entity_id)
        .filter(active=True, account_type=account_type, currency=currency, server__active=True)
        .select_related("server")
        .order_by("server_id")
    )
    if server is not None:
        mappings = mappings.filter(server=server)
    return list(mappings)


@dataclass(frozen=True)
class OfferedAccountType:
    """An account a client of the entity may open: from an active group mapping."""

    type: str
    kind: str  # demo or live
    currency: str
    leverage: int | None  # None: the server did not say (its group's default applies)
    server_id: int
    server: str
    platform: str


def _group_leverages(server: TradingServer) -> dict[str, int]:
    """The groups' default leverage on the server, asked at most every five minutes."""
    from django.core.cache import cache

    from brokercrm.errors import ApplicationError
    from platforms.connectors import PlatformError

    from .services.common import server_connector

    key = f"platforms:group-leverage:{server.pk}"
    found = cache.get(key)
    if found is None:
        try:
            found = {group.name: group.leverage for group in server_connector(server).groups()}
        except (PlatformError, ApplicationError):
            return {}
        cache.set(key, found, 300)
    return found


def account_types_offered(*, entity_id: int) -> list[OfferedAccountType]:
    """What the entity offers for demo and live accounts, per type and currency, from its
    active group mappings on its active servers."""
    mappings = list(
        GroupMapping.objects.in_entity(entity_id)
        .filter(active=True, server__active=True)
        .select_related("server")
        .order_by("account_type", "currency", "server_id")
    )
    leverages: dict[int, dict[str, int]] = {}
    offered = []
    for mapping in mappings:
        leverage = mapping.leverage
        if leverage is None:
            if mapping.server_id not in leverages:
                leverages[mapping.server_id] = _group_leverages(mapping.server)
            leverage = leverages[mapping.server_id].get(mapping.group)
        offered.append(
            OfferedAccountType(
                type=mapping.account_type,
                kind="demo" if mapping.account_type == "demo" else "live",
                currency=mapping.currency,
                leverage=leverage,
                server_id=mapping.server_id,
                server=mapping.server.name,
                platform=mapping.server.kind,
            )
        )
    return offered


def client_trading_account(
    *, entity_id: int, profile_id: int, account_id: int
) -> TradingAccount | None:
    """One of the profile's trading accounts by id (None for anyone else's)."""
    return (
        TradingAccount.objects.in_entity(entity_id)
        .filter(profile_id=profile_id, pk=account_id)
        .select_related("server")
        .first()
    )


def servers_of_entity(server_ids: set[int], entity_id: int) -> set[int]:
    """Which of these trading servers belong to the entity."""
    return set(
        TradingServer.objects.unscoped()
        .filter(pk__in=server_ids, entity_id=entity_id)
        .values_list("pk", flat=True)
    )


def deals_after(deal_id: int) -> bool:
    """Whether any deal was imported after `deal_id` (a commission batch's watermark)."""
    return Deal.objects.unscoped().filter(pk__gt=deal_id).exists()


def client_trading_accounts(*, entity_id: int, profile_id: int) -> QuerySet[TradingAccount]:
    """The profile's trading accounts, oldest first, with their server."""
    return (
        TradingAccount.objects.in_entity(entity_id)
        .filter(profile_id=profile_id)
        .select_related("server")
        .order_by("created_at", "pk")
    )


def client_transfer_quote(*, entity_id: int, profile_id: int, token: Any) -> TransferQuote | None:
    """One of the profile's transfer quotes by its token, with its trading transfer (None for
    anyone else's)."""
    return (
        TransferQuote.objects.in_entity(entity_id)
        .filter(token=token, profile_id=profile_id)
        .select_related("trading_transfer")
        .first()
    )


def entity_trading_server(*, entity_id: int, server_id: int) -> TradingServer | None:
    """The entity's trading server by id (None for another entity's)."""
    return TradingServer.objects.in_entity(entity_id).filter(pk=server_id).first()
