"""Writes of the identity layer: registration, review decisions, merges, flags (see each module)."""

from ..matching import MatchResult
from .common import FLAG_FIELDS
from .consents import consent_accept
from .merges import person_merge, person_unmerge
from .notices import profile_notice_acknowledge, profile_notices_raise
from .passwords import (
    client_password_change,
    client_password_reset_confirm,
    client_password_reset_request,
)
from .profiles import (
    CLIENT_EDITABLE,
    PROFILE_EDITABLE,
    person_aml_block,
    person_flags_set,
    profile_activate,
    profile_update,
)
from .registration import (
    DocumentInput,
    RegistrationInput,
    RegistrationRefused,
    RegistrationResult,
    _normalise,
    registration_submit,
)
from .reviews import duplicate_case_decide
from .verification import (
    brand_actor,
    email_verification_confirm,
    email_verification_send,
    email_verification_token,
)

__all__ = [
    "CLIENT_EDITABLE",
    "FLAG_FIELDS",
    "PROFILE_EDITABLE",
    "DocumentInput",
    "MatchResult",
    "RegistrationInput",
    "RegistrationRefused",
    "RegistrationResult",
    "_normalise",
    "brand_actor",
    "client_password_change",
    "client_password_reset_confirm",
    "client_password_reset_request",
    "consent_accept",
    "duplicate_case_decide",
    "email_verification_confirm",
    "email_verification_send",
    "email_verification_token",
    "person_aml_block",
    "person_flags_set",
    "person_merge",
    "person_unmerge",
    "profile_activate",
    "profile_notice_acknowledge",
    "profile_notices_raise",
    "profile_update",
    "registration_submit",
]
