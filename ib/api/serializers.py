from __future__ import annotations

from rest_framework import serializers

from ..models import CommissionLine, IbPartner


class IbPartnerSerializer(serializers.ModelSerializer):
    class Meta:
        model = IbPartner
        fields = ["id", "entity", "name", "plan", "status", "created_at"]


class CommissionLineSerializer(serializers.ModelSerializer):
    class Meta:
        model = CommissionLine
        fields = [
            "id",
            "entity",
            "deal",
            "ib",
            "tier",
            "kind",
            "deal_time",
            "lots",
            "amount",
            "paid_amount",
            "currency",
            "plan_version",
            "status",
            "payout_journal",
        ]


class StatementQuerySerializer(serializers.Serializer):
    date_from = serializers.DateTimeField()
    date_to = serializers.DateTimeField()
    output = serializers.ChoiceField(choices=["json", "csv"], default="json", required=False)
