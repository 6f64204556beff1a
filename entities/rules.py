"""Schemas of rule-set documents, one per kind.

A rule set is validated before it is stored; unknown keys are refused so a typo never
silently means "rule absent". Later features extend these schemas.
"""

from __future__ import annotations

from typing import Any

from rest_framework import serializers

from brokercrm.reference import COUNTRIES, CURRENCY_MINOR_UNITS

ANY = "*"


class StrictSerializer(serializers.Serializer):
    def to_internal_value(self, data: Any) -> Any:
        if isinstance(data, dict):
            unknown = sorted(set(data) - set(self.fields))
            if unknown:
                raise serializers.ValidationError({key: ["Unknown rule."] for key in unknown})
        return super().to_internal_value(data)


class CountryCodeField(serializers.CharField):
    def to_internal_value(self, data: Any) -> str:
        value = super().to_internal_value(data).upper()
        if value != ANY and value not in COUNTRIES:
            raise serializers.ValidationError(
                f"{value!r} is not an ISO 3166-1 alpha-2 country code."
            )
        return value


class CurrencyCodeField(serializers.CharField):
    def to_internal_value(self, data: Any) -> str:
        value = super().to_internal_value(data).upper()
        if value not in CURRENCY_MINOR_UNITS:
            raise serializers.ValidationError(f"{value!r} is not a supported ISO 4217 currency.")
        return value


def _money() -> serializers.DecimalField:
    return serializers.DecimalField(
        max_digits=24, decimal_places=8, min_value=0, coerce_to_string=True
    )


class OnboardingRules(StrictSerializer):
    allowed_countries = serializers.ListField(
        child=CountryCodeField(),
        allow_empty=False,
        help_text='Countries whose residents may be onboarded; ["*"] for all not restricted.',
    )
    restricted_countries = serializers.ListField(child=CountryCodeField(), default=list)
    min_age_years = serializers.IntegerField(min_value=16, max_value=100, default=18)

    def validate(self, attrs: dict[str, Any]) -> dict[str, Any]:
        if ANY in attrs["restricted_countries"]:
            raise serializers.ValidationError(
                {"restricted_countries": ['"*" is not allowed here.']}
            )
        if ANY in attrs["allowed_countries"] and len(attrs["allowed_countries"]) > 1:
            raise serializers.ValidationError({"allowed_countries": ['"*" stands alone.']})
        both = set(attrs["allowed_countries"]) & set(attrs["restricted_countries"])
        if both:
            raise serializers.ValidationError(
                {"allowed_countries": [f"Also restricted: {', '.join(sorted(both))}."]}
            )
        attrs["allowed_countries"] = sorted(set(attrs["allowed_countries"]))
        attrs["restricted_countries"] = sorted(set(attrs["restricted_countries"]))
        return attrs


class KycRules(StrictSerializer):
    identity_documents = serializers.ListField(
        child=serializers.ChoiceField(["passport", "national_id", "driving_licence"]),
        allow_empty=False,
    )
    proof_of_address_max_age_days = serializers.IntegerField(min_value=1, max_value=365)
    source_of_funds_threshold = _money()
    liveness_required = serializers.BooleanField()
    auto_approve_max_risk = serializers.ChoiceField(["none", "low", "medium"])


class RiskRules(StrictSerializer):
    """Risk scoring factors of one entity: points per factor, and the score bands."""

    high_risk_countries = serializers.ListField(child=CountryCodeField(), default=list)
    medium_risk_countries = serializers.ListField(child=CountryCodeField(), default=list)
    high_risk_occupations = serializers.ListField(
        child=serializers.CharField(max_length=40), default=list
    )
    large_deposit_threshold = _money()
    points = serializers.DictField(child=serializers.IntegerField(min_value=0, max_value=100))
    medium_from = serializers.IntegerField(min_value=1, max_value=1000)
    high_from = serializers.IntegerField(min_value=1, max_value=1000)

    def validate(self, attrs: dict[str, Any]) -> dict[str, Any]:
        if attrs["medium_from"] >= attrs["high_from"]:
            raise serializers.ValidationError({"medium_from": ["Must be below high_from."]})
        return attrs


class WalletRules(StrictSerializer):
    currencies = serializers.ListField(child=CurrencyCodeField(), allow_empty=False)
    base_wallet_on_activation = serializers.BooleanField(default=True)
    # Taken off the mid rate on client currency conversions, in basis points.
    fx_markup_bps = serializers.IntegerField(min_value=0, max_value=1000, default=0)


class CoolingOffRules(StrictSerializer):
    first_withdrawal_hours = serializers.IntegerField(min_value=0, max_value=24 * 90)


class DepositRules(StrictSerializer):
    before_kyc = serializers.ChoiceField(["refuse", "park"])
    park_cap = _money()


class WithdrawalRules(StrictSerializer):
    currency = CurrencyCodeField()
    auto_approve_limit = _money()
    finance_approval_limit = _money()
    maker_checker = serializers.BooleanField(default=True)

    def validate(self, attrs: dict[str, Any]) -> dict[str, Any]:
        if attrs["auto_approve_limit"] > attrs["finance_approval_limit"]:
            raise serializers.ValidationError(
                {"auto_approve_limit": ["Must not exceed finance_approval_limit."]}
            )
        return attrs


SCHEMAS: dict[str, type[StrictSerializer]] = {
    "onboarding": OnboardingRules,
    "kyc": KycRules,
    "wallet": WalletRules,
    "cooling_off": CoolingOffRules,
    "deposit": DepositRules,
    "withdrawal": WithdrawalRules,
    "risk": RiskRules,
}
# Kinds that apply to the whole entity and cannot differ per country.
ENTITY_WIDE_KINDS = frozenset({"onboarding", "wallet", "risk"})


def validate_rule_document(kind: str, document: Any) -> dict[str, Any]:
    """Return the normalised document, or raise serializers.ValidationError with field paths."""
    if not isinstance(document, dict):
        raise serializers.ValidationError({"document": ["Must be a JSON object."]})
    serializer = SCHEMAS[kind](data=document)
    serializer.is_valid(raise_exception=True)
    return serializers.JSONField().to_representation(_plain(serializer.validated_data))


def _plain(value: Any) -> Any:
    from decimal import Decimal

    if isinstance(value, dict):
        return {key: _plain(item) for key, item in value.items()}
    if isinstance(value, list):
        return [_plain(item) for item in value]
    if isinstance(value, Decimal):
        return format(value.normalize(), "f")
    return value
