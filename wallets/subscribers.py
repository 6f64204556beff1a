"""What the wallets app does when identity announces something."""

from __future__ import annotations

from typing import Any

from brokercrm.events.registry import subscribe
from identity import events as identity_events
from identity.selectors import profile_get

from .services import wallets_on_activation


def open_wallets(event: Any) -> None:
    """An activated profile gets the wallets its entity's rules open, atomically with the
    activation: an active client always has somewhere to deposit."""
    wallets_on_activation(profile=profile_get(event.profile_id))


def connect() -> None:
    subscribe(
        identity_events.PROFILE_ACTIVATED,
        open_wallets,
        name="wallets.open_on_activation",
        in_transaction=True,
    )
