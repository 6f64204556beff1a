"""What portal views share: the signed-in-client guard, domain errors shown on the form that
caused them, and money formatted for the reader's language.

Views only call the domain apps' services and selectors with the client as the actor; the
services pass the gate (a client acts on their own profile only), so a page adds no rules."""

from __future__ import annotations

from collections.abc import Callable
from decimal import Decimal
from functools import wraps
from typing import Any

from django import forms
from django.contrib import messages
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect
from django.urls import reverse
from django.utils.formats import number_format
from django.utils.http import url_has_allowed_host_and_scheme
from django.utils.translation import gettext as _

from brokercrm.errors import ApplicationError
from brokercrm.reference import CURRENCY_MINOR_UNITS

View = Callable[..., HttpResponse]


def portal_only(view: View) -> View:
    """A portal page answers only on a brand's host or under /b/<brand>/."""

    @wraps(view)
    def wrapped(request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
        if not getattr(request, "portal", False):
            raise Http404("No brand here.")
        return view(request, *args, **kwargs)

    return wrapped


def client_required(view: View) -> View:
    """A page of a signed-in client of this brand; others are sent to sign in and back."""

    @wraps(view)
    @portal_only
    def wrapped(request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
        if request.client is None:
            url = reverse("portal:login")
            if request.method == "GET":
                url += "?" + _next_query(request.get_full_path())
            return redirect(url)
        return view(request, *args, **kwargs)

    return wrapped


def _next_query(path: str) -> str:
    from urllib.parse import urlencode

    return urlencode({"next": path})


def safe_next(request: HttpRequest, default: str) -> str:
    """A `next` target on this site only (no open redirect)."""
    target = request.POST.get("next") or request.GET.get("next") or ""
    if target and url_has_allowed_host_and_scheme(
        target, allowed_hosts={request.get_host()}, require_https=request.is_secure()
    ):
        return target
    return default


def error_on_form(form: forms.Form, error: ApplicationError, field: str | None = None) -> None:
    """A domain error shown where the client can act on it: on the field it names (the
    service's `errors` by field), else on `field`, else on top of the form."""
    by_field = error.extra.get("errors") if isinstance(error.extra, dict) else None
    placed = False
    if isinstance(by_field, dict):
        for name, problems in by_field.items():
            if name in form.fields:
                for problem in problems if isinstance(problems, list) else [problems]:
                    form.add_error(name, str(problem))
                placed = True
    if not placed:
        form.add_error(field if field in form.fields else None, error.detail)


def flash_error(request: HttpRequest, error: ApplicationError) -> None:
    messages.error(request, error.detail)


def money_text(amount: Decimal | str | None, currency: str) -> str:
    """An amount at its currency's minor units, grouped the reader's way, with its code."""
    if amount is None:
        return "—"
    places = CURRENCY_MINOR_UNITS.get(currency, 2)
    value = Decimal(amount).quantize(Decimal(1).scaleb(-places))
    return f"{number_format(value, decimal_pos=places, force_grouping=True)} {currency}"


def not_found() -> Http404:
    return Http404(_("No such record."))
