"""What the trading platforms app does when identity or KYC announce something: a client who
may no longer trade has every trading account disabled, in the CRM and on its server.

Delivered after commit from the outbox (at least once; `trading_accounts_block` is safe to run
again), so a restriction is never lost to a worker that dies or a server that is down."""

from __future__ import annotations

from typing import Any

from brokercrm.events.registry import subscribe
from identity import events as identity_events
from kyc import events as kyc_events

from .services import trading_accounts_block


def block_person(event: Any) -> None:
    trading_accounts_block(
        profile_ids=[], person_id=event.person_id, reason=event.payload.get("reason", "")[:500]
    )


def block_profile(event: Any) -> None:
    trading_accounts_block(
        profile_ids=[event.profile_id], reason=event.payload.get("reason", "")[:500]
    )


def block_expired(event: Any) -> None:
    trading_accounts_block(profile_ids=[event.profile_id], reason="Identity document expired")


def connect() -> None:
    subscribe(identity_events.PERSON_BLOCKED, block_person, name="platforms.block_person")
    subscribe(identity_events.PROFILE_RESTRICTED, block_profile, name="platforms.block_profile")
    subscribe(kyc_events.DOCUMENT_EXPIRED, block_expired, name="platforms.block_expired_document")
