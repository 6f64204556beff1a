"""What the IB app does when identity announces something."""

from __future__ import annotations

from typing import Any

from brokercrm.events.registry import subscribe
from identity import events as identity_events
from identity.selectors import profile_get

from .services import referral_attribute


def attribute_referral(event: Any) -> dict[str, Any] | None:
    """A new profile registered with a referral code is attributed to the code's IB, in the
    registration's transaction (a code of another entity or an unknown one is kept for
    review and attributes nothing)."""
    code = event.payload.get("referral_code")
    if not code:
        return None
    attributed = referral_attribute(profile=profile_get(event.profile_id), code=code)
    return {"referral_attributed": attributed is not None}


def connect() -> None:
    subscribe(
        identity_events.REGISTRATION_ACCEPTED,
        attribute_referral,
        name="ib.attribute_referral",
        in_transaction=True,
    )
