from __future__ import annotations

from rest_framework import serializers

from brokercrm.api.base import ScopedPrimaryKeyField
from brokercrm.api.fields import AmountField

from ..models import Hold, JournalEntry, LedgerAccount, Posting


class WalletSerializer(serializers.ModelSerializer):
    entity = serializers.SlugRelatedField(slug_field="code", read_only=True)
    available = serializers.DecimalField(max_digits=24, decimal_places=8, read_only=True)

    class Meta:
        model = LedgerAccount
        fields = [
            "id",
            "entity",
            "profile",
            "currency",
            "balance",
            "held",
            "available",
            "created_at",
        ]
        read_only_fields = fields


class WalletOpenSerializer(serializers.Serializer):
    profile = ScopedPrimaryKeyField(
        model="identity.ClientProfile", perm="identity.view_clientprofile"
    )
    currency = serializers.CharField(max_length=3, min_length=3)


class PostingSerializer(serializers.ModelSerializer):
    class Meta:
        model = Posting
        fields = ["id", "account", "amount", "currency"]


class JournalSerializer(serializers.ModelSerializer):
    entity = serializers.SlugRelatedField(slug_field="code", read_only=True)
    postings = serializers.SerializerMethodField()

    class Meta:
        model = JournalEntry
        fields = [
            "id",
            "entity",
            "type",
            "idempotency_key",
            "reference",
            "reverses",
            "actor_label",
            "metadata",
            "created_at",
            "postings",
        ]
        read_only_fields = fields

    def get_postings(self, journal: JournalEntry) -> list[dict]:
        postings = (
            Posting.objects.in_entity(journal.entity_id).filter(journal=journal).order_by("pk")
        )
        return PostingSerializer(postings, many=True).data


class TransferSerializer(serializers.Serializer):
    source = serializers.IntegerField(min_value=1)
    target = serializers.IntegerField(min_value=1)
    amount = AmountField()


class HoldSerializer(serializers.ModelSerializer):
    class Meta:
        model = Hold
        fields = [
            "id",
            "account",
            "amount",
            "currency",
            "status",
            "purpose",
            "created_at",
            "resolved_at",
        ]
        read_only_fields = fields


class StatementLineSerializer(serializers.Serializer):
    posting_id = serializers.IntegerField()
    journal_id = serializers.IntegerField()
    type = serializers.CharField()
    reference = serializers.CharField()
    at = serializers.DateTimeField()
    amount = serializers.DecimalField(max_digits=24, decimal_places=8)
    currency = serializers.CharField()
    balance_after = serializers.DecimalField(max_digits=24, decimal_places=8)
