"""What the platforms services share: their refusals, the connector of a server, the rights a
CRM status asks for, and the per-server locks that keep two syncs from running at once."""

from __future__ import annotations

import os
from collections.abc import Iterator
from contextlib import contextmanager
from typing import TYPE_CHECKING, Any

from django.db import connection

from brokercrm.errors import ApplicationError
from platforms.connectors import TradingPlatform, connector_for
from platforms.models import Rights, TradingAccount, TradingServer
from platforms.selectors import trading_blocks

if TYPE_CHECKING:
    from identity.models import ClientProfile

SYSTEM_LABEL = "system:platforms"
CONTROLS_LABEL = "system:platforms.controls"

# What the server should allow for each CRM status (pending and failed accounts have no login).
DESIRED_RIGHTS: dict[str, str] = {
    TradingAccount.Status.ENABLED: Rights.ENABLED,
    TradingAccount.Status.READ_ONLY: Rights.READ_ONLY,
    TradingAccount.Status.DISABLED: Rights.DISABLED,
    TradingAccount.Status.CLOSED: Rights.DISABLED,
}
# How much each server state lets a client do: more than the CRM wants is corrected at once,
# less is only flagged.
PERMISSIVENESS: dict[str, int] = {Rights.DISABLED: 0, Rights.READ_ONLY: 1, Rights.ENABLED: 2}

# pg_advisory_lock(class, server id) classes: "PLAT" + a purpose digit.
LOCK_RECONCILE = 0x504C4101
LOCK_FEED = 0x504C4102


class TradingNotAllowed(ApplicationError):
    """The client may not trade now; `code` says why (kyc_not_approved, aml_block, ...)."""

    code = "trading_not_allowed"
    status = 409
    default_detail = "This client may not trade now."


class NoGroupMapping(ApplicationError):
    code = "no_group_mapping"
    default_detail = "No group is configured for this account type and currency."


class ServerOfAnotherEntity(ApplicationError):
    code = "server_of_another_entity"
    default_detail = "The trading server belongs to another entity than the client."


class ServerInactive(ApplicationError):
    code = "server_inactive"
    status = 409
    default_detail = "The trading server is switched off in the CRM."


class ServerMisconfigured(ApplicationError):
    code = "server_credentials_missing"
    status = 503
    default_detail = "The trading server's credentials are not in the environment."


class AccountNotActive(ApplicationError):
    code = "account_not_active"
    status = 409
    default_detail = "The trading account is not open for this."


class AccountMissingOnServer(ApplicationError):
    code = "account_missing_on_server"
    status = 409
    default_detail = (
        "The trading server does not hold this account's login (an open control failure):"
        " no money moves until operations resolve it."
    )


def _refuse_if_blocked(profile: ClientProfile, *, demo: bool) -> None:
    blocks = trading_blocks(profile=profile, demo=demo)
    if blocks:
        raise TradingNotAllowed(
            " ".join(block.detail for block in blocks),
            code=blocks[0].code,
            extra={"blocks": [block.code for block in blocks]},
        )


def server_connector(server: TradingServer) -> TradingPlatform:
    """The connector for a server, with its credentials read from the environment variable it
    names (never from the database)."""
    credentials = None
    if server.credentials_env:
        credentials = os.environ.get(server.credentials_env, "")
        if not credentials:
            raise ServerMisconfigured(
                f"Set {server.credentials_env} in the environment for {server.name}."
            )
    return connector_for(
        server.kind,  # type: ignore[arg-type]
        server.base_url,
        server.server_name,
        timeout=float(server.timeout_seconds),
        credentials=credentials,
    )


@contextmanager
def server_lock(purpose: int, server_id: int) -> Iterator[bool]:
    """A session-level advisory lock for one job on one server; yields False when another
    process holds it. A killed process's connection closes and the lock goes with it."""
    with connection.cursor() as cursor:
        cursor.execute("SELECT pg_try_advisory_lock(%s, %s)", [purpose, server_id])
        acquired = bool(cursor.fetchone()[0])
    try:
        yield acquired
    finally:
        if acquired:
            with connection.cursor() as cursor:
                cursor.execute("SELECT pg_advisory_unlock(%s, %s)", [purpose, server_id])


def actor_of(actor: Any) -> Any:
    """The user to record as creator, or None for the system and API principals."""
    return (
        actor if getattr(actor, "is_authenticated", False) and getattr(actor, "pk", None) else None
    )
