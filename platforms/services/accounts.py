"""Opening trading accounts and changing what they may do (the status changes are in
`account_status`, importable from here).

An account is opened in two steps with the server call between them, never inside a database
transaction: first a `pending` row with our reference is committed (so a crash, a timeout or a
retry finds it), then the login is created on the server with that reference in its comment,
then the row gets the login. When the answer to the create is lost, the login is looked up by
the comment before anything is created again, so a retry does not open a second login.
"""

from __future__ import annotations

import logging
import uuid
from collections.abc import Sequence
from datetime import timedelta
from typing import TYPE_CHECKING, Any

from django.db import IntegrityError, connection, transaction
from django.db.models import Func
from django.utils import timezone

from audit.services import audit_record
from brokercrm.errors import ApplicationError, Conflict, ValidationFailed
from brokercrm.gate import is_system, require
from identity.selectors import profile_get
from platforms.connectors import (
    GroupUnknown,
    PlatformAccount,
    PlatformError,
    PlatformRefused,
    PlatformTimeout,
    PlatformUnavailable,
    TradingPlatform,
)
from platforms.models import (
    AccountType,
    Deal,
    GroupMapping,
    TradingAccount,
    TradingEvent,
    TradingServer,
)
from platforms.selectors import DEAL_IMPORT_LOCK, group_mappings_for, trading_blocks

from .. import audit_actions as actions
from .account_status import STAFF_STATUSES, trading_account_status_set
from .common import (
    SYSTEM_LABEL,
    NoGroupMapping,
    ServerInactive,
    ServerOfAnotherEntity,
    _refuse_if_blocked,
    actor_of,
    server_connector,
)

if TYPE_CHECKING:
    from identity.models import ClientProfile

logger = logging.getLogger(__name__)
COMMENT_PREFIX = "crm:"
_REFERENCE_NAMESPACE = uuid.UUID("6f1d2c1e-8f0b-4d53-9a55-3c7e7c0a1b01")
FIGURES = ("balance", "credit", "equity", "margin", "free_margin", "margin_level")


def account_comment(reference: uuid.UUID) -> str:
    """What the login's comment carries: our reference, 36 characters."""
    return f"{COMMENT_PREFIX}{reference.hex}"


def _mapping(
    profile: ClientProfile, server: TradingServer | None, account_type: str, currency: str
) -> GroupMapping:
    if server is not None:
        if server.entity_id != profile.entity_id:
            raise ServerOfAnotherEntity(
                f"{server.name} is not a server of the client's entity; an entity's clients get"
                " accounts only on that entity's servers."
            )
        if not server.active:
            raise ServerInactive(f"{server.name} is switched off in the CRM.")
    mappings = group_mappings_for(
        entity_id=profile.entity_id, account_type=account_type, currency=currency, server=server
    )
    if not mappings:
        raise NoGroupMapping(
            f"No group is configured for {account_type} accounts in {currency}"
            + (f" on {server.name}." if server else " in this entity.")
        )
    if len(mappings) > 1:
        raise ValidationFailed(
            "Several servers offer this account type and currency; choose the server.",
            code="server_required",
        )
    return mappings[0]


def trading_account_open(
    *,
    actor: Any,
    profile: ClientProfile,
    account_type: str,
    currency: str,
    server: TradingServer | None = None,
    leverage: int | None = None,
    idempotency_key: str = "",
) -> TradingAccount:
    """Open an account for the profile on its entity's server, in the group the entity maps
    the account type and currency to. Live accounts need an approved KYC file and no block;
    demo accounts need no KYC. With an idempotency key a repeat returns the same account.

    Returns the account `enabled` (or `pending` when the server's answer is still unknown:
    the pending-accounts job finishes it)."""
    require(
        actor,
        "platforms.add_tradingaccount",
        profile,
        detail="You may not open trading accounts for this client.",
    )
    if account_type not in AccountType.values:
        raise ValidationFailed(
            f"account_type is one of {', '.join(AccountType.values)}.", code="account_type_invalid"
        )
    currency = (currency or "").upper()
    if leverage is not None and not 1 <= leverage <= 1000:
        raise ValidationFailed("Leverage is from 1 to 1000.", code="leverage_invalid")
    mapping = _mapping(profile, server, account_type, currency)
    _refuse_if_blocked(profile, demo=account_type == AccountType.DEMO)
    if leverage is not None:
        _check_leverage(mapping, leverage)
    key = (idempotency_key or "").strip()
    if len(key) > 100:
        raise ValidationFailed("An idempotency key has at most 100 characters.")
    reference = (
        uuid.uuid5(_REFERENCE_NAMESPACE, f"{profile.entity_id}:{key}") if key else uuid.uuid4()
    )
    with transaction.atomic(durable=True):
        try:
            with transaction.atomic():
                account = TradingAccount.objects.create(
                    entity_id=profile.entity_id,
                    profile=profile,
                    server=mapping.server,
                    reference=reference,
                    account_type=account_type,
                    group=mapping.group,
                    currency=currency,
                    leverage=leverage or mapping.leverage or 0,
                    created_by=actor_of(actor),
                )
        except IntegrityError:
            account = TradingAccount.objects.in_entity(profile.entity_id).get(reference=reference)
            same = (account.profile_id, account.server_id, account.account_type, account.currency)
            if same != (profile.pk, mapping.server_id, account_type, currency):
                raise Conflict(
                    "This idempotency key was already used for another account.",
                    code="idempotency_key_reused",
                ) from None
            fresh = False
        else:
            fresh = True
            audit_record(
                actor=actor,
                actor_label=SYSTEM_LABEL if is_system(actor) else None,
                action=actions.ACCOUNT_REQUESTED,
                entity=account.entity_id,
                obj=account,
                after={
                    "profile": profile.pk,
                    "server": mapping.server.server_name,
                    "group": mapping.group,
                    "account_type": account_type,
                    "currency": currency,
                },
            )
    if account.status != TradingAccount.Status.PENDING:
        return account
    return trading_account_provision(account_id=account.pk, fresh=fresh)


def _check_leverage(mapping: GroupMapping, leverage: int) -> None:
    """A requested leverage may not exceed the group's (regulators cap it per group) nor the
    mapping's own limit."""
    group_leverage = _group_leverage(server_connector(mapping.server), mapping.group)
    limit = min(group_leverage, mapping.leverage or group_leverage)
    if leverage > limit:
        raise ValidationFailed(
            f"The highest leverage for {mapping.group} is {limit}.", code="leverage_too_high"
        )


def _adopt(platform: TradingPlatform, account: TradingAccount) -> PlatformAccount | None:
    """The login created for this account, if the server has one. Should an earlier, lost
    create have landed twice, the lowest login is kept and the others are disabled."""
    found = platform.users_by_comment(account_comment(account.reference))
    for extra in found[1:]:
        platform.user_set_rights(extra.login, "disabled")
        with transaction.atomic():
            audit_record(
                actor=None,
                actor_label=SYSTEM_LABEL,
                action=actions.DUPLICATE_LOGIN_DISABLED,
                entity=account.entity_id,
                obj=account,
                after={"kept": found[0].login, "disabled": extra.login},
            )
    return found[0] if found else None


def trading_account_provision(*, account_id: int, fresh: bool = False) -> TradingAccount:
    """Create (or find again) the login of a pending account and record it. Safe to run
    again at any time: a pending account is first looked up by its reference."""
    account = (
        TradingAccount.objects.unscoped().select_related("server", "profile").get(pk=account_id)
    )
    if account.status != TradingAccount.Status.PENDING:
        return account
    platform = server_connector(account.server)
    profile = account.profile
    try:
        remote = None if fresh else _adopt(platform, account)
        if remote is None:
            try:
                remote = platform.user_create(
                    group=account.group,
                    name=f"{profile.given_name_latin} {profile.family_name_latin}".strip()[:128],
                    email=profile.email[:128],
                    leverage=account.leverage or _group_leverage(platform, account.group),
                    rights="enabled",
                    comment=account_comment(account.reference),
                )
            except (PlatformTimeout, PlatformUnavailable):
                # The server may have created it: look before anything else.
                remote = _adopt(platform, account)
                if remote is None:
                    return account  # still pending; the pending-accounts job tries again
    except PlatformRefused as refused:
        _provision_failed(account, refused)
        raise
    except (PlatformTimeout, PlatformUnavailable):
        return account
    return _provision_finish(account, remote)


def _group_leverage(platform: TradingPlatform, group: str) -> int:
    for found in platform.groups():
        if found.name == group:
            return found.leverage
    raise GroupUnknown(f"The server has no group {group!r}; check the group mapping.")


def _provision_failed(account: TradingAccount, refused: PlatformError) -> None:
    with transaction.atomic(durable=True):
        updated = (
            TradingAccount.objects.in_entity(account.entity_id)
            .filter(pk=account.pk, status=TradingAccount.Status.PENDING)
            .update(
                status=TradingAccount.Status.FAILED,
                status_reason=f"{refused.code}: {refused.detail}"[:500],
                status_changed_at=timezone.now(),
            )
        )
        if updated:
            audit_record(
                actor=None,
                actor_label=SYSTEM_LABEL,
                action=actions.ACCOUNT_REFUSED,
                entity=account.entity_id,
                obj=account,
                after={"code": refused.code, "detail": refused.detail},
            )


def deals_link(account: TradingAccount) -> int:
    """Give the deals and events imported before the login was known to be ours their
    account, in the caller's transaction. Linked deals are stamped with the database clock
    under the deal-import lock, so readers that follow deals by id (the IB commission batch)
    pick them up too. Returns the deals linked."""
    with connection.cursor() as cursor:
        cursor.execute("SELECT pg_advisory_xact_lock_shared(%s)", [DEAL_IMPORT_LOCK])
    orphans = {"server_id": account.server_id, "login": account.login, "account__isnull": True}
    TradingEvent.objects.in_entity(account.entity_id).filter(**orphans).update(account=account)
    return (
        Deal.objects.in_entity(account.entity_id)
        .filter(**orphans)
        .update(account=account, account_linked_at=Func(function="clock_timestamp"))
    )


def _provision_finish(account: TradingAccount, remote: PlatformAccount) -> TradingAccount:
    from platforms.tasks import trading_rights_push_task

    now = timezone.now()
    with transaction.atomic(durable=True):
        account = TradingAccount.objects.unscoped().select_for_update().get(pk=account.pk)
        if account.status != TradingAccount.Status.PENDING:
            return account
        profile = profile_get(account.profile_id)
        # The client may have been blocked while the server was creating the login.
        blocks = trading_blocks(profile=profile, demo=account.account_type == AccountType.DEMO)
        account.login = remote.login
        account.group = remote.group
        account.currency = remote.currency
        account.leverage = remote.leverage
        account.server_rights = remote.rights
        for name in FIGURES:
            setattr(account, name, getattr(remote, name))
        account.synced_at = now
        account.status_changed_at = now
        if blocks:
            account.status = TradingAccount.Status.DISABLED
            account.status_reason = "; ".join(block.code for block in blocks)
        else:
            account.status = TradingAccount.Status.ENABLED
            account.rights_pushed_at = now
        account.save()
        deals_link(account)
        audit_record(
            actor=account.created_by,
            actor_label=None if account.created_by_id else SYSTEM_LABEL,
            action=actions.ACCOUNT_OPENED,
            entity=account.entity_id,
            obj=account,
            after={
                "profile": account.profile_id,
                "login": account.login,
                "server": account.server.server_name,
                "group": account.group,
                "currency": account.currency,
                "leverage": account.leverage,
                "status": account.status,
            },
        )
        if blocks:
            account_id = account.pk
            transaction.on_commit(lambda: trading_rights_push_task.delay([account_id]))
    return account


def trading_accounts_pending_resolve(*, older_than_seconds: int = 30) -> dict[str, int]:
    """Finish accounts whose create answer was lost (run every minute)."""
    cutoff = timezone.now() - timedelta(seconds=older_than_seconds)
    done = still = 0
    for account_id in (
        TradingAccount.objects.unscoped()
        .filter(status=TradingAccount.Status.PENDING, created_at__lt=cutoff)
        .values_list("pk", flat=True)
    ):
        try:
            account = trading_account_provision(account_id=account_id)
        except ApplicationError as error:  # refused (now failed) or misconfigured: go on
            logger.warning("pending trading account %s: %s", account_id, error.as_dict())
            continue
        if account.status == TradingAccount.Status.PENDING:
            still += 1
        else:
            done += 1
    return {"resolved": done, "pending": still}


def accounts_by_login(server_id: int, logins: Sequence[int]) -> dict[int, int]:
    """login → account id for the known logins of a server."""
    return dict(
        TradingAccount.objects.unscoped()
        .filter(server_id=server_id, login__in=list(logins))
        .values_list("login", "pk")
    )


__all__ = [
    "STAFF_STATUSES",
    "_refuse_if_blocked",
    "account_comment",
    "accounts_by_login",
    "deals_link",
    "trading_account_open",
    "trading_account_provision",
    "trading_account_status_set",
    "trading_accounts_pending_resolve",
]
