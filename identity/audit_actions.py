"""What the identity app records in the audit log (`identity.*`).

Its client logins, passwords and second factors record `access.*` actions, which live with the
tokens in `brokercrm.accounts.audit_actions`.
"""

from __future__ import annotations

# A registration, by the match engine's outcome (`MatchDecision.Outcome`).
REGISTRATION_NEW = "identity.registration_new"
REGISTRATION_AUTO_LINK = "identity.registration_auto_link"
REGISTRATION_REVIEW = "identity.registration_review"
REGISTRATION_BLOCK = "identity.registration_block"
# Refused: the person is already a client of this entity.
REGISTRATION_DUPLICATE = "identity.registration_duplicate"

REGISTRATION_BY_OUTCOME = {
    "new": REGISTRATION_NEW,
    "auto_link": REGISTRATION_AUTO_LINK,
    "review": REGISTRATION_REVIEW,
    "block": REGISTRATION_BLOCK,
    "duplicate": REGISTRATION_DUPLICATE,
}

# A reviewer's decision on a duplicate case.
DUPLICATE_CASE_LINK = "identity.duplicate_case_link"
DUPLICATE_CASE_DISTINCT = "identity.duplicate_case_distinct"
DUPLICATE_CASE_BLOCK = "identity.duplicate_case_block"

DUPLICATE_CASE_BY_DECISION = {
    "link": DUPLICATE_CASE_LINK,
    "distinct": DUPLICATE_CASE_DISTINCT,
    "block": DUPLICATE_CASE_BLOCK,
}

PERSON_MERGED = "identity.person_merged"
PERSON_UNMERGED = "identity.person_unmerged"
# Group-wide flags (sanctions, PEP, AML block) set on a person.
PERSON_FLAGS_RAISED = "identity.person_flags_raised"
PERSON_AML_BLOCKED = "identity.person_aml_blocked"
PROFILE_ACTIVATED = "identity.profile_activated"
PROFILE_UPDATED = "identity.profile_updated"
CONSENT_ACCEPTED = "identity.consent_accepted"
EMAIL_VERIFICATION_SENT = "identity.email_verification_sent"
EMAIL_VERIFIED = "identity.email_verified"
BRAND_API_KEY_ISSUED = "identity.brand_api_key_issued"
# Compliance took note that a client of theirs also has a profile at another entity.
PROFILE_NOTICE_ACKNOWLEDGED = "identity.profile_notice_acknowledged"
