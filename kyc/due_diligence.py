"""Enhanced due diligence: why a file goes to group compliance instead of the entity's queue.

Sanctions hits, PEP status and AML blocks always escalate; the entity's KYC rule set (`edd`)
adds its own triggers. Each trigger carries a stable code and a sentence for the reviewer; the
list is stored on the file and in the audit record of the decision.
"""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from .questionnaire import declared_amount, plain_amount

ALWAYS = ("sanctions_hit", "pep", "aml_blocked")


def edd_triggers(
    *,
    rules: dict[str, Any],
    questionnaire: dict[str, Any],
    residence_country: str,
    risk_level: str,
    risk_score: int,
    sanctioned: bool,
    pep: bool,
    aml_blocked: bool,
) -> list[dict[str, Any]]:
    """Every trigger that fires, in a fixed order. `rules` is a KYC rule document with its
    defaults filled in."""
    edd = rules["edd"]
    found: list[dict[str, Any]] = []

    def fire(code: str, detail: str, **facts: Any) -> None:
        found.append({"code": code, "detail": detail, **facts})

    if sanctioned:
        fire("sanctions_hit", "sanctions screening hit")
    if pep:
        fire("pep", "politically exposed person")
    if aml_blocked:
        fire("aml_blocked", "the person carries an AML block from an earlier rejection")
    if risk_level in edd["risk_levels"]:
        fire(
            "risk_level",
            f"risk level {risk_level} (score {risk_score})",
            value=risk_level,
            rule=edd["risk_levels"],
        )
    for field, code, label in (
        ("expected_deposit", "expected_deposit_above", "declared expected deposit"),
        ("annual_income", "annual_income_above", "declared annual income"),
    ):
        limit = edd[code]
        declared = declared_amount(questionnaire, field)
        if limit is not None and declared is not None and declared > Decimal(str(limit)):
            fire(
                code,
                f"{label} {plain_amount(declared)} is above {plain_amount(Decimal(str(limit)))}",
                value=plain_amount(declared),
                threshold=plain_amount(Decimal(str(limit))),
            )
    if residence_country and residence_country in edd["residence_countries"]:
        fire(
            "high_risk_residence",
            f"resident in {residence_country}, listed for enhanced due diligence",
            value=residence_country,
        )
    source = str(questionnaire.get("source_of_funds") or "").strip()
    if source and source in edd["source_of_funds"]:
        fire(
            "source_of_funds",
            f"declared source of funds {source!r} needs enhanced due diligence",
            value=source,
        )
    explained = bool(str(questionnaire.get("source_of_funds_detail") or "").strip())
    if edd["unexplained_source_of_funds"] and (not source or (source == "other" and not explained)):
        fire(
            "source_of_funds_unexplained",
            "no source of funds declared"
            if not source
            else 'source of funds "other" without an explanation',
            value=source,
        )
    return found
