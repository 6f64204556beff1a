from __future__ import annotations

from decimal import Decimal
from typing import Any

from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers

from brokercrm.api.base import ScopedPrimaryKeyField
from brokercrm.reference import CURRENCY_CHOICES

from ..models import (
    CommissionLine,
    CommissionRun,
    IbAssignment,
    IbLink,
    IbPartner,
    IbProgramme,
    RebatePlan,
    RebatePlanVersion,
    RebateRate,
    ReferralCode,
    ReferralReview,
)
from ..services.management import REVIEW_DECISIONS

REASON_MAX = 500


class DecimalStringField(serializers.DecimalField):
    """A decimal sent as a JSON string ("12.5") or an integer; a JSON float may already have
    lost the digits it claims to carry, so it is refused."""

    default_error_messages = {
        "not_a_string": 'Send decimals as strings, e.g. "12.5".',
    }

    def __init__(self, *, max_digits: int, decimal_places: int, **kwargs: Any) -> None:
        kwargs.setdefault("min_value", Decimal(0))
        super().__init__(max_digits=max_digits, decimal_places=decimal_places, **kwargs)

    def to_internal_value(self, data: Any) -> Decimal:
        if isinstance(data, float | bool) or not isinstance(data, str | int):
            self.fail("not_a_string")
        return super().to_internal_value(data)


def _money(**kwargs: Any) -> DecimalStringField:
    return DecimalStringField(max_digits=24, decimal_places=8, **kwargs)


def _percent(**kwargs: Any) -> DecimalStringField:
    return DecimalStringField(max_digits=7, decimal_places=4, max_value=Decimal(100), **kwargs)


# --- partners -----------------------------------------------------------------------------
class IbPartnerSerializer(serializers.ModelSerializer):
    class Meta:
        model = IbPartner
        fields = ["id", "entity", "profile", "name", "plan", "status", "created_at"]


class IbPartnerCreateSerializer(serializers.Serializer):
    profile = ScopedPrimaryKeyField(model="identity.ClientProfile", perm="ib.add_ibpartner")
    name = serializers.CharField(max_length=150, required=False, allow_blank=True, default="")
    plan = ScopedPrimaryKeyField(
        model=RebatePlan, perm="ib.view_rebateplan", required=False, allow_null=True
    )


class IbPartnerUpdateSerializer(serializers.Serializer):
    """Give only what changes: `plan` (null: no plan; from `plan_from`, default now, never in
    the past) and/or `status`."""

    plan = ScopedPrimaryKeyField(
        model=RebatePlan, perm="ib.view_rebateplan", required=False, allow_null=True
    )
    plan_from = serializers.DateTimeField(required=False)
    status = serializers.ChoiceField(choices=IbPartner.Status.choices, required=False)
    reason = serializers.CharField(max_length=REASON_MAX)


class ReferralCodeSerializer(serializers.ModelSerializer):
    class Meta:
        model = ReferralCode
        fields = ["id", "entity", "ib", "brand", "code", "link", "active", "created_at"]


class ReferralCodeCreateSerializer(serializers.Serializer):
    brand = ScopedPrimaryKeyField(model="entities.Brand", perm="ib.add_referralcode")
    code = serializers.SlugField(max_length=40)


class IbLinkSerializer(serializers.ModelSerializer):
    class Meta:
        model = IbLink
        fields = ["id", "entity", "ib", "parent", "valid_from", "valid_to"]


class IbParentSetSerializer(serializers.Serializer):
    parent = ScopedPrimaryKeyField(model=IbPartner, perm="ib.view_ibpartner", allow_null=True)
    valid_from = serializers.DateTimeField()


# --- attribution --------------------------------------------------------------------------
class IbAssignmentSerializer(serializers.ModelSerializer):
    class Meta:
        model = IbAssignment
        fields = ["id", "entity", "profile", "ib", "valid_from", "valid_to", "source", "code"]


class IbReattributeSerializer(serializers.Serializer):
    profile = ScopedPrimaryKeyField(model="identity.ClientProfile", perm="ib.change_ibassignment")
    ib = ScopedPrimaryKeyField(model=IbPartner, perm="ib.view_ibpartner")
    valid_from = serializers.DateTimeField()
    reason = serializers.CharField(max_length=REASON_MAX)


class ReferralReviewSerializer(serializers.ModelSerializer):
    class Meta:
        model = ReferralReview
        fields = [
            "id",
            "entity",
            "profile",
            "code_text",
            "reason",
            "created_at",
            "status",
            "decided_by",
            "decided_at",
            "decision_reason",
            "assignment",
        ]


class ReferralReviewResolveSerializer(serializers.Serializer):
    """`attribute` needs `ib` (of the review's entity) and `valid_from`; `dismiss` neither."""

    decision = serializers.ChoiceField(choices=REVIEW_DECISIONS)
    ib = ScopedPrimaryKeyField(
        model=IbPartner, perm="ib.view_ibpartner", required=False, allow_null=True
    )
    valid_from = serializers.DateTimeField(required=False, allow_null=True)
    reason = serializers.CharField(max_length=REASON_MAX)


# --- rebate plans -------------------------------------------------------------------------
class RebatePlanSerializer(serializers.ModelSerializer):
    class Meta:
        model = RebatePlan
        fields = ["id", "entity", "name", "currency", "created_at"]


class IbProgrammeSerializer(serializers.ModelSerializer):
    class Meta:
        model = IbProgramme
        fields = ["id", "entity", "max_depth", "valid_from", "valid_to"]


class IbProgrammeSetSerializer(serializers.Serializer):
    """`entity` may be left out by a user who manages IBs in one entity only."""

    entity = ScopedPrimaryKeyField(
        model="entities.LegalEntity", perm="ib.change_ibprogramme", required=False
    )
    max_depth = serializers.IntegerField(min_value=1, max_value=10)
    valid_from = serializers.DateTimeField(required=False)
    reason = serializers.CharField(max_length=REASON_MAX)


class RebatePlanCreateSerializer(serializers.Serializer):
    """`entity` may be left out by a user who manages IBs in one entity only."""

    entity = ScopedPrimaryKeyField(
        model="entities.LegalEntity", perm="ib.add_rebateplan", required=False
    )
    name = serializers.CharField(max_length=100)
    currency = serializers.ChoiceField(choices=CURRENCY_CHOICES)


class RebateRateSerializer(serializers.ModelSerializer):
    class Meta:
        model = RebateRate
        fields = [
            "id",
            "basis",
            "symbols",
            "account_group",
            "server",
            "amount_per_lot",
            "spread_per_lot",
            "share_percent",
        ]


class RebateRateInputSerializer(serializers.Serializer):
    """per_lot: `amount_per_lot`; spread_share: `spread_per_lot` and `share_percent`;
    commission_share: `share_percent`. Optional `symbols`, `account_group`, `server` narrow it."""

    basis = serializers.ChoiceField(choices=RebateRate.Basis.choices)
    symbols = serializers.ListField(
        child=serializers.CharField(max_length=32), max_length=200, required=False, default=list
    )
    account_group = serializers.CharField(
        max_length=64, required=False, allow_blank=True, default=""
    )
    server = ScopedPrimaryKeyField(
        model="platforms.TradingServer",
        perm="ib.change_rebateplan",
        required=False,
        allow_null=True,
    )
    amount_per_lot = _money(required=False, allow_null=True)
    spread_per_lot = _money(required=False, allow_null=True)
    share_percent = _percent(required=False, allow_null=True)


def rates_for_service(rates: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Validated rate inputs as the plan services take them."""
    out = []
    for rate in rates:
        row: dict[str, Any] = {
            "basis": rate["basis"],
            "symbols": rate.get("symbols", []),
            "account_group": rate.get("account_group", ""),
            "server_id": rate["server"].pk if rate.get("server") else None,
        }
        for name in ("amount_per_lot", "spread_per_lot", "share_percent"):
            if rate.get(name) is not None:
                row[name] = rate[name]
        out.append(row)
    return out


class RebatePlanTermsSerializer(serializers.Serializer):
    rates = RebateRateInputSerializer(many=True, allow_empty=False, max_length=500)
    tier_split = serializers.ListField(child=_percent(), min_length=1, max_length=10)
    per_trade_ceiling = _money(required=False, allow_null=True, default=None)
    min_holding_seconds = serializers.IntegerField(
        min_value=0, max_value=2**31 - 1, required=False, default=0
    )


class RebatePlanPublishSerializer(RebatePlanTermsSerializer):
    valid_from = serializers.DateTimeField()


class RebatePlanCorrectSerializer(RebatePlanTermsSerializer):
    reason = serializers.CharField(max_length=REASON_MAX)


class RebatePlanVersionSerializer(serializers.ModelSerializer):
    rates = serializers.SerializerMethodField()
    corrected_by = serializers.SerializerMethodField()

    class Meta:
        model = RebatePlanVersion
        fields = [
            "id",
            "entity",
            "plan",
            "number",
            "valid_from",
            "valid_to",
            "tier_split",
            "per_trade_ceiling",
            "min_holding_seconds",
            "corrects",
            "corrected_by",
            "created_at",
            "rates",
        ]

    @extend_schema_field(RebateRateSerializer(many=True))
    def get_rates(self, version: RebatePlanVersion) -> list[dict]:
        rows = RebateRate.objects.in_entity(version.entity_id).filter(version=version)
        return RebateRateSerializer(rows.order_by("pk"), many=True).data

    @extend_schema_field(OpenApiTypes.INT)
    def get_corrected_by(self, version: RebatePlanVersion) -> int | None:
        return (
            RebatePlanVersion.objects.in_entity(version.entity_id)
            .filter(corrects=version)
            .values_list("pk", flat=True)
            .first()
        )


# --- commissions --------------------------------------------------------------------------
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


class CommissionRunSerializer(serializers.ModelSerializer):
    class Meta:
        model = CommissionRun
        fields = [
            "id",
            "started_at",
            "finished_at",
            "deal_id_from",
            "deal_id_to",
            "lines_created",
            "payouts",
            "payout_total",
        ]


class CommissionRunQueuedSerializer(serializers.Serializer):
    status = serializers.CharField()


class StatementQuerySerializer(serializers.Serializer):
    date_from = serializers.DateTimeField()
    date_to = serializers.DateTimeField()
    output = serializers.ChoiceField(choices=["json", "csv"], default="json", required=False)
