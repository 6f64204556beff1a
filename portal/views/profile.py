"""Profile and security: my details, my contact details and language, my password, and my
signed-in sessions (log out everywhere else, or everywhere); the way to the two-step
sign-in page (portal.views.two_factor).

The same services as the client API (identity/api/account.py): `profile_update` for contact
details, `client_password_change` keeping this session's token, and the audited token
services for ending sessions."""

from __future__ import annotations

from typing import Any

from django import forms
from django.conf import settings
from django.contrib import messages
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django.views.decorators.http import require_POST

from brokercrm.accounts.tokens import client_logout_elsewhere, client_logout_everywhere
from brokercrm.errors import ApplicationError
from identity import services as identity_services
from identity.logins import client_sessions
from identity.two_factor import client_totp_enabled

from .. import session
from .common import client_required, error_on_form

# The contact details a client changes here (identity.services.profiles.CLIENT_EDITABLE).
CONTACT_FIELDS = (
    "email",
    "phone",
    "address_line1",
    "address_line2",
    "city",
    "postcode",
    "language",
)
# A domain error's code names the field it is about when the service does not say.
_FIELD_OF_CODE = {
    "email_invalid": "email",
    "login_email_taken": "email",
    "phone_invalid": "phone",
    "language_unknown": "language",
}
PROFILE_STATUS_TEXT = {
    "lead": gettext_lazy("Registering"),
    "applicant": gettext_lazy("Verification not finished"),
    "pending": gettext_lazy("Being checked"),
    "active": gettext_lazy("Active"),
    "restricted": gettext_lazy("Restricted"),
    "closed": gettext_lazy("Closed"),
}


class ContactForm(forms.Form):
    email = forms.EmailField(
        label=gettext_lazy("E-mail address"),
        max_length=254,
        help_text=gettext_lazy(
            "A new address must be confirmed again: we send a link to it, and deposits wait "
            "until you open it."
        ),
        widget=forms.EmailInput(attrs={"autocomplete": "email"}),
    )
    phone = forms.CharField(
        label=gettext_lazy("Phone"),
        max_length=40,
        required=False,
        help_text=gettext_lazy("With the country code, or as dialled in your country."),
        widget=forms.TextInput(attrs={"autocomplete": "tel", "type": "tel"}),
    )
    address_line1 = forms.CharField(
        label=gettext_lazy("Address"),
        max_length=200,
        required=False,
        widget=forms.TextInput(attrs={"autocomplete": "address-line1"}),
    )
    address_line2 = forms.CharField(
        label=gettext_lazy("Address, second line"),
        max_length=200,
        required=False,
        widget=forms.TextInput(attrs={"autocomplete": "address-line2"}),
    )
    city = forms.CharField(
        label=gettext_lazy("City"),
        max_length=100,
        required=False,
        widget=forms.TextInput(attrs={"autocomplete": "address-level2"}),
    )
    postcode = forms.CharField(
        label=gettext_lazy("Postcode"),
        max_length=20,
        required=False,
        widget=forms.TextInput(attrs={"autocomplete": "postal-code"}),
    )
    language = forms.ChoiceField(
        label=gettext_lazy("Language of the site and our e-mails"), choices=settings.LANGUAGES
    )

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        kwargs.setdefault("prefix", "contact")
        super().__init__(*args, **kwargs)


class PasswordChangeForm(forms.Form):
    current_password = forms.CharField(
        label=gettext_lazy("Current password"),
        max_length=256,
        strip=False,
        widget=forms.PasswordInput(attrs={"autocomplete": "current-password"}),
    )
    new_password = forms.CharField(
        label=gettext_lazy("New password"),
        max_length=256,
        strip=False,
        widget=forms.PasswordInput(attrs={"autocomplete": "new-password"}),
        help_text=gettext_lazy("At least 10 characters; not only digits, not a common password."),
    )
    new_password_again = forms.CharField(
        label=gettext_lazy("New password again"),
        max_length=256,
        strip=False,
        widget=forms.PasswordInput(attrs={"autocomplete": "new-password"}),
    )

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        kwargs.setdefault("prefix", "password")
        super().__init__(*args, **kwargs)

    def clean(self) -> dict[str, Any]:
        data = super().clean()
        new, again = data.get("new_password"), data.get("new_password_again")
        if new and again is not None and new != again:
            self.add_error("new_password_again", _("The two new passwords differ."))
        return data


def _contact_initial(profile: Any) -> dict[str, Any]:
    return {name: getattr(profile, name) for name in CONTACT_FIELDS}


def _page(
    request: HttpRequest,
    *,
    contact: ContactForm | None = None,
    password: PasswordChangeForm | None = None,
) -> HttpResponse:
    profile = request.client.profile
    this = session.current_token(request)
    sessions = [
        {"since": token.created, "this": this is not None and token.pk == this.pk}
        for token in client_sessions(profile=profile)
    ]
    return render(
        request,
        "portal/profile/profile.html",
        {
            "title": _("Profile and security"),
            "details": [
                (_("Given name"), profile.given_name),
                (_("Family name"), profile.family_name),
                (_("Country of residence"), profile.residence_country),
                (_("Account status"), PROFILE_STATUS_TEXT.get(profile.status, profile.status)),
                (_("Client number"), profile.pk),
            ],
            "email_verified": profile.email_verified,
            "contact_form": contact or ContactForm(initial=_contact_initial(profile)),
            "password_form": password or PasswordChangeForm(),
            "sessions": sessions,
            "others": sum(1 for row in sessions if not row["this"]),
            "two_factor": client_totp_enabled(request.client),
        },
    )


@client_required
def profile(request: HttpRequest) -> HttpResponse:
    return _page(request)


@require_POST
@client_required
def contact(request: HttpRequest) -> HttpResponse:
    profile = request.client.profile
    form = ContactForm(request.POST)
    if not form.is_valid():
        return _page(request, contact=form)
    changes = {
        name: value
        for name, value in form.cleaned_data.items()
        if value != (getattr(profile, name) or "")
    }
    if not changes:
        messages.info(request, _("Nothing was changed."))
        return redirect("portal:profile")
    try:
        updated = identity_services.profile_update(actor=request.client, profile=profile, **changes)
    except ApplicationError as exc:
        error_on_form(form, exc, _FIELD_OF_CODE.get(exc.code))
        return _page(request, contact=form)
    if "email" in changes and not updated.email_verified:
        messages.success(
            request,
            _(
                "Your details are saved. We sent a link to %(email)s: open it to confirm the "
                "new address. Until then deposits wait."
            )
            % {"email": updated.email},
        )
    else:
        messages.success(request, _("Your details are saved."))
    if "language" in changes:
        request.session[session.LANGUAGE_KEY] = updated.language
    return redirect("portal:profile")


@require_POST
@client_required
def password(request: HttpRequest) -> HttpResponse:
    form = PasswordChangeForm(request.POST)
    if not form.is_valid():
        return _page(request, password=form)
    try:
        identity_services.client_password_change(
            actor=request.client,
            current_password=form.cleaned_data["current_password"],
            new_password=form.cleaned_data["new_password"],
            keep_token=session.current_token(request),
        )
    except ApplicationError as exc:
        error_on_form(form, exc, "new_password")
        return _page(request, password=form)
    messages.success(
        request,
        _("Your password is changed. You stay signed in here; your other sessions have ended."),
    )
    return redirect("portal:profile")


@require_POST
@client_required
def sessions_end(request: HttpRequest) -> HttpResponse:
    """End my other sessions (`scope=others`) or all of them, this one included."""
    token = session.current_token(request)
    if request.POST.get("scope") == "others":
        ended = client_logout_elsewhere(token=token)
        messages.success(
            request,
            _("Your other sessions have ended (%(count)s).") % {"count": ended},
        )
        return redirect("portal:profile")
    client_logout_everywhere(token=token)
    session.sign_out(request)
    messages.success(request, _("You are signed out everywhere."))
    return redirect("portal:login")
