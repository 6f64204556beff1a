from __future__ import annotations

from rest_framework import serializers

from brokercrm.api.base import ScopedPrimaryKeyField
from entities.rules import EMPLOYMENT_STATUSES, SOURCES_OF_FUNDS, TRADING_EXPERIENCE

from ..models import REVISION_REASONS, KycCheck, KycDocument, KycFile


class KycDocumentSerializer(serializers.ModelSerializer):
    class Meta:
        model = KycDocument
        fields = [
            "id",
            "kind",
            "doc_type",
            "side",
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
            "edd_triggers",
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
    """The case view: the file, its documents, checks, risk breakdown, EDD triggers, the
    appropriateness outcome, and what stands between the file and an approval."""

    documents = serializers.SerializerMethodField()
    checks = serializers.SerializerMethodField()
    appropriateness = serializers.SerializerMethodField()
    review_reasons = serializers.SerializerMethodField()

    class Meta(KycFileSerializer.Meta):
        fields = [
            *KycFileSerializer.Meta.fields,
            "questionnaire",
            "risk_breakdown",
            "appropriateness",
            "review_reasons",
            "documents",
            "checks",
        ]
        read_only_fields = fields

    def _checks(self, kyc_file: KycFile) -> list[KycCheck]:
        cache = self.context.setdefault("_checks", {})
        if kyc_file.pk not in cache:
            cache[kyc_file.pk] = list(
                KycCheck.objects.in_entity(kyc_file.entity_id).filter(kyc_file=kyc_file)
            )
        return cache[kyc_file.pk]

    def _latest_by_kind(self, kyc_file: KycFile) -> dict[str, KycCheck]:
        latest: dict[str, KycCheck] = {}
        for check in self._checks(kyc_file):  # ordered by kind, newest first
            latest.setdefault(check.kind, check)
        return latest

    def get_documents(self, kyc_file: KycFile) -> list[dict]:
        documents = KycDocument.objects.in_entity(kyc_file.entity_id).filter(kyc_file=kyc_file)
        return KycDocumentSerializer(documents, many=True).data

    def get_checks(self, kyc_file: KycFile) -> list[dict]:
        return KycCheckSerializer(self._checks(kyc_file), many=True).data

    def get_appropriateness(self, kyc_file: KycFile) -> dict | None:
        check = self._latest_by_kind(kyc_file).get(KycCheck.Kind.APPROPRIATENESS)
        if check is None:
            return None
        keys = ("mode", "score", "max_score", "pass_mark", "passed", "blocking", "reason")
        return {"result": check.result, **{k: check.evidence.get(k) for k in keys}}

    def get_review_reasons(self, kyc_file: KycFile) -> list[dict]:
        """The latest check of each kind that did not pass, with its reason; warnings are
        listed as not blocking."""
        return [
            {
                "check": check.kind,
                "result": check.result,
                "reason": check.evidence.get("reason")
                or f"{check.get_kind_display()}: {check.get_result_display().lower()}",
                "blocking": check.result != KycCheck.Result.WARN,
            }
            for check in self._latest_by_kind(kyc_file).values()
            if check.result != KycCheck.Result.PASS
        ]


class DecisionSerializer(serializers.Serializer):
    decision = serializers.ChoiceField(["approve", "reject"])
    reason = serializers.CharField(max_length=2000)
    aml = serializers.BooleanField(required=False, default=False)


class UploadSerializer(serializers.Serializer):
    kind = serializers.ChoiceField(KycDocument.Kind.choices)
    doc_type = serializers.CharField(max_length=30, required=False, default="")
    # Checked by the service (stable codes): front or back of an ID card or driving licence,
    # left out for a one-page document.
    side = serializers.CharField(
        max_length=10,
        required=False,
        default="",
        allow_blank=True,
        help_text="front or back of a national_id or driving_licence; left out otherwise.",
    )
    file = serializers.FileField()
    issued_on = serializers.DateField(required=False, allow_null=True)
    expires_on = serializers.DateField(required=False, allow_null=True)


class QuestionnaireSerializer(serializers.Serializer):
    """The questionnaire's answers (for the API schema; kyc.questionnaire validates them
    against the entity's rules). Amounts are in the entity's base currency."""

    employment_status = serializers.ChoiceField(EMPLOYMENT_STATUSES, required=False)
    occupation = serializers.CharField(max_length=100, required=False)
    annual_income = serializers.DecimalField(
        max_digits=14, decimal_places=2, min_value=0, required=False
    )
    source_of_funds = serializers.ChoiceField(SOURCES_OF_FUNDS, required=False)
    source_of_funds_detail = serializers.CharField(max_length=500, required=False)
    expected_deposit = serializers.DecimalField(
        max_digits=14, decimal_places=2, min_value=0, required=False
    )
    trading_experience = serializers.ChoiceField(TRADING_EXPERIENCE, required=False)
    appropriateness = serializers.DictField(
        child=serializers.CharField(max_length=40),
        required=False,
        help_text="Appropriateness test answers: question id → answer id.",
    )


class KycFileOpenSerializer(serializers.Serializer):
    profile = ScopedPrimaryKeyField(model="identity.ClientProfile", perm="kyc.view_kycfile")


class RevisionRequestSerializer(serializers.Serializer):
    reason_code = serializers.ChoiceField(sorted(REVISION_REASONS))
    reason = serializers.CharField(max_length=2000, required=False, default="", allow_blank=True)
