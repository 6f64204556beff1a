"""KYC/AML: one KYC file per client profile (so the EU and UK files of one person stay apart),
its documents and checks, and the group-wide screening list. Sanctions, PEP, AML-block and
risk-hold flags live on the group-level identity.Person, seen by every entity."""

from __future__ import annotations

from typing import ClassVar

from django.conf import settings
from django.db import models
from django.db.models import Q

from brokercrm.labels import number, person_name
from brokercrm.scoping import EntityOwned


class KycFile(EntityOwned):
    class Status(models.TextChoices):
        DRAFT = "draft", "Draft"
        SUBMITTED = "submitted", "Submitted"
        CHECKING = "checking", "Checks running"
        APPROVED = "approved", "Approved"
        IN_REVIEW = "in_review", "In review"
        ESCALATED = "escalated", "Escalated (EDD)"
        REJECTED = "rejected", "Rejected"

    class RiskLevel(models.TextChoices):
        UNSCORED = "unscored", "Not scored"
        LOW = "low", "Low"
        MEDIUM = "medium", "Medium"
        HIGH = "high", "High"

    profile = models.OneToOneField(
        "identity.ClientProfile", on_delete=models.PROTECT, related_name="+"
    )
    status = models.CharField(max_length=10, choices=Status.choices, default=Status.DRAFT)
    questionnaire = models.JSONField(default=dict, blank=True)
    risk_score = models.IntegerField(null=True, blank=True)
    risk_level = models.CharField(
        max_length=10, choices=RiskLevel.choices, default=RiskLevel.UNSCORED
    )
    risk_breakdown = models.JSONField(default=dict, blank=True)
    # Why the file went to enhanced due diligence: [{"code", "detail", ...}], empty if it did not.
    edd_triggers = models.JSONField(default=list, blank=True)
    kyc_ruleset = models.CharField(max_length=60, blank=True)
    cooling_off_ruleset = models.CharField(max_length=60, blank=True)
    submitted_at = models.DateTimeField(null=True, blank=True)
    decided_at = models.DateTimeField(null=True, blank=True)
    auto_approved = models.BooleanField(default=False)
    first_approver = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    second_approver = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    decision_reason = models.TextField(blank=True)
    aml_rejection = models.BooleanField(default=False)
    earliest_withdrawal_at = models.DateTimeField(null=True, blank=True)
    reverification_required = models.BooleanField(default=False)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    scope_desk_field: ClassVar[str] = "profile__desk"

    class Meta:
        ordering = ["-updated_at"]
        permissions = [
            ("approve_kycfile", "Can approve or reject KYC files"),
            ("escalate_kycfile", "Can escalate KYC files to enhanced due diligence"),
        ]
        indexes = [models.Index(fields=["entity", "status"])]
        constraints = [
            models.CheckConstraint(
                name="kycfile_two_different_approvers",
                condition=Q(second_approver__isnull=True)
                | ~Q(second_approver=models.F("first_approver")),
            ),
        ]

    def __str__(self) -> str:
        status = self.get_status_display().lower()
        return f"KYC file {number(self)} · {person_name(self)} ({status})"


class DocumentReview(models.TextChoices):
    PENDING = "pending", "Waiting for review"
    REVISION_REQUESTED = "revision_requested", "Sent back to the client"


# Why a reviewer sends a document back: stable codes a front end translates.
REVISION_REASONS = {
    "unreadable": "The document cannot be read: blurred, dark or cut off.",
    "expired": "The document has expired.",
    "wrong_document": "This is not a document of the kind asked for.",
    "incomplete": "Pages or sides are missing.",
    "name_mismatch": "The name does not match the name you registered with.",
    "address_mismatch": "The address does not match the address you gave us.",
    "too_old": "The document is older than we accept.",
    "other": "See the reviewer's note.",
}


# Identity documents with a front and a back: each side is its own upload (its own version).
TWO_SIDED_DOCUMENTS = ("national_id", "driving_licence")


def client_upload_label(profile_id: int) -> str:
    """What `uploaded_by` records when the client uploaded: no login name, no e-mail. A
    username cannot contain ":", so no staff member's name reads as a client's."""
    return f"client:{profile_id}"


class KycDocument(EntityOwned):
    class Kind(models.TextChoices):
        IDENTITY = "identity", "Identity document"
        PROOF_OF_ADDRESS = "proof_of_address", "Proof of address"
        SOURCE_OF_FUNDS = "source_of_funds", "Source of funds"
        SELFIE = "selfie", "Selfie / liveness"

    class Side(models.TextChoices):
        SINGLE = "single", "One page"
        FRONT = "front", "Front"
        BACK = "back", "Back"

    kyc_file = models.ForeignKey(KycFile, on_delete=models.PROTECT, related_name="documents")
    kind = models.CharField(max_length=20, choices=Kind.choices)
    doc_type = models.CharField(max_length=30, blank=True, help_text="passport, utility_bill, ...")
    # A two-sided identity document (TWO_SIDED_DOCUMENTS) is uploaded as its front and its
    # back; everything else is one page (a passport's photo page, a bill, a whole PDF).
    side = models.CharField(max_length=6, choices=Side.choices, default=Side.SINGLE)
    version = models.PositiveIntegerField()
    storage_name = models.CharField(max_length=64, unique=True)
    content_type = models.CharField(max_length=40)
    size = models.PositiveIntegerField()
    sha256 = models.CharField(max_length=64)
    issued_on = models.DateField(null=True, blank=True)
    expires_on = models.DateField(null=True, blank=True)
    uploaded_by = models.CharField(max_length=150)
    uploaded_at = models.DateTimeField(auto_now_add=True)
    # A reviewer may send this version back: the client uploads a new version of the kind.
    review_status = models.CharField(
        max_length=20, choices=DocumentReview.choices, default=DocumentReview.PENDING
    )
    review_reason_code = models.CharField(max_length=30, blank=True)
    review_reason = models.TextField(blank=True)
    reviewed_at = models.DateTimeField(null=True, blank=True)

    scope_desk_field: ClassVar[str] = "kyc_file__profile__desk"

    class Meta:
        ordering = ["kind", "-version"]
        constraints = [
            models.UniqueConstraint(
                fields=["kyc_file", "kind", "version"], name="kycdocument_version_unique"
            ),
            models.CheckConstraint(
                name="kycdocument_side_valid",
                condition=Q(side="single")
                | Q(kind="identity", doc_type__in=TWO_SIDED_DOCUMENTS, side__in=["front", "back"]),
            ),
        ]

    def __str__(self) -> str:
        side = "" if self.side == self.Side.SINGLE else f" ({self.get_side_display().lower()})"
        return f"{self.get_kind_display()}{side} v{self.version}"


class KycCheck(EntityOwned):
    class Kind(models.TextChoices):
        MRZ = "mrz", "MRZ"
        EXPIRY = "expiry", "Document expiry"
        SANCTIONS = "sanctions", "Sanctions screening"
        PEP = "pep", "PEP screening"
        LIVENESS = "liveness", "Liveness"
        PROOF_OF_ADDRESS = "proof_of_address", "Proof of address"
        SOURCE_OF_FUNDS = "source_of_funds", "Source of funds"
        APPROPRIATENESS = "appropriateness", "Appropriateness test"

    class Result(models.TextChoices):
        PENDING = "pending", "Pending"
        PASS = "pass", "Pass"
        # Recorded for the reviewer and the client, not blocking an approval (a failed
        # appropriateness test where the entity only warns).
        WARN = "warn", "Warning (not blocking)"
        REVIEW = "review", "Needs review"
        FAIL = "fail", "Fail"

    kyc_file = models.ForeignKey(KycFile, on_delete=models.PROTECT, related_name="checks")
    document = models.ForeignKey(
        KycDocument, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    kind = models.CharField(max_length=20, choices=Kind.choices)
    provider = models.CharField(max_length=40)
    input_fingerprint = models.CharField(max_length=64)
    result = models.CharField(max_length=8, choices=Result.choices)
    evidence = models.JSONField(default=dict, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    scope_desk_field: ClassVar[str] = "kyc_file__profile__desk"

    class Meta:
        ordering = ["kind", "-created_at"]
        constraints = [
            # A re-run of the same check on the same input creates nothing new.
            models.UniqueConstraint(
                fields=["kyc_file", "kind", "input_fingerprint"], name="kyccheck_once_per_input"
            )
        ]

    def __str__(self) -> str:
        return f"{self.get_kind_display()}: {self.result}"


class ScreeningListVersion(models.Model):
    """One load of the sanctions/PEP list (FollowTheMoney JSON lines)."""

    source = models.CharField(max_length=200)
    sha256 = models.CharField(max_length=64)
    entries = models.PositiveIntegerField()
    skipped_lines = models.PositiveIntegerField(default=0)
    loaded_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["-loaded_at"]

    def __str__(self) -> str:
        return f"{self.source} ({self.entries} entries, {self.loaded_at:%Y-%m-%d})"


class ScreeningEntry(models.Model):
    """A listed person, group-wide reference data."""

    version = models.ForeignKey(ScreeningListVersion, on_delete=models.CASCADE, related_name="+")
    entity_key = models.CharField(max_length=200, help_text="The list's own id")
    names = models.JSONField()
    weak_aliases = models.JSONField(default=list)
    birth_dates = models.JSONField(default=list)
    nationalities = models.JSONField(default=list)
    countries = models.JSONField(default=list)
    topics = models.JSONField(default=list)
    datasets = models.JSONField(default=list)
    is_sanction = models.BooleanField(default=False)
    is_pep = models.BooleanField(default=False)

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["version", "entity_key"], name="screeningentry_unique_per_version"
            )
        ]

    def __str__(self) -> str:
        return (self.names or ["?"])[0]
