"""Requests and answers of the client's own account endpoints (`/me/profile`, password,
e-mail verification, documents and consents) and the brand front end's account calls."""

from __future__ import annotations

from django.conf import settings
from rest_framework import serializers

from ..models import ClientProfile

PASSWORD = {"max_length": 256, "trim_whitespace": False}


class MyProfileSerializer(serializers.ModelSerializer):
    entity = serializers.CharField(source="entity.code")

    class Meta:
        model = ClientProfile
        fields = [
            "id",
            "entity",
            "given_name",
            "family_name",
            "email",
            "email_verified",
            "phone",
            "address_line1",
            "address_line2",
            "city",
            "postcode",
            "residence_country",
            "language",
            "status",
            "agreement_version",
        ]
        read_only_fields = fields


class MyProfileUpdateSerializer(serializers.Serializer):
    email = serializers.CharField(
        max_length=254,
        required=False,
        help_text="A new address must be verified again; a verification e-mail is sent to it.",
    )
    phone = serializers.CharField(
        max_length=40,
        required=False,
        allow_blank=True,
        help_text="Read in the country of residence when written without a country code.",
    )
    address_line1 = serializers.CharField(max_length=200, required=False, allow_blank=True)
    address_line2 = serializers.CharField(max_length=200, required=False, allow_blank=True)
    city = serializers.CharField(max_length=100, required=False, allow_blank=True)
    postcode = serializers.CharField(max_length=20, required=False, allow_blank=True)
    language = serializers.ChoiceField(choices=settings.LANGUAGES, required=False)

    def validate(self, attrs: dict) -> dict:
        unknown = (
            set(self.initial_data) - set(self.fields)
            if isinstance(self.initial_data, dict)
            else set()
        )
        if unknown:
            raise serializers.ValidationError(
                {name: ["This field cannot be changed here."] for name in sorted(unknown)}
            )
        if not attrs:
            raise serializers.ValidationError("Send at least one field to change.")
        return attrs


class TokenSerializer(serializers.Serializer):
    token = serializers.CharField(max_length=400, help_text="The token from the e-mail's link.")


class VerifiedSerializer(serializers.Serializer):
    profile_id = serializers.IntegerField()
    email = serializers.CharField()
    email_verified = serializers.BooleanField()


class PasswordChangeSerializer(serializers.Serializer):
    current_password = serializers.CharField(**PASSWORD)
    new_password = serializers.CharField(
        **PASSWORD, help_text="Django's password validators apply."
    )


class PasswordResetRequestSerializer(serializers.Serializer):
    email = serializers.CharField(max_length=254)
    entity = serializers.CharField(
        max_length=16,
        required=False,
        help_text="The entity code, for a client the brand onboarded in another entity.",
    )


class PasswordResetConfirmSerializer(serializers.Serializer):
    uid = serializers.CharField(max_length=40)
    token = serializers.CharField(max_length=100)
    new_password = serializers.CharField(**PASSWORD)


class DocumentSerializer(serializers.Serializer):
    id = serializers.IntegerField(source="document.pk")
    kind = serializers.CharField(source="document.kind")
    version = serializers.IntegerField(source="document.version")
    title = serializers.CharField(source="document.title")
    body = serializers.CharField(source="document.body")
    url = serializers.CharField(source="document.url")
    published_at = serializers.DateTimeField(source="document.published_at")
    accepted = serializers.SerializerMethodField()
    accepted_at = serializers.DateTimeField(allow_null=True)

    def get_accepted(self, row: object) -> bool:
        return getattr(row, "accepted_at", None) is not None


class ConsentRequestSerializer(serializers.Serializer):
    document_id = serializers.IntegerField(min_value=1, max_value=2**63 - 1)


class ConsentSerializer(serializers.Serializer):
    id = serializers.IntegerField()
    document_id = serializers.IntegerField()
    kind = serializers.CharField()
    version = serializers.IntegerField()
    accepted_at = serializers.DateTimeField()
