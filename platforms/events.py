"""What platforms announces. Higher apps subscribe in their `AppConfig.ready()`."""

from brokercrm.events.registry import EventType

MARGIN_CALL = EventType(
    "platforms.margin_call",
    "A trading account's margin level fell to the server's margin-call level. "
    "Payload: account_id, login, margin_level, equity, currency.",
)
