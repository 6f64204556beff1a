from __future__ import annotations

from rest_framework import serializers

from brokercrm.api.base import ScopedPrimaryKeyField
from brokercrm.reference import COUNTRIES, CURRENCY_MINOR_UNITS

from ..models import Brand, CountryRoute, Desk, LegalEntity, RuleSet
from ..rules import SCHEMAS


def _entity_field(perm: str) -> ScopedPrimaryKeyField:
    return ScopedPrimaryKeyField(model=LegalEntity, perm=perm)


class LegalEntitySerializer(serializers.ModelSerializer):
    class Meta:
        model = LegalEntity
        fields = [
            "id",
            "code",
            "legal_name",
            "regulator",
            "licence_number",
            "jurisdiction",
            "base_currency",
            "wallet_currencies",
            "status",
            "created_at",
            "updated_at",
        ]
        read_only_fields = [
            "id",
            "code",
            "jurisdiction",
            "base_currency",
            "created_at",
            "updated_at",
        ]
        extra_kwargs = {
            "wallet_currencies": {"child": serializers.ChoiceField(sorted(CURRENCY_MINOR_UNITS))}
        }


class LegalEntityUpdateSerializer(serializers.Serializer):
    legal_name = serializers.CharField(max_length=200, required=False)
    regulator = serializers.CharField(max_length=80, required=False)
    licence_number = serializers.CharField(max_length=60, required=False)
    wallet_currencies = serializers.ListField(
        child=serializers.ChoiceField(sorted(CURRENCY_MINOR_UNITS)),
        allow_empty=False,
        required=False,
    )
    status = serializers.ChoiceField(LegalEntity.Status.choices, required=False)
    reason = serializers.CharField(max_length=500, required=False, default="")


class BrandSerializer(serializers.ModelSerializer):
    entity = _entity_field("entities.view_legalentity")

    class Meta:
        model = Brand
        fields = [
            "id",
            "entity",
            "code",
            "name",
            "domain",
            "support_email",
            "theme",
            "status",
            "created_at",
        ]
        read_only_fields = ["id", "created_at"]
        # Uniqueness is checked by the service against the whole group (database constraints).
        validators: list = []
        extra_kwargs = {"code": {"validators": []}, "domain": {"validators": []}}

    def validate_theme(self, value: object) -> object:
        if not isinstance(value, dict) or len(str(value)) > 4000:
            raise serializers.ValidationError("A small JSON object of theme settings.")
        return value


class BrandUpdateSerializer(serializers.Serializer):
    name = serializers.CharField(max_length=120, required=False)
    domain = serializers.CharField(max_length=253, required=False)
    support_email = serializers.EmailField(required=False, allow_blank=True)
    theme = serializers.DictField(required=False)
    status = serializers.ChoiceField(Brand.Status.choices, required=False)
    reason = serializers.CharField(max_length=500, required=False, default="")


class DeskSerializer(serializers.ModelSerializer):
    entity = _entity_field("entities.view_legalentity")
    countries = serializers.ListField(
        child=serializers.ChoiceField(sorted(COUNTRIES)), required=False, default=list
    )

    class Meta:
        model = Desk
        fields = ["id", "entity", "code", "name", "countries", "active"]
        read_only_fields = ["id"]
        validators: list = []


class CountryRouteSerializer(serializers.ModelSerializer):
    entity = _entity_field("entities.view_legalentity")
    brand = serializers.SlugRelatedField(slug_field="code", read_only=True)

    class Meta:
        model = CountryRoute
        fields = ["id", "brand", "country", "entity", "created_at"]


class CountryRouteSetSerializer(serializers.Serializer):
    brand = serializers.SlugField(max_length=40)
    country = serializers.RegexField(r"^([A-Za-z]{2}|\*)$", help_text='ISO country code or "*"')
    entity = _entity_field("entities.view_legalentity")
    reason = serializers.CharField(max_length=500, required=False, default="")


class RuleSetSerializer(serializers.ModelSerializer):
    entity = _entity_field("entities.view_legalentity")
    reference = serializers.CharField(read_only=True)

    class Meta:
        model = RuleSet
        fields = [
            "id",
            "entity",
            "kind",
            "country",
            "version",
            "reference",
            "effective_from",
            "document",
            "note",
            "created_by",
            "created_at",
        ]
        read_only_fields = fields


class RuleSetPublishSerializer(serializers.Serializer):
    entity = _entity_field("entities.view_legalentity")
    kind = serializers.ChoiceField(sorted(SCHEMAS))
    country = serializers.CharField(max_length=2, required=False, allow_blank=True, default="")
    effective_from = serializers.DateTimeField(required=False)
    document = serializers.JSONField()
    note = serializers.CharField(max_length=200, required=False, allow_blank=True, default="")


class RoutingQuerySerializer(serializers.Serializer):
    brand = serializers.SlugField(max_length=40)
    country = serializers.CharField(max_length=2, min_length=2)


class RoutingDecisionSerializer(serializers.Serializer):
    brand = serializers.CharField()
    country = serializers.CharField()
    entity = serializers.CharField()
    route = serializers.CharField()
    ruleset = serializers.CharField()
