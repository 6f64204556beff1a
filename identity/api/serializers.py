from __future__ import annotations

from typing import Any

from django.conf import settings
from rest_framework import serializers

from brokercrm.api.base import ScopedPrimaryKeyField
from brokercrm.scoping import scope_for

from ..fields import masked
from ..models import ClientProfile, DuplicateCase, IdentityDocument, Person, PersonMerge


class DocumentInputSerializer(serializers.Serializer):
    type = serializers.ChoiceField(IdentityDocument.Type.choices)
    number = serializers.CharField(max_length=40)
    issuing_country = serializers.CharField(max_length=2, min_length=2)
    expires_on = serializers.DateField(required=False, allow_null=True)


class RegistrationSerializer(serializers.Serializer):
    given_name = serializers.CharField(max_length=200)
    family_name = serializers.CharField(max_length=200)
    birth_date = serializers.DateField()
    residence_country = serializers.CharField(max_length=2, min_length=2)
    nationality = serializers.CharField(max_length=2, min_length=2, required=False, default="")
    email = serializers.CharField(max_length=254)
    email_verified = serializers.BooleanField(required=False, default=False)
    phone = serializers.CharField(max_length=40, required=False, default="", allow_blank=True)
    address_line1 = serializers.CharField(
        max_length=200, required=False, default="", allow_blank=True
    )
    address_line2 = serializers.CharField(
        max_length=200, required=False, default="", allow_blank=True
    )
    city = serializers.CharField(max_length=100, required=False, default="", allow_blank=True)
    postcode = serializers.CharField(max_length=20, required=False, default="", allow_blank=True)
    document = DocumentInputSerializer(required=False, allow_null=True)
    tax_id = serializers.CharField(max_length=40, required=False, default="", allow_blank=True)
    tax_id_country = serializers.CharField(
        max_length=2, required=False, default="", allow_blank=True
    )
    device_fingerprint = serializers.CharField(
        max_length=128, required=False, default="", allow_blank=True
    )
    ip = serializers.CharField(max_length=45, required=False, default="", allow_blank=True)
    agreement_version = serializers.CharField(
        max_length=40, required=False, default="", allow_blank=True
    )
    language = serializers.ChoiceField(
        choices=settings.LANGUAGES,
        required=False,
        default="en",
        help_text="The language the client reads: e-mails and notifications are written in it.",
    )
    referral_code = serializers.SlugField(
        max_length=40,
        required=False,
        default="",
        allow_blank=True,
        help_text="The IB referral code the applicant came with, if any.",
    )


class RegistrationResultSerializer(serializers.Serializer):
    registration_id = serializers.IntegerField()
    status = serializers.ChoiceField(["accepted", "pending_review"])
    profile_id = serializers.IntegerField()
    entity = serializers.CharField()
    referral_attributed = serializers.BooleanField(
        allow_null=True,
        help_text="Null without a referral code; false when the code was kept for review "
        "(unknown, or of another entity) and attributed nothing.",
    )


class DocumentSerializer(serializers.ModelSerializer):
    number = serializers.SerializerMethodField()

    class Meta:
        model = IdentityDocument
        fields = ["id", "doc_type", "number", "issuing_country", "expires_on", "created_at"]

    def get_number(self, document: IdentityDocument) -> str:
        # Numbers are shown masked; the full number is for KYC review screens only.
        return masked(document.number)


class ClientProfileSerializer(serializers.ModelSerializer):
    person = serializers.SlugRelatedField(slug_field="public_id", read_only=True)
    brand = serializers.SlugRelatedField(slug_field="code", read_only=True)
    entity = serializers.SlugRelatedField(slug_field="code", read_only=True)
    documents = serializers.SerializerMethodField()

    class Meta:
        model = ClientProfile
        fields = [
            "id",
            "person",
            "entity",
            "brand",
            "desk",
            "status",
            "status_reason",
            "agreement_version",
            "assigned_to",
            "given_name",
            "family_name",
            "given_name_latin",
            "family_name_latin",
            "birth_date",
            "nationality",
            "residence_country",
            "address_line1",
            "address_line2",
            "city",
            "postcode",
            "email",
            "email_verified",
            "phone",
            "routing_ruleset",
            "documents",
            "created_at",
        ]
        read_only_fields = fields

    def get_documents(self, profile: ClientProfile) -> list[dict[str, Any]] | None:
        """Field policy: only roles that may see KYC documents get them (sales never do)."""
        request = self.context.get("request")
        if request is None or not scope_for(
            request.user, "identity.view_identitydocument"
        ).contains(profile):
            return None
        documents = IdentityDocument.objects.in_entity(profile.entity_id).filter(profile=profile)
        return DocumentSerializer(documents, many=True).data


class ClientProfileUpdateSerializer(serializers.Serializer):
    desk = ScopedPrimaryKeyField(
        model="entities.Desk", perm="entities.view_desk", required=False, allow_null=True
    )
    status = serializers.ChoiceField(
        [
            ClientProfile.Status.ACTIVE,
            ClientProfile.Status.RESTRICTED,
            ClientProfile.Status.CLOSED,
            ClientProfile.Status.APPLICANT,
            ClientProfile.Status.LEAD,
        ],
        required=False,
    )
    status_reason = serializers.CharField(max_length=500, required=False, allow_blank=True)
    address_line1 = serializers.CharField(max_length=200, required=False, allow_blank=True)
    address_line2 = serializers.CharField(max_length=200, required=False, allow_blank=True)
    city = serializers.CharField(max_length=100, required=False, allow_blank=True)
    postcode = serializers.CharField(max_length=20, required=False, allow_blank=True)
    reason = serializers.CharField(max_length=500, required=False, default="")


class PersonSummarySerializer(serializers.ModelSerializer):
    class Meta:
        model = Person
        fields = [
            "id",
            "public_id",
            "status",
            "given_name",
            "family_name",
            "birth_date",
            "nationality",
            "aml_blocked",
            "sanctions_hit",
            "pep",
            "risk_hold",
            "risk_level",
        ]


class DuplicateCaseSerializer(serializers.ModelSerializer):
    entity = serializers.SlugRelatedField(slug_field="code", read_only=True)

    class Meta:
        model = DuplicateCase
        fields = [
            "id",
            "entity",
            "status",
            "profile",
            "new_person",
            "candidate",
            "confidence",
            "explanation",
            "decided_by",
            "decided_at",
            "decision_reason",
            "created_at",
        ]
        read_only_fields = fields


class DuplicateCaseDecisionSerializer(serializers.Serializer):
    decision = serializers.ChoiceField(["link", "distinct", "block"])
    reason = serializers.CharField(max_length=1000)


class PersonMergeSerializer(serializers.ModelSerializer):
    class Meta:
        model = PersonMerge
        fields = [
            "id",
            "survivor",
            "merged",
            "case",
            "moved_profile_ids",
            "performed_at",
            "undone_at",
            "reason",
        ]
        read_only_fields = fields


class ReasonSerializer(serializers.Serializer):
    reason = serializers.CharField(max_length=1000)
