"""Opening an account: a wizard of three steps (account, personal data, residence) whose
answers wait in the session until the last step registers the applicant, so going back and
forth or reloading resumes where the applicant was. Nothing personal goes into a URL; the
password is kept encrypted until it is used.

The outcome says nothing about what matched: a new or linked client is signed in and sent to
verification, one held for review is signed in to a neutral page, one who has an account here
already is sent to sign in, and a blocked one is asked to contact support."""

from __future__ import annotations

import re
from datetime import date
from typing import Any

from django import forms
from django.contrib import messages
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils import timezone, translation
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from brokercrm.context import current as request_context
from brokercrm.errors import ApplicationError
from brokercrm.reference import COUNTRY_CHOICES
from entities.selectors import OnboardingRefused, onboarding_entity_for
from identity.crypto import DecryptionError, decrypt, encrypt
from identity.logins import client_password_checked, client_token_obtain
from identity.services import RegistrationInput, registration_submit

from .. import session
from .common import error_on_form, portal_only

WIZARD_KEY = "portal_register"
REFERRAL_KEY = "portal_referral"
OUTCOME_KEY = "portal_register_outcome"
_REFERRAL = re.compile(r"[-a-zA-Z0-9_]{1,40}")

COUNTRY_OPTIONS = [("", gettext_lazy("Choose a country")), *COUNTRY_CHOICES]


class AccountForm(forms.Form):
    email = forms.EmailField(label=gettext_lazy("E-mail address"), max_length=254)
    password = forms.CharField(
        label=gettext_lazy("Password"),
        max_length=128,
        strip=False,
        widget=forms.PasswordInput(attrs={"autocomplete": "new-password"}, render_value=False),
        help_text=gettext_lazy("At least 10 characters; not only digits, not a common password."),
    )

    def __init__(self, *args: Any, password_kept: bool = False, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["email"].widget.attrs.update(autocomplete="email")
        if password_kept:  # coming back: the password chosen stays unless a new one is typed
            self.fields["password"].required = False
            self.fields["password"].help_text = gettext_lazy(
                "Leave it empty to keep the password you chose."
            )

    def clean(self) -> dict[str, Any]:
        data = super().clean()
        if data.get("email") and data.get("password"):
            try:
                client_password_checked(password=data["password"], email=data["email"])
            except ApplicationError as exc:
                error_on_form(self, exc, "password")
        return data


class PersonalForm(forms.Form):
    given_name = forms.CharField(label=gettext_lazy("First name(s)"), max_length=200)
    family_name = forms.CharField(label=gettext_lazy("Last name"), max_length=200)
    birth_date = forms.DateField(
        label=gettext_lazy("Date of birth"),
        widget=forms.DateInput(attrs={"type": "date", "autocomplete": "bday"}, format="%Y-%m-%d"),
        help_text=gettext_lazy("As in your identity document (year-month-day)."),
    )
    nationality = forms.ChoiceField(label=gettext_lazy("Nationality"), choices=COUNTRY_OPTIONS)
    phone = forms.CharField(
        label=gettext_lazy("Mobile phone"),
        max_length=40,
        widget=forms.TextInput(attrs={"type": "tel", "autocomplete": "tel"}),
        help_text=gettext_lazy("With the country code, for example +49 151 2345678."),
    )

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["given_name"].widget.attrs.update(autocomplete="given-name")
        self.fields["family_name"].widget.attrs.update(autocomplete="family-name")

    def clean_birth_date(self) -> date:
        born = self.cleaned_data["birth_date"]
        if born >= timezone.localdate():
            raise forms.ValidationError(_("The date of birth must be in the past."))
        if born.year < 1900:
            raise forms.ValidationError(_("Please check the year of your birth."))
        return born


class ResidenceForm(forms.Form):
    residence_country = forms.ChoiceField(
        label=gettext_lazy("Country of residence"), choices=COUNTRY_OPTIONS
    )
    address_line1 = forms.CharField(label=gettext_lazy("Street and number"), max_length=200)
    address_line2 = forms.CharField(
        label=gettext_lazy("Address line 2"), max_length=200, required=False
    )
    city = forms.CharField(label=gettext_lazy("Town or city"), max_length=100)
    postcode = forms.CharField(label=gettext_lazy("Postcode"), max_length=20)

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["residence_country"].widget.attrs.update(autocomplete="country")
        self.fields["address_line1"].widget.attrs.update(autocomplete="address-line1")
        self.fields["address_line2"].widget.attrs.update(autocomplete="address-line2")
        self.fields["city"].widget.attrs.update(autocomplete="address-level2")
        self.fields["postcode"].widget.attrs.update(autocomplete="postal-code")


STEPS = ("account", "personal", "residence")
FORMS = {"account": AccountForm, "personal": PersonalForm, "residence": ResidenceForm}
TITLES = {
    "account": gettext_lazy("Your account"),
    "personal": gettext_lazy("About you"),
    "residence": gettext_lazy("Where you live"),
}
# Which step a refusal of the registration service belongs to (by its code), and the field.
ERROR_STEPS = {
    "email_invalid": ("account", "email"),
    "password_required": ("account", "password"),
    "password_weak": ("account", "password"),
    "name_invalid": ("personal", None),
    "birth_date_invalid": ("personal", "birth_date"),
    "applicant_too_young": ("personal", "birth_date"),
    "phone_invalid": ("personal", "phone"),
}


def _wizard(request: HttpRequest) -> dict[str, Any]:
    data = request.session.get(WIZARD_KEY)
    return data if isinstance(data, dict) else {}


def _save(request: HttpRequest, step: str, values: dict[str, Any]) -> None:
    data = _wizard(request)
    data[step] = values
    request.session[WIZARD_KEY] = data


def _first_missing(request: HttpRequest) -> str:
    data = _wizard(request)
    return next((step for step in STEPS if step not in data), "residence")


def _keep_referral(request: HttpRequest) -> None:
    code = request.GET.get("ref", "").strip()
    if code and _REFERRAL.fullmatch(code):
        request.session[REFERRAL_KEY] = code


def _stored_initial(request: HttpRequest, step: str) -> dict[str, Any]:
    values = dict(_wizard(request).get(step, {}))
    values.pop("password", None)
    return values


def _form(request: HttpRequest, step: str, data: Any = None) -> forms.Form:
    if step == "account":
        kept = bool(_wizard(request).get("account", {}).get("password"))
        return AccountForm(data, initial=_stored_initial(request, step), password_kept=kept)
    return FORMS[step](data, initial=_stored_initial(request, step))


def _page(request: HttpRequest, step: str, form: forms.Form, status: int = 200) -> HttpResponse:
    index = STEPS.index(step)
    return render(
        request,
        "portal/register/step.html",
        {
            "title": str(TITLES[step]),
            "step": step,
            "form": form,
            "steps": [
                {
                    "name": name,
                    "label": TITLES[name],
                    "number": number,
                    "current": name == step,
                    "done": name in _wizard(request),
                }
                for number, name in enumerate(STEPS, start=1)
            ],
            "number": index + 1,
            "count": len(STEPS),
            "back": reverse("portal:register_step", args=[STEPS[index - 1]]) if index else "",
            "last": step == STEPS[-1],
        },
        status=status,
    )


@portal_only
def register(request: HttpRequest) -> HttpResponse:
    """The wizard's entry (`?ref=<code>` is kept for the registration): its first step not
    answered yet."""
    if request.client is not None:
        return redirect("portal:verification")
    request.session.pop(OUTCOME_KEY, None)
    _keep_referral(request)
    return redirect("portal:register_step", _first_missing(request))


@portal_only
def register_step(request: HttpRequest, step: str) -> HttpResponse:
    if step not in STEPS:
        raise Http404(_("No such page."))
    if request.client is not None:
        return redirect("portal:verification")
    _keep_referral(request)
    missing = _first_missing(request)
    if STEPS.index(step) > STEPS.index(missing):
        return redirect("portal:register_step", missing)  # an earlier step is not answered
    if request.method != "POST":
        return _page(request, step, _form(request, step))
    form = _form(request, step, request.POST)
    if not form.is_valid():
        return _page(request, step, form)
    values = _serialised(form.cleaned_data)
    if step == "account":
        if values.get("password"):
            values["password"] = encrypt(values["password"])
        else:
            values["password"] = _wizard(request)["account"]["password"]
    if step != "residence":
        _save(request, step, values)
        return redirect("portal:register_step", STEPS[STEPS.index(step) + 1])
    try:
        onboarding_entity_for(brand=request.brand, country=values["residence_country"])
    except OnboardingRefused as exc:
        form.add_error("residence_country", exc.detail)
        return _page(request, step, form)
    _save(request, step, values)
    return _submit(request)


def _serialised(values: dict[str, Any]) -> dict[str, Any]:
    return {
        name: value.isoformat() if isinstance(value, date) else value
        for name, value in values.items()
    }


def _submit(request: HttpRequest) -> HttpResponse:
    data = _wizard(request)
    account, personal, residence = data["account"], data["personal"], data["residence"]
    try:
        password = decrypt(account["password"])
    except (DecryptionError, KeyError, TypeError):
        data.pop("account", None)
        request.session[WIZARD_KEY] = data
        messages.error(request, _("Please choose your password again."))
        return redirect("portal:register_step", "account")
    try:
        result = registration_submit(
            brand=request.brand,
            data=RegistrationInput(
                given_name=personal["given_name"],
                family_name=personal["family_name"],
                birth_date=personal["birth_date"],
                nationality=personal["nationality"],
                phone=personal["phone"],
                email=account["email"],
                residence_country=residence["residence_country"],
                address_line1=residence["address_line1"],
                address_line2=residence.get("address_line2", ""),
                city=residence["city"],
                postcode=residence["postcode"],
                password=password,
                language=translation.get_language() or "en",
                ip=request_context().ip or "",
                referral_code=request.session.get(REFERRAL_KEY, ""),
            ),
        )
    except ApplicationError as exc:
        step, field = ERROR_STEPS.get(exc.code, ("residence", None))
        form = _form(request, step, _bound(data.get(step, {})))
        form.is_valid()
        error_on_form(form, exc, field)
        return _page(request, step, form)
    request.session.pop(WIZARD_KEY, None)
    request.session.pop(REFERRAL_KEY, None)
    if result.outcome in ("block", "duplicate"):
        request.session[OUTCOME_KEY] = result.outcome
        return redirect("portal:register_done")
    try:
        token = client_token_obtain(
            brand=request.brand,
            email=account["email"],
            password=password,
            entity_code=result.profile.entity.code,
        )
    except ApplicationError:  # sign-ins from this address are slowed down: sign in later
        messages.success(request, _("Your account is open. Please sign in."))
        return redirect("portal:login")
    session.sign_in(request, token)  # a new session: the wizard's answers go with the old one
    if result.outcome == "review":
        request.session[OUTCOME_KEY] = "review"
        return redirect("portal:register_done")
    messages.success(request, _("Your account is open. Let us verify your details now."))
    return redirect("portal:verification")


def _bound(values: dict[str, Any]) -> dict[str, Any]:
    return {name: value for name, value in values.items() if name != "password"}


@portal_only
def register_done(request: HttpRequest) -> HttpResponse:
    """What happened, in words that do not say what matched."""
    outcome = request.session.get(OUTCOME_KEY, "")
    if outcome not in ("review", "block", "duplicate"):
        return redirect("portal:register")
    if outcome == "review" and request.client is None:
        return redirect("portal:login")
    titles = {
        "review": _("We are checking your details"),
        "block": _("Please contact support"),
        "duplicate": _("You already have an account with us"),
    }
    return render(
        request,
        "portal/register/done.html",
        {"title": titles[outcome], "outcome": outcome},
    )
