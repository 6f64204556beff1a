"""One identity layer: a group-level Person, one ClientProfile per entity, and the match index.

Person rows are shared across the group (no entity owner): the master identity and the flags
every entity must see (AML block, sanctions, PEP, risk hold). Everything a client gave one
entity (contact details, documents, tax numbers) lives on that entity's ClientProfile and its
entity-owned children. Document and tax numbers are encrypted; the match index (MatchKey)
holds only keyed HMAC digests, so a database dump contains no plaintext number.
"""

from __future__ import annotations

import uuid
from typing import ClassVar

from django.conf import settings
from django.db import models
from django.db.models import Q

from brokercrm.labels import number, person_name
from brokercrm.reference import COUNTRY_CHOICES
from brokercrm.scoping import EntityOwned

from .choices import ProfileStatus
from .fields import EncryptedTextField


class RiskLevel(models.TextChoices):
    UNKNOWN = "unknown", "Unknown"
    LOW = "low", "Low"
    MEDIUM = "medium", "Medium"
    HIGH = "high", "High"


RISK_ORDER = [RiskLevel.UNKNOWN, RiskLevel.LOW, RiskLevel.MEDIUM, RiskLevel.HIGH]


class Person(models.Model):
    """The human behind every profile, once for the whole group."""

    class Status(models.TextChoices):
        ACTIVE = "active", "Active"
        MERGED = "merged", "Merged into another person"

    public_id = models.UUIDField(default=uuid.uuid4, unique=True, editable=False)
    status = models.CharField(max_length=10, choices=Status.choices, default=Status.ACTIVE)
    merged_into = models.ForeignKey(
        "self", null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    # Master identity, in Latin script (the profiles keep names as given).
    given_name = models.CharField(max_length=200)
    family_name = models.CharField(max_length=200)
    birth_date = models.DateField()
    nationality = models.CharField(max_length=2, choices=COUNTRY_CHOICES, blank=True)
    # Flags every entity sees and the identity layer enforces.
    aml_blocked = models.BooleanField(default=False)
    aml_block_reason = models.TextField(blank=True)
    aml_blocked_at = models.DateTimeField(null=True, blank=True)
    sanctions_hit = models.BooleanField(default=False)
    pep = models.BooleanField(default=False)
    risk_hold = models.BooleanField(default=False)
    risk_level = models.CharField(
        max_length=10, choices=RiskLevel.choices, default=RiskLevel.UNKNOWN
    )
    # Group-wide communication preferences.
    marketing_email = models.BooleanField(default=False)
    marketing_sms = models.BooleanField(default=False)
    marketing_phone = models.BooleanField(default=False)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        permissions = [
            ("merge_person", "Can merge and unmerge persons"),
            ("export_clients", "Can export client lists"),
        ]
        constraints = [
            models.CheckConstraint(
                name="person_merged_has_target",
                condition=Q(status="merged", merged_into__isnull=False)
                | Q(status="active", merged_into__isnull=True),
            ),
        ]

    def __str__(self) -> str:
        return f"{self.given_name} {self.family_name} ({self.public_id.hex[:8]})"


class ClientProfile(EntityOwned):
    """A person as a client of one entity: one per person per entity."""

    Status = ProfileStatus

    person = models.ForeignKey(Person, on_delete=models.PROTECT, related_name="profiles")
    brand = models.ForeignKey("entities.Brand", on_delete=models.PROTECT, related_name="+")
    desk = models.ForeignKey(
        "entities.Desk", null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    status = models.CharField(max_length=12, choices=Status.choices, default=Status.APPLICANT)
    status_reason = models.TextField(blank=True)
    agreement_version = models.CharField(max_length=40, blank=True)
    assigned_to = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    # As given at registration, and in Latin script.
    given_name = models.CharField(max_length=200)
    family_name = models.CharField(max_length=200)
    given_name_latin = models.CharField(max_length=200)
    family_name_latin = models.CharField(max_length=200)
    birth_date = models.DateField()
    nationality = models.CharField(max_length=2, choices=COUNTRY_CHOICES, blank=True)
    residence_country = models.CharField(max_length=2, choices=COUNTRY_CHOICES)
    address_line1 = models.CharField(max_length=200, blank=True)
    address_line2 = models.CharField(max_length=200, blank=True)
    city = models.CharField(max_length=100, blank=True)
    postcode = models.CharField(max_length=20, blank=True)
    email = models.CharField(max_length=254)
    email_canonical = models.CharField(max_length=254)
    email_verified = models.BooleanField(default=False)
    phone = models.CharField(max_length=20, blank=True, help_text="E.164")
    # The language the client reads (portal, notifications, e-mail): one of settings.LANGUAGES.
    language = models.CharField(max_length=8, choices=settings.LANGUAGES, default="en")
    registration_ip = models.GenericIPAddressField(null=True, blank=True)
    device_fingerprint = models.CharField(max_length=128, blank=True)
    routing_ruleset = models.CharField(max_length=60, help_text="Onboarding rules applied")
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    scope_desk_field: ClassVar[str] = "desk"

    class Meta:
        ordering = ["-created_at"]
        permissions = [("end_sessions_clientprofile", "Can end a client's signed-in sessions")]
        constraints = [
            # A person is a client of an entity once.
            models.UniqueConstraint(
                fields=["person", "entity"], name="clientprofile_one_per_entity"
            ),
        ]
        indexes = [
            models.Index(fields=["entity", "status"]),
            models.Index(fields=["email_canonical"]),
        ]

    def __str__(self) -> str:
        return f"{self.given_name} {self.family_name} ({self.get_status_display().lower()})"


class IdentityDocument(EntityOwned):
    class Type(models.TextChoices):
        PASSPORT = "passport", "Passport"
        NATIONAL_ID = "national_id", "National ID card"
        DRIVING_LICENCE = "driving_licence", "Driving licence"

    profile = models.ForeignKey(ClientProfile, on_delete=models.PROTECT, related_name="documents")
    doc_type = models.CharField(max_length=20, choices=Type.choices)
    number = EncryptedTextField()
    number_index = models.BinaryField(max_length=16, editable=False)
    issuing_country = models.CharField(max_length=2, choices=COUNTRY_CHOICES)
    expires_on = models.DateField(null=True, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    scope_desk_field: ClassVar[str] = "profile__desk"

    class Meta:
        indexes = [models.Index(fields=["number_index"])]

    def __str__(self) -> str:
        return f"{self.get_doc_type_display()} ({self.issuing_country})"


class TaxIdentifier(EntityOwned):
    profile = models.ForeignKey(ClientProfile, on_delete=models.PROTECT, related_name="tax_ids")
    country = models.CharField(max_length=2, choices=COUNTRY_CHOICES)
    number = EncryptedTextField()
    number_index = models.BinaryField(max_length=16, editable=False)
    created_at = models.DateTimeField(auto_now_add=True)

    scope_desk_field: ClassVar[str] = "profile__desk"

    def __str__(self) -> str:
        return f"Tax id ({self.country})"


class MatchKey(models.Model):
    """The group-wide match index: one HMAC digest per normalised identifying value.

    A key belongs to the profile that supplied it; `person` is that profile's person, kept
    here so candidate lookup is one indexed query. Merges re-point `person`; unmerges put it
    back from the profile.
    """

    class Kind(models.TextChoices):
        EMAIL = "email", "Email"
        PHONE = "phone", "Phone"
        DOCUMENT = "doc", "Document number"
        TAX = "tax", "Tax identifier"
        NAME_DOB = "name_dob", "Name and birth date"
        PHONETIC_DOB = "phon_dob", "Phonetic name and birth date"
        FAMILY_DOB = "fam_dob", "Family name and birth date"
        DEVICE = "device", "Device"
        IP = "ip", "IP address"
        SUBNET = "subnet", "IP subnet"

    person = models.ForeignKey(Person, on_delete=models.PROTECT, related_name="+")
    profile = models.ForeignKey(ClientProfile, on_delete=models.PROTECT, related_name="+")
    kind = models.CharField(max_length=10, choices=Kind.choices)
    digest = models.BinaryField(max_length=16)

    class Meta:
        indexes = [models.Index(fields=["digest"], name="matchkey_digest")]
        constraints = [
            models.UniqueConstraint(
                fields=["profile", "kind", "digest"], name="matchkey_unique_per_profile"
            )
        ]

    def __str__(self) -> str:
        return f"{self.get_kind_display()} key of client profile #{self.profile_id}"


class MatchDecision(EntityOwned):
    """What the identity layer decided for one registration attempt, and why."""

    class Outcome(models.TextChoices):
        NEW = "new", "New person"
        AUTO_LINK = "auto_link", "Linked to an existing person"
        REVIEW = "review", "Held for review"
        BLOCK = "block", "Blocked"
        DUPLICATE = "duplicate", "Refused: already a client of this entity"

    brand = models.ForeignKey("entities.Brand", on_delete=models.PROTECT, related_name="+")
    outcome = models.CharField(max_length=10, choices=Outcome.choices)
    person = models.ForeignKey(
        Person, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    profile = models.ForeignKey(
        ClientProfile, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    candidate = models.ForeignKey(
        Person, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    confidence = models.DecimalField(max_digits=5, decimal_places=4, default=0)
    explanation = models.JSONField(default=dict)
    ruleset = models.CharField(max_length=60)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["-created_at"]

    def __str__(self) -> str:
        who = person_name(self) if self.profile_id else "no profile"
        return (
            f"Match decision {number(self)} · {who}: {self.get_outcome_display()}"
            f" ({self.confidence:.0%})"
        )


class DuplicateCase(EntityOwned):
    """A registration held because it may be a person the group already knows."""

    class Status(models.TextChoices):
        OPEN = "open", "Open"
        LINKED = "linked", "Linked (merged)"
        DISTINCT = "distinct", "Distinct people"
        BLOCKED = "blocked", "Blocked"

    profile = models.ForeignKey(ClientProfile, on_delete=models.PROTECT, related_name="+")
    new_person = models.ForeignKey(Person, on_delete=models.PROTECT, related_name="+")
    candidate = models.ForeignKey(Person, on_delete=models.PROTECT, related_name="+")
    decision = models.ForeignKey(MatchDecision, on_delete=models.PROTECT, related_name="+")
    confidence = models.DecimalField(max_digits=5, decimal_places=4)
    explanation = models.JSONField(default=dict)
    status = models.CharField(max_length=10, choices=Status.choices, default=Status.OPEN)
    decided_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    decided_at = models.DateTimeField(null=True, blank=True)
    decision_reason = models.TextField(blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    scope_desk_field: ClassVar[str] = "profile__desk"

    class Meta:
        ordering = ["-created_at"]
        permissions = [("review_duplicatecase", "Can decide duplicate cases")]
        indexes = [models.Index(fields=["entity", "status"])]

    def __str__(self) -> str:
        status = self.get_status_display().lower()
        return f"Duplicate case {number(self)} · {person_name(self)} ({status})"


class DistinctPair(models.Model):
    """Two persons a reviewer declared different people: never raised as a pair again."""

    person_low = models.ForeignKey(Person, on_delete=models.PROTECT, related_name="+")
    person_high = models.ForeignKey(Person, on_delete=models.PROTECT, related_name="+")
    decided_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["person_low", "person_high"], name="distinctpair_unique"
            ),
            models.CheckConstraint(
                name="distinctpair_ordered", condition=Q(person_low__lt=models.F("person_high"))
            ),
        ]

    def __str__(self) -> str:
        return f"Persons #{self.person_low_id} and #{self.person_high_id} are different people"


class PersonMerge(models.Model):
    """One merge of `merged` into `survivor`, with what is needed to undo it exactly."""

    survivor = models.ForeignKey(Person, on_delete=models.PROTECT, related_name="+")
    merged = models.ForeignKey(Person, on_delete=models.PROTECT, related_name="+")
    case = models.ForeignKey(
        DuplicateCase, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    moved_profile_ids = models.JSONField(default=list)
    survivor_before = models.JSONField(default=dict)
    merged_before = models.JSONField(default=dict)
    performed_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    performed_at = models.DateTimeField()
    undone_at = models.DateTimeField(null=True, blank=True)
    undone_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    reason = models.TextField(blank=True)

    class Meta:
        ordering = ["-performed_at"]

    def __str__(self) -> str:
        return f"Person #{self.merged_id} merged into person #{self.survivor_id}"


class BrandApiKey(EntityOwned):
    """A brand front end's key for the registration API. Only a hash of the secret is kept."""

    brand = models.ForeignKey("entities.Brand", on_delete=models.PROTECT, related_name="+")
    name = models.CharField(max_length=80)
    prefix = models.CharField(max_length=12, unique=True)
    secret_hash = models.CharField(max_length=64)
    active = models.BooleanField(default=True)
    created_at = models.DateTimeField(auto_now_add=True)
    last_used_at = models.DateTimeField(null=True, blank=True)

    def __str__(self) -> str:
        return f"{self.name} ({self.prefix}…)"


class Consent(EntityOwned):
    """A client accepted one version of one of their entity's legal documents.

    Append-only (the database refuses updates and deletes): the record of what the client
    read, when and from where. A new version of a document needs a new acceptance."""

    profile = models.ForeignKey(ClientProfile, on_delete=models.PROTECT, related_name="consents")
    document = models.ForeignKey(
        "entities.LegalDocument", on_delete=models.PROTECT, related_name="+"
    )
    kind = models.CharField(max_length=20, help_text="The document's kind, as accepted")
    version = models.PositiveIntegerField()
    accepted_at = models.DateTimeField()
    ip = models.GenericIPAddressField(null=True, blank=True)
    user_agent = models.CharField(max_length=400, blank=True)

    scope_desk_field: ClassVar[str] = "profile__desk"

    class Meta:
        ordering = ["-accepted_at"]
        constraints = [
            models.UniqueConstraint(fields=["profile", "document"], name="consent_once"),
        ]

    def __str__(self) -> str:
        kind = self.kind.replace("_", " ").capitalize()
        return f"{kind} v{self.version} accepted by {person_name(self)}"


class ProfileNotice(EntityOwned):
    """Tells one entity's compliance that a client of theirs now also has a profile at another
    entity of the group (an auto-linked registration, a merge). It holds the two profiles'
    ids only: what a page shows of the other one is what oversight allows (that it exists,
    its entity and status), never that entity's records."""

    # This entity's own profile of the person.
    profile = models.ForeignKey(ClientProfile, on_delete=models.PROTECT, related_name="+")
    # The person's new profile at another entity.
    other_profile = models.ForeignKey(ClientProfile, on_delete=models.PROTECT, related_name="+")
    created_at = models.DateTimeField(auto_now_add=True)
    acknowledged_at = models.DateTimeField(null=True, blank=True)
    acknowledged_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )

    scope_desk_field: ClassVar[str] = "profile__desk"

    class Meta:
        ordering = ["-created_at"]
        indexes = [models.Index(fields=["entity", "acknowledged_at"])]
        constraints = [
            models.UniqueConstraint(
                fields=["profile", "other_profile"], name="profilenotice_once_per_pair"
            ),
            models.CheckConstraint(
                name="profilenotice_two_profiles",
                condition=~Q(profile=models.F("other_profile")),
            ),
        ]

    def __str__(self) -> str:
        return (
            f"Notice: client profile #{self.profile_id} also has profile #{self.other_profile_id}"
        )
