"""Signing in and out, the page language, password reset and the e-mail verification link,
and the brand's colours as a style sheet (no inline styles under the portal's CSP)."""

from __future__ import annotations

import re

from django import forms
from django.conf import settings
from django.contrib import messages
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django.views.decorators.http import require_GET, require_POST

from brokercrm.errors import ApplicationError
from identity import services as identity_services
from identity.logins import LoginFailed, client_login_entities, client_token_obtain
from identity.two_factor import SecondFactorRequired

from .. import session
from .common import error_on_form, portal_only, safe_next
from .two_factor import start_code_step

_COLOUR = re.compile(r"^#[0-9a-fA-F]{6}$")


class SignInForm(forms.Form):
    email = forms.EmailField(label=gettext_lazy("E-mail address"), max_length=254)
    password = forms.CharField(
        label=gettext_lazy("Password"), max_length=256, strip=False, widget=forms.PasswordInput
    )

    def __init__(self, *args: object, **kwargs: object) -> None:
        super().__init__(*args, **kwargs)
        self.fields["email"].widget.attrs.update(autocomplete="email", autofocus=True)
        self.fields["password"].widget.attrs.update(autocomplete="current-password")


def home(request: HttpRequest) -> HttpResponse:
    """A brand's front page goes to the client's overview or the sign-in; the server's own
    address is the staff back office."""
    if not getattr(request, "portal", False):
        return redirect("/admin/")
    return redirect("portal:dashboard" if request.client else "portal:login")


@portal_only
def login(request: HttpRequest) -> HttpResponse:
    if request.client is not None:
        return redirect(safe_next(request, reverse("portal:dashboard")))
    ended = request.session.pop(session.ENDED_KEY, "")
    if ended == "idle":
        messages.info(request, _("You were signed out after a while without activity."))
    elif ended == "ended":
        messages.info(request, _("Your session has ended. Please sign in again."))
    form = SignInForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        email, password = form.cleaned_data["email"], form.cleaned_data["password"]
        token = None
        error: ApplicationError = LoginFailed()
        for code in client_login_entities(brand=request.brand, email=email) or [""]:
            try:
                token = client_token_obtain(
                    brand=request.brand, email=email, password=password, entity_code=code
                )
                break
            except LoginFailed as exc:
                error = exc
            except SecondFactorRequired as exc:
                return start_code_step(request, exc.extra["challenge"])
            except ApplicationError as exc:  # throttled: say how long to wait
                error = exc
                break
        if token is not None:
            session.sign_in(request, token)
            return redirect(safe_next(request, reverse("portal:dashboard")))
        form.add_error(None, _translated_login_error(error))
    return render(
        request,
        "portal/login.html",
        {"form": form, "next": safe_next(request, ""), "title": _("Sign in")},
    )


def _translated_login_error(error: ApplicationError) -> str:
    if error.code == "login_throttled":
        wait = error.extra.get("retry_after", 60)
        return _("Too many failed attempts. Please wait %(seconds)s seconds and try again.") % {
            "seconds": wait
        }
    return _("The e-mail address or the password is wrong.")


@require_POST
@portal_only
def logout(request: HttpRequest) -> HttpResponse:
    if request.client is not None:
        session.sign_out(request)
        messages.success(request, _("You are signed out."))
    return redirect("portal:login")


@require_POST
@portal_only
def language(request: HttpRequest) -> HttpResponse:
    """Change the page language; a signed-in client's choice is kept on their profile, so
    e-mails follow it too."""
    chosen = request.POST.get("language", "")
    if chosen in {code for code, _name in settings.LANGUAGES}:
        request.session[session.LANGUAGE_KEY] = chosen
        if request.client is not None and request.client.profile.language != chosen:
            try:
                identity_services.profile_update(
                    actor=request.client,
                    profile=request.client.profile,
                    language=chosen,
                )
            except ApplicationError as exc:
                messages.error(request, exc.detail)
    return redirect(safe_next(request, reverse("portal:home")))


class ResetRequestForm(forms.Form):
    email = forms.EmailField(label=gettext_lazy("E-mail address"), max_length=254)


class NewPasswordForm(forms.Form):
    new_password = forms.CharField(
        label=gettext_lazy("New password"),
        max_length=256,
        strip=False,
        widget=forms.PasswordInput(attrs={"autocomplete": "new-password"}),
        help_text=gettext_lazy("At least 10 characters; not only digits, not a common password."),
    )


@portal_only
def password_reset(request: HttpRequest) -> HttpResponse:
    form = ResetRequestForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        email = form.cleaned_data["email"]
        try:
            for code in client_login_entities(brand=request.brand, email=email) or [""]:
                identity_services.client_password_reset_request(
                    actor=identity_services.brand_actor(request.brand),
                    brand=request.brand,
                    email=email,
                    entity_code=code,
                )
        except ApplicationError as exc:
            error_on_form(form, exc, "email")
        else:
            # The same answer whether or not the address holds a login.
            messages.success(
                request,
                _(
                    "If the address belongs to an account, we have sent it a link to choose a "
                    "new password."
                ),
            )
            return redirect("portal:login")
    return render(
        request, "portal/password_reset.html", {"form": form, "title": _("Forgot your password?")}
    )


@portal_only
def password_reset_confirm(request: HttpRequest) -> HttpResponse:
    """The link of a reset e-mail (`/reset-password?uid=…&token=…`)."""
    uid = request.GET.get("uid", "")[:64]
    token = request.GET.get("token", "")[:128]
    form = NewPasswordForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        try:
            identity_services.client_password_reset_confirm(
                actor=identity_services.brand_actor(request.brand),
                brand=request.brand,
                uid=uid,
                token=token,
                new_password=form.cleaned_data["new_password"],
            )
        except ApplicationError as exc:
            error_on_form(form, exc, "new_password")
        else:
            messages.success(request, _("Your password is changed. Please sign in."))
            return redirect("portal:login")
    return render(
        request,
        "portal/password_reset_confirm.html",
        {"form": form, "title": _("Choose a new password")},
    )


@portal_only
def verify_email(request: HttpRequest) -> HttpResponse:
    """The link of a verification e-mail (`/verify-email?token=…`): confirmed on a click of
    the button (a mail scanner that follows links confirms nothing)."""
    token = request.GET.get("token", "")[:512]
    if request.method == "POST":
        try:
            identity_services.email_verification_confirm(
                actor=identity_services.brand_actor(request.brand),
                token=request.POST.get("token", "")[:512],
                brand=request.brand,
            )
        except ApplicationError as exc:
            messages.error(request, exc.detail)
            return render(
                request,
                "portal/verify_email.html",
                {"token": "", "failed": True, "title": _("Confirm your e-mail address")},
            )
        messages.success(request, _("Your e-mail address is confirmed."))
        return redirect("portal:dashboard" if request.client else "portal:login")
    return render(
        request,
        "portal/verify_email.html",
        {"token": token, "failed": not token, "title": _("Confirm your e-mail address")},
    )


@require_GET
@portal_only
def theme(request: HttpRequest) -> HttpResponse:
    """The brand's colours as CSS custom properties, read from `Brand.theme`."""
    colours = request.brand.theme or {}
    primary = colours.get("primary_color", "")
    primary = primary if _COLOUR.match(primary or "") else "#1f4e79"
    css = f":root {{ --brand: {primary}; }}\n"
    response = HttpResponse(css, content_type="text/css; charset=utf-8")
    response.headers["Cache-Control"] = "public, max-age=300"
    return response
