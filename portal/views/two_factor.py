"""The client's optional second factor: turn an authenticator app on (QR code, first code)
or off (a current code), and the code step of signing in."""

from __future__ import annotations

from django import forms
from django.contrib import messages
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django.views.decorators.http import require_POST

from brokercrm.errors import ApplicationError
from identity import two_factor
from identity.logins import client_token_obtain_with_code

from .. import session
from ..qr import qr_svg
from .common import client_required, error_on_form, portal_only, safe_next

CHALLENGE_KEY = "portal_challenge"


class CodeForm(forms.Form):
    code = forms.CharField(
        label=gettext_lazy("6-digit code from your authenticator app"),
        max_length=10,
        widget=forms.TextInput(
            attrs={"autocomplete": "one-time-code", "inputmode": "numeric", "autofocus": True}
        ),
    )


def start_code_step(request: HttpRequest, challenge: str) -> HttpResponse:
    """The password was right and the second factor is on: ask for the code next. The
    challenge stays in the session, never in a URL."""
    request.session[CHALLENGE_KEY] = challenge
    url = reverse("portal:login_code")
    next_url = safe_next(request, "")
    return redirect(f"{url}?next={next_url}" if next_url else url)


@portal_only
def login_code(request: HttpRequest) -> HttpResponse:
    challenge = request.session.get(CHALLENGE_KEY)
    if not challenge:
        return redirect("portal:login")
    form = CodeForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        try:
            token = client_token_obtain_with_code(
                brand=request.brand, challenge=challenge, code=form.cleaned_data["code"]
            )
        except ApplicationError as exc:
            if exc.code == "challenge_invalid":
                request.session.pop(CHALLENGE_KEY, None)
                messages.error(request, _("The sign-in took too long. Please start again."))
                return redirect("portal:login")
            form.add_error("code", _("That code is not right."))
        else:
            session.sign_in(request, token)
            return redirect(safe_next(request, reverse("portal:dashboard")))
    return render(
        request,
        "portal/login_code.html",
        {"form": form, "next": safe_next(request, ""), "title": _("Enter your code")},
    )


@client_required
def two_factor_page(request: HttpRequest) -> HttpResponse:
    client = request.client
    enabled = two_factor.client_totp_enabled(client)
    pending = None if enabled else two_factor.client_totp_pending(actor=client)
    form = CodeForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        try:
            if enabled:
                two_factor.client_totp_disable(actor=client, code=form.cleaned_data["code"])
                messages.success(request, _("Your second factor is off."))
            else:
                two_factor.client_totp_confirm(actor=client, code=form.cleaned_data["code"])
                messages.success(
                    request, _("Your second factor is on: signing in now asks for a code.")
                )
        except ApplicationError as exc:
            error_on_form(form, exc, "code")
        else:
            return redirect("portal:two_factor")
    setup = None
    if pending is not None:
        _device, address = pending
        secret = address.split("secret=", 1)[1].split("&", 1)[0]
        setup = {
            "qr": qr_svg(address),
            "secret": " ".join(secret[i : i + 4] for i in range(0, len(secret), 4)),
        }
    return render(
        request,
        "portal/two_factor.html",
        {"title": _("Two-step sign-in"), "enabled": enabled, "setup": setup, "form": form},
    )


@require_POST
@client_required
def two_factor_start(request: HttpRequest) -> HttpResponse:
    try:
        two_factor.client_totp_start(actor=request.client)
    except ApplicationError as exc:
        messages.error(request, exc.detail)
    return redirect("portal:two_factor")
