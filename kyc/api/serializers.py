from __future__ import annotations

from rest_framework import serializers

from ..models import KycCheck, KycDocument, KycFile


class KycDocumentSerializer(serializers.ModelSerializer):
    class Meta:
        model = KycDocument
        fields = [
            "id",
            "kind",
            "doc_type",
            "version",
            "content_type",
            "size",
            "sha256",
            "issued_on",
            "expires_on",
            "uploaded_by",
            "uploaded_at",
        ]
        read_only_fields = fields


class KycCheckSerializer(serializers.ModelSerializer):
    class Meta:
        model = KycCheck
        fields = ["id", "kind", "provider", "result", "evidence", "document", "created_at"]
        read_only_fields = fields


class KycFileSerializer(serializers.ModelSerializer):
    entity = serializers.SlugRelatedField(slug_field="code", read_only=True)

    class Meta:
        model = KycFile
        fields = [
            "id",
            "entity",
            "profile",
            "status",
            "risk_score",
            "risk_level",
            "kyc_ruleset",
            "submitted_at",
            "decided_at",
            "auto_approved",
            "first_approver",
            "second_approver",
            "decision_reason",
            "earliest_withdrawal_at",
            "reverification_required",
            "updated_at",
        ]
        read_only_fields = fields


class KycCaseSerializer(KycFileSerializer):
    """The case view: the file, its documents, checks and risk breakdown."""

    documents = serializers.SerializerMethodField()
    checks = serializers.SerializerMethodField()

    class Meta(KycFileSerializer.Meta):
        fields = [
            *KycFileSerializer.Meta.fields,
            "questionnaire",
            "risk_breakdown",
            "documents",
            "checks",
        ]
        read_only_fields = fields

    def get_documents(self, kyc_file: KycFile) -> list[dict]:
        documents = KycDocument.objects.in_entity(kyc_file.entity_id).filter(kyc_file=kyc_file)
        return KycDocumentSerializer(documents, many=True).data

    def get_checks(self, kyc_file: KycFile) -> list[dict]:
        checks = KycCheck.objects.in_entity(kyc_file.entity_id).filter(kyc_file=kyc_file)
        return KycCheckSerializer(checks, many=True).data


class DecisionSerializer(serializers.Serializer):
    decision = serializers.ChoiceField(["approve", "reject"])
    reason = serializers.CharField(max_length=2000)
    aml = serializers.BooleanField(required=False, default=False)


class UploadSerializer(serializers.Serializer):
    kind = serializers.ChoiceField(KycDocument.Kind.choices)
    doc_type = serializers.CharField(max_length=30, required=False, default="")
    file = serializers.FileField()
    issued_on = serializers.DateField(required=False, allow_null=True)
    expires_on = serializers.DateField(required=False, allow_null=True)


class QuestionnaireSerializer(serializers.Serializer):
    employment_status = serializers.ChoiceField(
        ["employed", "self_employed", "retired", "student", "unemployed"]
    )
    occupation = serializers.CharField(max_length=100)
    annual_income = serializers.RegexField(r"^\d{1,12}(\.\d{1,2})?$")
    source_of_funds = serializers.CharField(max_length=200, allow_blank=True)
    expected_deposit = serializers.RegexField(r"^\d{1,12}(\.\d{1,2})?$")
    trading_experience = serializers.ChoiceField(["none", "some", "experienced"])
