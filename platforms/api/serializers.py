from __future__ import annotations

from rest_framework import serializers

from brokercrm.api.base import ScopedPrimaryKeyField
from brokercrm.api.fields import AmountField

from ..models import (
    AccountType,
    ControlFailure,
    Deal,
    GroupMapping,
    TradingAccount,
    TradingEvent,
    TradingServer,
    TradingTransfer,
)
from ..services.accounts import STAFF_STATUSES


class TradingServerSerializer(serializers.ModelSerializer):
    entity = serializers.SlugRelatedField(slug_field="code", read_only=True)
    kind = serializers.CharField(read_only=True)
    last_full_sync = serializers.DateTimeField(
        source="cursor.accounts_synced_at", read_only=True, default=None
    )

    class Meta:
        model = TradingServer
        fields = [
            "id",
            "entity",
            "name",
            "kind",
            "server_name",
            "base_url",
            "active",
            "last_full_sync",
        ]
        read_only_fields = fields


class GroupMappingSerializer(serializers.ModelSerializer):
    entity = serializers.SlugRelatedField(slug_field="code", read_only=True)
    account_type = serializers.CharField(read_only=True)
    currency = serializers.CharField(read_only=True)

    class Meta:
        model = GroupMapping
        fields = [
            "id",
            "entity",
            "server",
            "account_type",
            "currency",
            "group",
            "leverage",
            "active",
        ]
        read_only_fields = fields


class TradingAccountSerializer(serializers.ModelSerializer):
    entity = serializers.SlugRelatedField(slug_field="code", read_only=True)
    server_name = serializers.CharField(source="server.server_name", read_only=True)
    account_type = serializers.CharField(read_only=True)
    currency = serializers.CharField(read_only=True)
    status = serializers.CharField(read_only=True)
    server_rights = serializers.CharField(read_only=True)

    class Meta:
        model = TradingAccount
        fields = [
            "id",
            "entity",
            "profile",
            "server",
            "server_name",
            "login",
            "account_type",
            "group",
            "currency",
            "leverage",
            "status",
            "status_reason",
            "server_rights",
            "balance",
            "credit",
            "equity",
            "margin",
            "free_margin",
            "margin_level",
            "synced_at",
            "created_at",
        ]
        read_only_fields = fields


class AccountOpenSerializer(serializers.Serializer):
    profile = ScopedPrimaryKeyField(
        model="identity.ClientProfile", perm="identity.view_clientprofile"
    )
    account_type = serializers.ChoiceField(choices=AccountType.choices)
    currency = serializers.CharField(min_length=3, max_length=3)
    server = ScopedPrimaryKeyField(
        model=TradingServer, perm="platforms.view_tradingserver", required=False, allow_null=True
    )
    leverage = serializers.IntegerField(required=False, min_value=1, max_value=1000)


class TradingTransferRequestSerializer(serializers.Serializer):
    amount = AmountField()


class AccountStatusSerializer(serializers.Serializer):
    status = serializers.ChoiceField(choices=[(s, s) for s in STAFF_STATUSES])
    reason = serializers.CharField(max_length=500)


class TradingTransferSerializer(serializers.ModelSerializer):
    direction = serializers.CharField(read_only=True)
    currency = serializers.CharField(read_only=True)
    status = serializers.CharField(read_only=True)

    class Meta:
        model = TradingTransfer
        fields = [
            "id",
            "account",
            "direction",
            "amount",
            "currency",
            "status",
            "operation_id",
            "journal",
            "reversal",
            "server_ticket",
            "server_balance_after",
            "error_code",
            "error_detail",
            "created_at",
            "completed_at",
        ]
        read_only_fields = fields


class DealSerializer(serializers.ModelSerializer):
    class Meta:
        model = Deal
        fields = [
            "id",
            "server",
            "ticket",
            "login",
            "account",
            "kind",
            "entry",
            "symbol",
            "volume",
            "price",
            "profit",
            "commission",
            "swap",
            "comment",
            "time",
            "position",
        ]
        read_only_fields = fields


class TradingEventSerializer(serializers.ModelSerializer):
    kind = serializers.CharField(read_only=True)

    class Meta:
        model = TradingEvent
        fields = ["id", "server", "seq", "kind", "login", "account", "payload", "time"]
        read_only_fields = fields


class ControlFailureSerializer(serializers.ModelSerializer):
    kind = serializers.CharField(read_only=True)
    status = serializers.CharField(read_only=True)
    login = serializers.IntegerField(source="account.login", read_only=True)
    profile = serializers.IntegerField(source="account.profile_id", read_only=True)

    class Meta:
        model = ControlFailure
        fields = [
            "id",
            "account",
            "login",
            "profile",
            "kind",
            "crm_status",
            "server_rights",
            "corrected_at",
            "correction_error",
            "status",
            "detected_at",
            "last_seen_at",
            "seen_count",
            "resolved_by",
            "resolved_at",
            "resolution",
        ]
        read_only_fields = fields


class ControlFailureResolveSerializer(serializers.Serializer):
    resolution = serializers.CharField(max_length=2000)
