"""What the KYC app records in the audit log (`kyc.*`)."""

from __future__ import annotations

FILE_OPENED = "kyc.file_opened"
# The client saved one section of the draft: the questionnaire or the appropriateness test.
QUESTIONNAIRE_SAVED = "kyc.questionnaire_saved"
APPROPRIATENESS_SAVED = "kyc.appropriateness_saved"

SAVED_BY_SECTION = {
    "questionnaire": QUESTIONNAIRE_SAVED,
    "appropriateness": APPROPRIATENESS_SAVED,
}

DOCUMENT_UPLOADED = "kyc.document_uploaded"
# Someone (staff or the client) read a stored document's bytes.
DOCUMENT_READ = "kyc.document_read"
DOCUMENT_REVISION_REQUESTED = "kyc.document_revision_requested"
SUBMITTED = "kyc.submitted"

# The automatic checks finished, by where they left the file.
CHECKS_APPROVED = "kyc.checks_approved"
CHECKS_IN_REVIEW = "kyc.checks_in_review"
CHECKS_ESCALATED = "kyc.checks_escalated"

CHECKS_BY_STATUS = {
    "approved": CHECKS_APPROVED,
    "in_review": CHECKS_IN_REVIEW,
    "escalated": CHECKS_ESCALATED,
}

LIVENESS_STARTED = "kyc.liveness_started"
LIVENESS_ANSWERED = "kyc.liveness_answered"
# A liveness session the vendor did not answer in time went to a reviewer.
LIVENESS_OVERDUE = "kyc.liveness_overdue"

# The first of the two approvals a high-risk file needs.
FIRST_APPROVAL = "kyc.first_approval"
APPROVED = "kyc.approved"
REJECTED = "kyc.rejected"
# An identity document expired: the client must verify again.
REVERIFICATION_REQUIRED = "kyc.reverification_required"
SCREENING_LIST_LOADED = "kyc.screening_list_loaded"
# A new screening list matched an approved client: the file was escalated.
RESCREEN_HIT = "kyc.rescreen_hit"
