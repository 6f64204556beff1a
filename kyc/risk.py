"""Risk scoring: configurable factors per entity (rule set kind "risk") → score, level and the
breakdown a reviewer reads."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from decimal import Decimal, InvalidOperation
from typing import Any

DEFAULT_RISK_RULES: dict[str, Any] = {
    "high_risk_countries": ["AF", "IR", "KP", "MM", "SY", "YE"],
    "medium_risk_countries": ["AE", "NG", "PK", "TR", "VN", "ZA"],
    "high_risk_occupations": ["arms", "gambling", "crypto", "politics", "cash business"],
    "large_deposit_threshold": "50000",
    "points": {
        "country_high": 40,
        "country_medium": 15,
        "pep": 40,
        "sanctions_near_match": 35,
        "age_young": 10,
        "age_senior": 10,
        "occupation_high_risk": 20,
        "source_of_funds_unexplained": 15,
        "large_deposit": 15,
        "duplicate_history": 15,
    },
    "medium_from": 25,
    "high_from": 50,
}


@dataclass(frozen=True)
class RiskResult:
    score: int
    level: str
    breakdown: dict[str, dict[str, Any]]


def _amount(value: Any) -> Decimal:
    try:
        return Decimal(str(value or "0"))
    except (InvalidOperation, ValueError):
        return Decimal(0)


def risk_score(
    *,
    rules: dict[str, Any],
    residence_country: str,
    nationality: str,
    birth_date: date,
    today: date,
    questionnaire: dict[str, Any],
    pep: bool,
    sanctions_near_match: bool,
    duplicate_history: bool,
) -> RiskResult:
    points = {**DEFAULT_RISK_RULES["points"], **rules.get("points", {})}
    breakdown: dict[str, dict[str, Any]] = {}

    def factor(name: str, applies: bool, detail: str) -> None:
        if applies:
            breakdown[name] = {"points": points.get(name, 0), "detail": detail}

    countries = {residence_country, nationality} - {""}
    high = countries & set(rules.get("high_risk_countries", []))
    medium = (countries & set(rules.get("medium_risk_countries", []))) - high
    factor("country_high", bool(high), f"high-risk country: {', '.join(sorted(high))}")
    factor(
        "country_medium",
        bool(medium) and not high,
        f"medium-risk country: {', '.join(sorted(medium))}",
    )
    factor("pep", pep, "politically exposed person")
    factor("sanctions_near_match", sanctions_near_match, "possible sanctions-list match")
    age = (
        today.year
        - birth_date.year
        - ((today.month, today.day) < (birth_date.month, birth_date.day))
    )
    factor("age_young", age < 21, f"age {age}")
    factor("age_senior", age >= 75, f"age {age}")
    occupation = str(questionnaire.get("occupation", "")).lower()
    risky = [word for word in rules.get("high_risk_occupations", []) if word.lower() in occupation]
    factor("occupation_high_risk", bool(risky), f"occupation: {occupation}")
    deposit = _amount(questionnaire.get("expected_deposit"))
    large = deposit >= _amount(rules.get("large_deposit_threshold", "50000"))
    factor("large_deposit", large, f"declared deposit {deposit}")
    source = str(questionnaire.get("source_of_funds") or "").strip()
    explained = bool(str(questionnaire.get("source_of_funds_detail") or "").strip())
    factor(
        "source_of_funds_unexplained",
        large and (not source or (source == "other" and not explained)),
        "large deposit without a declared source of funds",
    )
    factor("duplicate_history", duplicate_history, "the person has been through duplicate review")
    score = sum(item["points"] for item in breakdown.values())
    level = (
        "high"
        if score >= rules["high_from"]
        else "medium"
        if score >= rules["medium_from"]
        else "low"
    )
    return RiskResult(score=score, level=level, breakdown=breakdown)
