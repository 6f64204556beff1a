"""What KYC announces. Higher apps subscribe in their `AppConfig.ready()`."""

from brokercrm.events.registry import EventType

KYC_APPROVED = EventType(
    "kyc.kyc_approved",
    "A KYC file was approved (the profile is activated in the same transaction). "
    "Payload: decided_by (auto or staff).",
)
DOCUMENT_EXPIRED = EventType(
    "kyc.document_expired",
    "An approved file's identity document expired: re-verification is required and the "
    "client may not trade meanwhile. Payload: expired_on.",
)

DOCUMENT_REQUESTED = EventType(
    "kyc.document_requested",
    "A reviewer sent a document back, or the file needs one more: the client is asked for it. "
    "Payload: document_id (or none), kind, reason_code, reason.",
)

KYC_REJECTED = EventType(
    "kyc.kyc_rejected",
    "A KYC file was rejected. Payload: reason_code, decided_by (auto or staff).",
)
