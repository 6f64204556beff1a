"""The questionnaire and the appropriateness test of the verification page: the entity's
questions and choices, answers saved by the KYC service, errors on the field they name."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from django import forms
from django.contrib import messages
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from brokercrm.errors import ApplicationError
from entities.rules import (
    APPROPRIATENESS_QUESTIONS,
    EMPLOYMENT_STATUSES,
    SOURCES_OF_FUNDS,
    TRADING_EXPERIENCE,
)
from kyc import services as kyc_services
from kyc.selectors import client_kyc_asks

from .common import client_required
from .verification import my_kyc_file
from .verification_texts import (
    ANSWER_TEXT,
    CHOICE_TEXT,
    QUESTION_TEXT,
    text_choices,
)


class QuestionnaireForm(forms.Form):
    employment_status = forms.ChoiceField(
        label=gettext_lazy("Employment status"),
        choices=text_choices(EMPLOYMENT_STATUSES, CHOICE_TEXT),
        required=False,
    )
    occupation = forms.CharField(label=gettext_lazy("Occupation"), max_length=100, required=False)
    annual_income = forms.DecimalField(
        label=gettext_lazy("Annual income"),
        min_value=0,
        max_digits=14,
        decimal_places=2,
        required=False,
    )
    source_of_funds = forms.ChoiceField(
        label=gettext_lazy("Where the money you will deposit comes from"),
        choices=text_choices(SOURCES_OF_FUNDS, CHOICE_TEXT),
        required=False,
    )
    source_of_funds_detail = forms.CharField(
        label=gettext_lazy("Tell us more about it"),
        max_length=500,
        required=False,
        widget=forms.Textarea(attrs={"rows": 3}),
    )
    expected_deposit = forms.DecimalField(
        label=gettext_lazy("How much you expect to deposit in the first year"),
        min_value=0,
        max_digits=14,
        decimal_places=2,
        required=False,
    )
    trading_experience = forms.ChoiceField(
        label=gettext_lazy("Trading experience"),
        choices=text_choices(TRADING_EXPERIENCE, CHOICE_TEXT),
        required=False,
    )

    def __init__(self, *args: Any, required: list[str], currency: str, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        for name in required:
            if name in self.fields:
                self.fields[name].required = True
        for name in ("annual_income", "expected_deposit"):
            self.fields[name].help_text = _("In %(currency)s.") % {"currency": currency}
            self.fields[name].widget.attrs.update(inputmode="decimal")

    def answers(self) -> dict[str, Any]:
        return {
            name: (str(value) if isinstance(value, Decimal) else value)
            for name, value in self.cleaned_data.items()
            if value not in (None, "")
        }


def _place_answer_errors(form: forms.Form, error: ApplicationError, prefix: str = "") -> None:
    """The service's problems by field path (`appropriateness.<question>` for the test) on
    the fields they name; anything else on top of the form."""
    by_field = error.extra.get("errors") if isinstance(error.extra, dict) else None
    placed = False
    for path, problems in (by_field or {}).items():
        name = path[len(prefix) :] if prefix and path.startswith(prefix) else path
        if name in form.fields and name not in form.errors:
            form.add_error(name, str(problems[0] if isinstance(problems, list) else problems))
            placed = True
    if not placed:
        form.add_error(None, error.detail)


def _answers_page(
    request: HttpRequest, form: forms.Form, *, title: str, intro: str, locked: bool
) -> HttpResponse:
    return render(
        request,
        "portal/verification/answers.html",
        {"title": title, "intro": intro, "form": form, "locked": locked},
    )


@client_required
def questionnaire(request: HttpRequest) -> HttpResponse:
    kyc_file = my_kyc_file(request)
    if kyc_file is None:
        return redirect("portal:verification")
    profile = request.client.profile
    asks = client_kyc_asks(profile=profile)
    saved = {k: v for k, v in (kyc_file.questionnaire or {}).items() if k != "appropriateness"}
    form = QuestionnaireForm(
        request.POST if request.method == "POST" else None,
        initial=saved,
        required=asks.questionnaire_required,
        currency=profile.entity.base_currency,
    )
    locked = kyc_file.status != "draft"
    if request.method == "POST" and not locked and form.is_valid():
        try:
            kyc_services.kyc_answers_save(
                actor=request.client,
                kyc_file=kyc_file,
                section="questionnaire",
                answers=form.answers(),
            )
        except ApplicationError as exc:
            _place_answer_errors(form, exc)
        else:
            messages.success(request, _("Your answers are saved."))
            return redirect("portal:verification")
    return _answers_page(
        request,
        form,
        title=_("About you and your finances"),
        intro=_("We ask these questions by law, to know whether our products suit you."),
        locked=locked,
    )


class AppropriatenessForm(forms.Form):
    def __init__(self, *args: Any, questions: list[str], **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        for question in questions:
            spec = APPROPRIATENESS_QUESTIONS[question]
            self.fields[question] = forms.ChoiceField(
                label=QUESTION_TEXT.get(question, spec["text"]),
                choices=text_choices(spec["answers"], ANSWER_TEXT, empty=False),
                widget=forms.RadioSelect,
            )


@client_required
def appropriateness(request: HttpRequest) -> HttpResponse:
    kyc_file = my_kyc_file(request)
    if kyc_file is None:
        return redirect("portal:verification")
    questions = client_kyc_asks(profile=request.client.profile).appropriateness_questions
    if not questions:
        return redirect("portal:verification")
    saved = (kyc_file.questionnaire or {}).get("appropriateness") or {}
    form = AppropriatenessForm(
        request.POST if request.method == "POST" else None, initial=saved, questions=questions
    )
    locked = kyc_file.status != "draft"
    if request.method == "POST" and not locked and form.is_valid():
        try:
            kyc_services.kyc_answers_save(
                actor=request.client,
                kyc_file=kyc_file,
                section="appropriateness",
                answers=dict(form.cleaned_data),
            )
        except ApplicationError as exc:
            _place_answer_errors(form, exc, prefix="appropriateness.")
        else:
            messages.success(request, _("Your answers are saved."))
            return redirect("portal:verification")
    return _answers_page(
        request,
        form,
        title=_("Appropriateness test"),
        intro=_(
            "A few questions on how leveraged products work and on your experience. There is "
            "no trick: answer as you understand it."
        ),
        locked=locked,
    )


# --- documents -------------------------------------------------------------------------------
