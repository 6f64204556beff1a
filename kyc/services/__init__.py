"""KYC/AML workflow: documents, checks, risk, decisions, screening list, expiry.

draft → submitted → checking → approved | in_review | escalated | rejected. The questionnaire
is validated against the entity's KYC rules for the client's residence country at submission, and
the file is decided under the rule-set version in force then. Low risk with every check passed
(or only warned about) is approved by the system; everything else lands in the entity's queue,
and files with an enhanced-due-diligence trigger (sanctions, PEP, AML block, or the rule set's
own triggers) are escalated to group compliance. High-risk approval takes two different
approvers. An AML rejection blocks the person group-wide, which the identity layer enforces at
every later registration.
"""

from .client import (
    document_revision_request,
    kyc_answers_save,
    kyc_client_submit,
    kyc_file_on_registration,
    kyc_file_open,
    kyc_steps,
)
from .client_liveness import LIVENESS_REASONS, kyc_liveness_start, liveness_state
from .common import kyc_file_for, storage_dir
from .decisions import OPEN_FOR_DECISION, kyc_approve, kyc_reject
from .documents import document_client_read, document_read, document_upload
from .expiry import documents_expiry_sweep
from .screening_list import screening_load, screening_rescreen
from .submission import NOT_BLOCKING, RISK_ORDER, kyc_run_checks, kyc_submit

__all__ = [
    "LIVENESS_REASONS",
    "NOT_BLOCKING",
    "OPEN_FOR_DECISION",
    "RISK_ORDER",
    "document_client_read",
    "document_read",
    "document_revision_request",
    "document_upload",
    "documents_expiry_sweep",
    "kyc_answers_save",
    "kyc_approve",
    "kyc_client_submit",
    "kyc_file_for",
    "kyc_file_on_registration",
    "kyc_file_open",
    "kyc_liveness_start",
    "kyc_reject",
    "kyc_run_checks",
    "kyc_steps",
    "kyc_submit",
    "liveness_state",
    "screening_load",
    "screening_rescreen",
    "storage_dir",
]
