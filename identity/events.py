"""What identity announces. Higher apps subscribe in their `AppConfig.ready()`."""

from brokercrm.events.registry import EventType

REGISTRATION_ACCEPTED = EventType(
    "identity.registration_accepted",
    "A registration created a client profile (accepted, or held for duplicate review). "
    "Payload: outcome, referral_code. In-transaction replies: referral_attributed (bool).",
)
PROFILE_ACTIVATED = EventType(
    "identity.profile_activated",
    "A client profile became active (KYC approval, or staff). Payload: reason.",
)
PROFILE_RESTRICTED = EventType(
    "identity.profile_restricted",
    "A client profile was restricted or closed: its client may no longer trade. "
    "Payload: status, reason.",
)
PERSON_BLOCKED = EventType(
    "identity.person_blocked",
    "A person was AML-blocked or hit a sanctions list, group-wide: none of their profiles may "
    "trade. Payload: reason, flags.",
)
