"""Schemas of rule-set documents, one per kind.

A rule set is validated before it is stored; unknown keys are refused so a typo never
silently means "rule absent". Later features extend these schemas.
"""

from __future__ import annotations

import copy
from typing import Any

from django.conf import settings
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


def _money(**kwargs: Any) -> serializers.DecimalField:
    return serializers.DecimalField(
        max_digits=24, decimal_places=8, min_value=0, coerce_to_string=True, **kwargs
    )


class OnboardingRules(StrictSerializer):
    allowed_countries = serializers.ListField(
        child=CountryCodeField(),
        allow_empty=False,
        help_text='Countries whose residents may be onboarded; ["*"] for all not restricted.',
    )
    restricted_countries = serializers.ListField(child=CountryCodeField(), default=list)
    min_age_years = serializers.IntegerField(min_value=16, max_value=100, default=18)
    # The risk warning the entity's regulator requires on every page a client sees, by client
    # language ("en" at least when any is given); the portal falls back to English.
    risk_warning = serializers.DictField(child=serializers.CharField(max_length=1000), default=dict)

    def validate(self, attrs: dict[str, Any]) -> dict[str, Any]:
        warning = attrs.get("risk_warning") or {}
        unknown = sorted(set(warning) - {code for code, _name in settings.LANGUAGES})
        if unknown:
            raise serializers.ValidationError(
                {"risk_warning": [f"Not a client language: {', '.join(unknown)}."]}
            )
        if warning and "en" not in warning:
            raise serializers.ValidationError({"risk_warning": ["Give the English text too."]})
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


# --- the KYC questionnaire and appropriateness test that KYC rules may ask for ---------------
#
# They live beside the schema so a rule set can only name questions that exist; kyc.questionnaire
# validates answers and scores the test against them. Amounts are in the entity's base currency.

QUESTIONNAIRE_FIELDS = (
    "employment_status",
    "occupation",
    "annual_income",
    "source_of_funds",
    "expected_deposit",
    "trading_experience",
)
EMPLOYMENT_STATUSES = ("employed", "self_employed", "retired", "student", "unemployed")
SOURCES_OF_FUNDS = (
    "salary",
    "savings",
    "business_income",
    "investments",
    "pension",
    "inheritance",
    "property_sale",
    "gift",
    "other",
)
TRADING_EXPERIENCE = ("none", "some", "experienced")
PROOF_OF_ADDRESS_TYPES = (
    "utility_bill",
    "bank_statement",
    "tax_letter",
    "government_letter",
    "council_tax_bill",
    "tenancy_agreement",
    "insurance_statement",
    "mobile_phone_bill",
)

# MiFID II art. 25(3)-style appropriateness for CFDs: knowledge and experience. Each answer is
# worth points; a rule set picks the questions it asks and the pass mark.
APPROPRIATENESS_QUESTIONS: dict[str, dict[str, Any]] = {
    "leverage_effect": {
        "text": "With leverage of 1:30, a 2% price move against your position changes the "
        "margin you put up by about how much?",
        "answers": {"2_percent": 0, "60_percent": 1, "nothing_until_closed": 0},
    },
    "margin_close_out": {
        "text": "What can happen when your equity falls below the margin your positions need?",
        "answers": {"positions_closed": 1, "broker_lends_more": 0, "nothing": 0},
    },
    "cfd_ownership": {
        "text": "Does a CFD on a share make you an owner of that share?",
        "answers": {"no": 1, "yes": 0},
    },
    "stop_loss_slippage": {
        "text": "In a fast market, is an ordinary stop-loss order certain to close your position "
        "at exactly its price?",
        "answers": {"no_it_may_slip": 1, "yes": 0},
    },
    "overnight_financing": {
        "text": "Do you pay a financing charge for keeping a CFD position open overnight?",
        "answers": {"yes": 1, "no": 0},
    },
    "leveraged_trades_last_year": {
        "text": "How many leveraged trades (CFDs, forex, futures, options) have you made in the "
        "last 12 months?",
        "answers": {"none": 0, "1_to_10": 1, "more_than_10": 2},
    },
    "finance_background": {
        "text": "Have you worked or studied in finance in a way relevant to leveraged products?",
        "answers": {"yes": 1, "no": 0},
    },
}


def appropriateness_max_score(questions: list[str]) -> int:
    return sum(max(APPROPRIATENESS_QUESTIONS[q]["answers"].values()) for q in questions)


# Defaults of the rules added after KYC rule sets were first published. A document that does not
# mention them keeps meaning what it meant when it was published (its version is cited on every
# decision taken under it): nothing required beyond what the code asked before. New rule sets are
# expected to spell these out; the demo ones do.
KYC_RULE_DEFAULTS: dict[str, Any] = {
    "questionnaire_required": [],
    "appropriateness": {
        "mode": "off",
        "questions": list(APPROPRIATENESS_QUESTIONS),
        "pass_mark": 0,
    },
    "proof_of_address_types": [ANY],
    "edd": {
        "risk_levels": [],
        "expected_deposit_above": None,
        "annual_income_above": None,
        "residence_countries": [],
        "source_of_funds": [],
        "unexplained_source_of_funds": False,
    },
}


def _default(key: str) -> Any:
    return lambda: copy.deepcopy(KYC_RULE_DEFAULTS[key])


def kyc_rules_with_defaults(document: dict[str, Any]) -> dict[str, Any]:
    """A stored KYC rule document with every rule present: keys it predates take their
    default (stored documents were validated when published, so nothing is re-validated)."""
    merged = {**copy.deepcopy(KYC_RULE_DEFAULTS), **document}
    for key in ("appropriateness", "edd"):
        merged[key] = {**copy.deepcopy(KYC_RULE_DEFAULTS[key]), **(document.get(key) or {})}
    return merged


class AppropriatenessRules(StrictSerializer):
    """off: no test. review: a fail sends the file to the entity's queue. warn: a fail is
    recorded (result "warn") and the client is warned, but approval is not held up."""

    mode = serializers.ChoiceField(["off", "warn", "review"], default="off")
    questions = serializers.ListField(
        child=serializers.ChoiceField(list(APPROPRIATENESS_QUESTIONS)),
        default=lambda: list(APPROPRIATENESS_QUESTIONS),
    )
    pass_mark = serializers.IntegerField(min_value=0, max_value=100, default=0)

    def validate(self, attrs: dict[str, Any]) -> dict[str, Any]:
        questions = attrs["questions"]
        if len(set(questions)) != len(questions):
            raise serializers.ValidationError({"questions": ["A question is listed twice."]})
        if attrs["mode"] == "off":
            return attrs
        if not questions:
            raise serializers.ValidationError({"questions": ["Ask at least one question."]})
        best = appropriateness_max_score(questions)
        if not 1 <= attrs["pass_mark"] <= best:
            raise serializers.ValidationError(
                {"pass_mark": [f"Must be between 1 and {best}, the best possible score."]}
            )
        return attrs


class EddRules(StrictSerializer):
    """What sends a file to enhanced due diligence (group compliance) besides sanctions, PEP and
    AML blocks, which always do. Amounts compare with the declared figures ("above" is >)."""

    risk_levels = serializers.ListField(
        child=serializers.ChoiceField(["medium", "high"]), default=list
    )
    expected_deposit_above = _money(allow_null=True, default=None)
    annual_income_above = _money(allow_null=True, default=None)
    residence_countries = serializers.ListField(child=CountryCodeField(), default=list)
    source_of_funds = serializers.ListField(
        child=serializers.ChoiceField(SOURCES_OF_FUNDS), default=list
    )
    # Source of funds not declared, or "other" without an explanation.
    unexplained_source_of_funds = serializers.BooleanField(default=False)

    def validate(self, attrs: dict[str, Any]) -> dict[str, Any]:
        if "medium" in attrs["risk_levels"] and "high" not in attrs["risk_levels"]:
            raise serializers.ValidationError(
                {"risk_levels": ["Listing medium without high would let high risk skip EDD."]}
            )
        if ANY in attrs["residence_countries"]:
            raise serializers.ValidationError({"residence_countries": ['"*" is not allowed here.']})
        attrs["residence_countries"] = sorted(set(attrs["residence_countries"]))
        return attrs


class KycRules(StrictSerializer):
    identity_documents = serializers.ListField(
        child=serializers.ChoiceField(["passport", "national_id", "driving_licence"]),
        allow_empty=False,
    )
    proof_of_address_max_age_days = serializers.IntegerField(min_value=1, max_value=365)
    # Document types accepted as proof of address; ["*"] takes any (the reviewer judges).
    proof_of_address_types = serializers.ListField(
        child=serializers.ChoiceField([ANY, *PROOF_OF_ADDRESS_TYPES]),
        allow_empty=False,
        default=_default("proof_of_address_types"),
    )
    # Above this declared expected deposit a source-of-funds document is required.
    source_of_funds_threshold = _money()
    liveness_required = serializers.BooleanField()
    auto_approve_max_risk = serializers.ChoiceField(["none", "low", "medium"])
    questionnaire_required = serializers.ListField(
        child=serializers.ChoiceField(QUESTIONNAIRE_FIELDS),
        default=_default("questionnaire_required"),
    )
    appropriateness = AppropriatenessRules(default=_default("appropriateness"))
    edd = EddRules(default=_default("edd"))

    def validate(self, attrs: dict[str, Any]) -> dict[str, Any]:
        types = attrs["proof_of_address_types"]
        if ANY in types and len(types) > 1:
            raise serializers.ValidationError({"proof_of_address_types": ['"*" stands alone.']})
        for key in ("proof_of_address_types", "questionnaire_required"):
            if len(set(attrs[key])) != len(attrs[key]):
                raise serializers.ValidationError({key: ["An entry is listed twice."]})
        # A trigger on a figure the client is never asked for could never fire: refuse it
        # rather than let it look like a safeguard.
        required = set(attrs["questionnaire_required"])
        edd = attrs["edd"]
        unanswerable = {
            "expected_deposit_above": "expected_deposit",
            "annual_income_above": "annual_income",
            "source_of_funds": "source_of_funds",
        }
        errors = {
            rule: [f"Needs {question!r} in questionnaire_required."]
            for rule, question in unanswerable.items()
            if edd.get(rule) not in (None, []) and question not in required
        }
        if errors:
            raise serializers.ValidationError({"edd": errors})
        return attrs


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


# Hours staff have to act on an item of each work queue, from the moment it arrives. A queue
# not named takes `default_hours`; 0 means the queue has no deadline.
DEFAULT_QUEUE_HOURS = {
    "kyc.review": 24,
    "kyc.escalated": 48,
    "kyc.screening_hit": 24,
    "kyc.edd": 72,
    "kyc.document_expiring": 168,
    "identity.duplicate_case": 24,
    "identity.other_entity_profile": 72,
    "payments.withdrawal_compliance": 24,
    "payments.withdrawal_finance": 8,
    "payments.reconciliation_break": 24,
    "payments.parked_deposit": 48,
    "platforms.control_failure": 4,
    "ib.referral_review": 72,
}


class SlaRules(StrictSerializer):
    default_hours = serializers.IntegerField(min_value=0, max_value=24 * 90, default=48)
    hours = serializers.DictField(
        child=serializers.IntegerField(min_value=0, max_value=24 * 90), default=dict
    )


SCHEMAS: dict[str, type[StrictSerializer]] = {
    "onboarding": OnboardingRules,
    "kyc": KycRules,
    "wallet": WalletRules,
    "cooling_off": CoolingOffRules,
    "deposit": DepositRules,
    "withdrawal": WithdrawalRules,
    "risk": RiskRules,
    "sla": SlaRules,
}
# Kinds that apply to the whole entity and cannot differ per country.
ENTITY_WIDE_KINDS = frozenset({"onboarding", "wallet", "risk", "sla"})


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
