"""Writes of the identity layer: registration, review decisions, merges, flags (see each module)."""

from ..matching import MatchResult
from .common import FLAG_FIELDS
from .merges import person_merge, person_unmerge
from .profiles import (
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

__all__ = [
    "FLAG_FIELDS",
    "PROFILE_EDITABLE",
    "DocumentInput",
    "MatchResult",
    "RegistrationInput",
    "RegistrationRefused",
    "RegistrationResult",
    "_normalise",
    "duplicate_case_decide",
    "person_aml_block",
    "person_flags_set",
    "person_merge",
    "person_unmerge",
    "profile_activate",
    "profile_update",
    "registration_submit",
]
