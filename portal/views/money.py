"""The client's money in: deposits (a card on the PSP's hosted page, a bank wire from the
client's own IBAN) and the deposit's return page, with the amount field and idempotency keys
the other money pages share (withdrawals are in `withdrawals`).

The same services as the client API (payments/api/client_views.py) with the client as the
actor; the portal's CSP allows forms to post to this site only, so the PSP's page is a link
the client follows, never an automatic redirect."""

from __future__ import annotations

import uuid
from decimal import Decimal, InvalidOperation
from typing import Any

from django import forms
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.urls import reverse
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from brokercrm.errors import ApplicationError
from brokercrm.reference import CURRENCY_MINOR_UNITS
from payments import selectors as payment_selectors
from payments import services as payment_services

from ..context import entity_wallet_currencies
from .common import client_required, error_on_form, money_text, not_found

MAX_AMOUNT_DIGITS = 15


def idempotency_key(profile: Any, form_key: uuid.UUID | str) -> str:
    """The client's key in a space of their own, as the API scopes it."""
    return f"me:{profile.pk}:{form_key}"


class AmountField(forms.CharField):
    """An amount typed by a person: figures with at most the currency's decimals, above zero.
    (Not DecimalField: its messages speak of digits; these say what to type.)"""

    def __init__(self, **kwargs: Any) -> None:
        kwargs.setdefault("label", gettext_lazy("Amount"))
        super().__init__(**kwargs)
        self.widget.attrs.update(inputmode="decimal", autocomplete="off", maxlength="30")
        self.places = 2

    def to_python(self, value: Any) -> Decimal | None:  # type: ignore[override]
        text = super().to_python(value).replace(" ", "").replace(",", ".")
        if not text:
            return None
        if len(text) > 30:
            raise forms.ValidationError(_("This amount is too large."), code="max_value")
        try:
            amount = Decimal(text)
        except InvalidOperation:
            raise forms.ValidationError(
                _("Enter the amount in figures, such as 250.00."), code="invalid"
            ) from None
        if not amount.is_finite() or "e" in text.lower():
            raise forms.ValidationError(
                _("Enter the amount in figures, such as 250.00."), code="invalid"
            )
        if amount <= 0:
            raise forms.ValidationError(_("The amount must be above zero."), code="min_value")
        if amount.as_tuple().exponent < -self.places:  # type: ignore[operator]
            raise forms.ValidationError(
                _("Use at most %(places)s decimal places.") % {"places": self.places},
                code="decimal_places",
            )
        if len(amount.quantize(Decimal(1)).as_tuple().digits) > MAX_AMOUNT_DIGITS:
            raise forms.ValidationError(_("This amount is too large."), code="max_value")
        return amount


def key_field() -> forms.UUIDField:
    return forms.UUIDField(widget=forms.HiddenInput, initial=uuid.uuid4)


def currency_choices(profile: Any) -> list[tuple[str, str]]:
    return [(code, code) for code in entity_wallet_currencies(profile.entity)]


# --- deposits ----------------------------------------------------------------------------------


class CurrencyForm(forms.Form):
    currency = forms.ChoiceField(label=gettext_lazy("Currency"))

    def __init__(self, *args: Any, currencies: list[tuple[str, str]], **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["currency"].choices = currencies
        self.fields["currency"].widget.attrs["data-autosubmit"] = ""


def _method_label(method: Any) -> str:
    low = method.min_amount if method.min_amount > 0 else None
    high = method.max_amount
    if low is not None and high is not None:
        return _("%(name)s (from %(low)s to %(high)s)") % {
            "name": method.name,
            "low": money_text(low, method.currency),
            "high": money_text(high, method.currency),
        }
    if high is not None:
        return _("%(name)s (up to %(high)s)") % {
            "name": method.name,
            "high": money_text(high, method.currency),
        }
    if low is not None:
        return _("%(name)s (from %(low)s)") % {
            "name": method.name,
            "low": money_text(low, method.currency),
        }
    return str(method.name)


class DepositForm(forms.Form):
    method = forms.ChoiceField(label=gettext_lazy("Payment method"), widget=forms.RadioSelect)
    amount = AmountField()
    iban = forms.CharField(
        label=gettext_lazy("Your IBAN (bank wire only)"),
        required=False,
        max_length=50,
        help_text=gettext_lazy("The account in your own name the wire comes from."),
    )
    key = key_field()

    def __init__(self, *args: Any, methods: list[Any], currency: str, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.methods = {method.code: method for method in methods}
        self.currency = currency
        self.fields["method"].choices = [(m.code, _method_label(m)) for m in methods]
        self.fields["amount"].places = CURRENCY_MINOR_UNITS.get(currency, 2)
        self.fields["iban"].widget.attrs.update(autocomplete="off", spellcheck="false")

    def clean(self) -> dict[str, Any]:
        data = super().clean()
        method = self.methods.get(data.get("method", ""))
        amount = data.get("amount")
        if method is None:
            return data
        if amount is not None:
            if amount < method.min_amount:
                self.add_error(
                    "amount",
                    _("The smallest %(method)s deposit is %(amount)s.")
                    % {
                        "method": method.name,
                        "amount": money_text(method.min_amount, self.currency),
                    },
                )
            elif method.max_amount is not None and amount > method.max_amount:
                self.add_error(
                    "amount",
                    _("The largest %(method)s deposit is %(amount)s.")
                    % {
                        "method": method.name,
                        "amount": money_text(method.max_amount, self.currency),
                    },
                )
        if method.kind == "bank" and not data.get("iban", "").strip():
            self.add_error("iban", _("Give the IBAN of your account the wire comes from."))
        return data


DEPOSIT_STATUS_TEXT = {
    "processing": gettext_lazy("Being processed"),
    "awaiting_payer": gettext_lazy("Waiting for you on the payment page"),
    "authorised": gettext_lazy("Accepted — waiting for the payment provider's confirmation"),
    "credited": gettext_lazy("Credited to your wallet"),
    "parked": gettext_lazy("Credited, on hold until your identity is verified"),
    "declined": gettext_lazy("Declined"),
    "failed": gettext_lazy("Could not be processed — please try another method"),
    "expired": gettext_lazy("Expired — the payment was not finished"),
}
DEPOSIT_FINAL = {"credited", "parked", "declined", "failed", "expired"}


def deposit_view(deposit: Any) -> dict[str, Any]:
    return {
        "reference": getattr(deposit, "reference", None) or "",
        "amount": money_text(deposit.amount, deposit.currency),
        "method": deposit.method.name,
        "instrument": deposit.instrument_label,
        "status": deposit.status,
        "status_text": DEPOSIT_STATUS_TEXT.get(deposit.status, deposit.status),
        "final": deposit.status in DEPOSIT_FINAL,
        "created_at": deposit.created_at,
        "redirect_url": deposit.redirect_url if deposit.status == "awaiting_payer" else "",
        "hosted": deposit.method.kind == "card",
    }


def _reread(profile: Any, deposit: Any) -> Any:
    """The deposit as the client's list reads it (with its attempt's reference)."""
    rows = payment_selectors.client_deposits(entity_id=profile.entity_id, profile_id=profile.pk)
    return rows.filter(pk=deposit.pk).first() or deposit


@client_required
def deposit(request: HttpRequest) -> HttpResponse:
    profile = request.client.profile
    currencies = currency_choices(profile)
    chosen = request.POST.get("currency") or request.GET.get("currency") or ""
    if chosen not in dict(currencies):
        chosen = currencies[0][0] if currencies else ""
    picker = CurrencyForm(initial={"currency": chosen}, currencies=currencies)
    methods = payment_selectors.deposit_methods(profile=profile, currency=chosen) if chosen else []
    form = DepositForm(request.POST or None, methods=methods, currency=chosen)
    created = None
    if request.method == "POST" and form.is_valid():
        values = form.cleaned_data
        method = form.methods[values["method"]]
        key = idempotency_key(profile, values["key"])
        try:
            if method.hosted_page:
                made = payment_services.deposit_checkout_create(
                    actor=request.client,
                    profile=profile,
                    amount=values["amount"],
                    currency=chosen,
                    method=method.code,
                    return_url=request.build_absolute_uri(reverse("portal:deposit_return")),
                    idempotency_key=key,
                )
            else:
                made = payment_services.deposit_create(
                    actor=request.client,
                    profile=profile,
                    amount=values["amount"],
                    currency=chosen,
                    method=method.code,
                    instrument={"iban": values["iban"]},
                    idempotency_key=key,
                )
        except ApplicationError as error:
            error_on_form(form, error, field="amount" if error.code == "amount_invalid" else None)
        else:
            created = deposit_view(_reread(profile, made))
            created["bank"] = method.kind == "bank"
            created["iban"] = values["iban"].replace(" ", "").upper()[-4:]
    recent = payment_selectors.client_deposits(entity_id=profile.entity_id, profile_id=profile.pk)
    return render(
        request,
        "portal/money/deposit.html",
        {
            "title": _("Deposit"),
            "picker": picker,
            "currency": chosen,
            "methods": [
                {
                    "name": m.name,
                    "low": money_text(m.min_amount, chosen) if m.min_amount > 0 else "",
                    "high": money_text(m.max_amount, chosen) if m.max_amount is not None else "",
                    "hosted": m.hosted_page,
                }
                for m in methods
            ],
            "form": form,
            "created": created,
            "recent": [deposit_view(row) for row in recent[:10]],
        },
    )


@client_required
def deposit_return(request: HttpRequest) -> HttpResponse:
    """Where the PSP's page sends the client back (`?reference=…&status=…`): the deposit as we
    know it. The PSP's `status` in the address is not trusted: the credit comes with its
    signed webhook, so the page reads ours and refreshes until it is final."""
    profile = request.client.profile
    reference = request.GET.get("reference", "")[:60]
    found = payment_selectors.client_deposit_by_reference(
        entity_id=profile.entity_id, profile_id=profile.pk, reference=reference
    )
    if found is None:
        raise not_found()
    context = {"title": _("Your deposit"), "deposit": deposit_view(found), "reference": reference}
    template = (
        "portal/money/deposit_status.html" if request.htmx else "portal/money/deposit_return.html"
    )
    return render(request, template, context)


# --- withdrawals -------------------------------------------------------------------------------
