"""The KYC questionnaire and the appropriateness test, as the entity's KYC rule set asks for them.

The questionnaire is validated whole at submission: every problem is reported at once, by field,
with a stable code, and nothing is stored until it is valid. The appropriateness test scores the
answers with the points of entities.rules.APPROPRIATENESS_QUESTIONS against the rule's pass mark.
"""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal, InvalidOperation
from typing import Any

from rest_framework import serializers

from brokercrm.errors import ValidationFailed
from entities.rules import (
    APPROPRIATENESS_QUESTIONS,
    EMPLOYMENT_STATUSES,
    SOURCES_OF_FUNDS,
    TRADING_EXPERIENCE,
    appropriateness_max_score,
)

ANSWER_FIELDS = (
    "employment_status",
    "occupation",
    "annual_income",
    "source_of_funds",
    "source_of_funds_detail",
    "expected_deposit",
    "trading_experience",
    "appropriateness",
)


class QuestionnaireInvalid(ValidationFailed):
    code = "questionnaire_invalid"
    default_detail = "The questionnaire is incomplete or has invalid answers; see errors."


def _amount() -> serializers.DecimalField:
    return serializers.DecimalField(max_digits=14, decimal_places=2, min_value=0, required=False)


class _Answers(serializers.Serializer):
    """Formats of the answers. Which ones are required is the rule set's business."""

    employment_status = serializers.ChoiceField(EMPLOYMENT_STATUSES, required=False)
    occupation = serializers.CharField(max_length=100, required=False, allow_blank=True)
    annual_income = _amount()
    source_of_funds = serializers.ChoiceField(SOURCES_OF_FUNDS, required=False, allow_blank=True)
    source_of_funds_detail = serializers.CharField(max_length=500, required=False, allow_blank=True)
    expected_deposit = _amount()
    trading_experience = serializers.ChoiceField(TRADING_EXPERIENCE, required=False)


class _Errors:
    def __init__(self) -> None:
        self.messages: dict[str, list[str]] = {}
        self.codes: dict[str, list[str]] = {}

    def add(self, path: str, code: str, message: str) -> None:
        self.messages.setdefault(path, []).append(message)
        self.codes.setdefault(path, []).append(code)

    def add_drf(self, detail: Any) -> None:
        for field, problems in detail.items():
            for problem in problems if isinstance(problems, list) else [problems]:
                self.add(field, getattr(problem, "code", "invalid"), str(problem))


def plain_amount(value: Decimal) -> str:
    return format(value.normalize(), "f")


def questionnaire_validate(data: Any, *, rules: dict[str, Any]) -> dict[str, Any]:
    """The answers, normalised (amounts as plain decimal strings, only known keys), or
    QuestionnaireInvalid with `errors` and `error_codes` keyed by field path
    (`appropriateness.<question>` for the test's answers). `rules` is a KYC rule document with
    its defaults filled in."""
    errors = _Errors()
    if not isinstance(data, dict):
        errors.add("questionnaire", "not_an_object", "The questionnaire must be a JSON object.")
        raise QuestionnaireInvalid(extra={"errors": errors.messages, "error_codes": errors.codes})
    for key in sorted(set(data) - set(ANSWER_FIELDS), key=str):
        errors.add(str(key)[:60], "unknown", "Not a question of this questionnaire.")
    known = {key: value for key, value in data.items() if key in _Answers().fields}
    answers = _Answers(data=known)
    clean: dict[str, Any] = {}
    if answers.is_valid():
        clean = dict(answers.validated_data)
    else:
        errors.add_drf(answers.errors)
    for field in rules["questionnaire_required"]:
        if field in errors.messages:
            continue
        value = data.get(field)
        if value is None or (isinstance(value, str) and not value.strip()):
            errors.add(field, "required", "This question must be answered.")

    test = rules["appropriateness"]
    given = data.get("appropriateness", {})
    chosen: dict[str, str] = {}
    if not isinstance(given, dict):
        errors.add("appropriateness", "not_an_object", "Answers are an object: question → answer.")
    else:
        for question, answer in given.items():
            path = f"appropriateness.{str(question)[:60]}"
            spec = APPROPRIATENESS_QUESTIONS.get(question) if isinstance(question, str) else None
            if spec is None:
                errors.add(path, "unknown", "Not a question of the appropriateness test.")
            elif not isinstance(answer, str) or answer not in spec["answers"]:
                options = ", ".join(spec["answers"])
                errors.add(path, "invalid_choice", f"Answer with one of: {options}.")
            else:
                chosen[question] = answer
        if test["mode"] != "off":
            for question in test["questions"]:
                if question not in given:
                    errors.add(
                        f"appropriateness.{question}",
                        "required",
                        "This question of the appropriateness test must be answered.",
                    )
    if errors.messages:
        raise QuestionnaireInvalid(extra={"errors": errors.messages, "error_codes": errors.codes})
    for field in ("annual_income", "expected_deposit"):
        if field in clean:
            clean[field] = plain_amount(clean[field])
    if chosen:
        clean["appropriateness"] = chosen
    return clean


def declared_amount(questionnaire: dict[str, Any], field: str) -> Decimal | None:
    """A declared amount, or None when the client was not asked or did not say."""
    raw = questionnaire.get(field)
    if raw in (None, ""):
        return None
    try:
        value = Decimal(str(raw))
    except (InvalidOperation, ValueError):
        return None
    return value if value.is_finite() else None


@dataclass(frozen=True)
class AppropriatenessAssessment:
    mode: str
    score: int
    max_score: int
    pass_mark: int
    answers: list[dict[str, Any]]

    @property
    def passed(self) -> bool:
        return self.score >= self.pass_mark

    @property
    def blocking(self) -> bool:
        """A fail holds the file for a reviewer only where the entity says so; warn-only
        entities record it and warn the client."""
        return not self.passed and self.mode == "review"

    def evidence(self, ruleset: str) -> dict[str, Any]:
        evidence: dict[str, Any] = {
            "mode": self.mode,
            "score": self.score,
            "max_score": self.max_score,
            "pass_mark": self.pass_mark,
            "passed": self.passed,
            "blocking": self.blocking,
            "answers": self.answers,
            "ruleset": ruleset,
        }
        if not self.passed:
            evidence["reason"] = (
                f"appropriateness score {self.score} is below the pass mark {self.pass_mark}"
            )
            if self.mode == "warn":
                evidence["client_warning"] = (
                    "CFDs may not be appropriate for this client; the client is warned and "
                    "may go on."
                )
        return evidence


def appropriateness_assess(
    *, questionnaire: dict[str, Any], rules: dict[str, Any]
) -> AppropriatenessAssessment | None:
    """Score the test, or None where the entity does not ask for one. An unanswered question
    (possible only if the file predates the rule) scores nothing."""
    test = rules["appropriateness"]
    if test["mode"] == "off":
        return None
    given = questionnaire.get("appropriateness")
    given = given if isinstance(given, dict) else {}
    scored = []
    for question in test["questions"]:
        points_of = APPROPRIATENESS_QUESTIONS[question]["answers"]
        answer = given.get(question)
        scored.append(
            {
                "question": question,
                "answer": answer,
                "points": points_of.get(answer, 0) if isinstance(answer, str) else 0,
                "max_points": max(points_of.values()),
            }
        )
    return AppropriatenessAssessment(
        mode=test["mode"],
        score=sum(item["points"] for item in scored),
        max_score=appropriateness_max_score(test["questions"]),
        pass_mark=int(test["pass_mark"]),
        answers=scored,
    )
