"""The client's money in and out: deposits (a card on the PSP's hosted page, a bank wire from
the client's own IBAN), the deposit's return page, withdrawals with every block explained
before the form, and the client's payout bank accounts.

The same services as the client API (payments/api/client_views.py) with the client as the
actor; the portal's CSP allows forms to post to this site only, so the PSP's page is a link
the client follows, never an automatic redirect."""

from __future__ import annotations

import uuid
from decimal import Decimal, InvalidOperation
from typing import Any

from django import forms
from django.contrib import messages
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
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

BLOCK_TEXT = {
    "kyc_not_approved": gettext_lazy(
        "Your identity is not verified yet. Withdrawals open once we have approved your documents."
    ),
    "cooling_off": gettext_lazy(
        "Your first withdrawal is possible after the waiting period that follows your first "
        "deposit."
    ),
    "aml_block": gettext_lazy("Withdrawals are suspended on your account. Please contact support."),
    "risk_hold": gettext_lazy(
        "A hold is in place on your account while we review it. Please contact support."
    ),
    "sanctions_hit": gettext_lazy("We are reviewing your account. Please contact support."),
    "document_expired": gettext_lazy(
        "Your identity document has expired: send us a valid one to withdraw again."
    ),
    "wallet_not_found": gettext_lazy("You have no wallet in this currency."),
    "insufficient_funds": gettext_lazy("You have no money available to withdraw in this wallet."),
    "bank_account_missing": gettext_lazy(
        "Add a bank account in your own name below: what cannot go back to your cards is paid "
        "there."
    ),
    "bank_account_unverified": gettext_lazy(
        "Your bank account is not verified yet; our finance team checks it within a working day."
    ),
    "no_route": gettext_lazy("We cannot pay out in this currency to your country."),
    "fx_rate_missing": gettext_lazy(
        "We have no exchange rate for this currency pair at the moment: choose another payout "
        "currency or try again later."
    ),
}
WITHDRAWAL_STATUS_TEXT = {
    "pending_approval": gettext_lazy("Waiting for approval"),
    "approved": gettext_lazy("Approved — paying out"),
    "paid": gettext_lazy("Paid"),
    "partially_paid": gettext_lazy("Partly paid, the rest returned to your wallet"),
    "failed": gettext_lazy("Payout failed, returned to your wallet"),
    "rejected": gettext_lazy("Rejected, returned to your wallet"),
}
LEG_TEXT = {
    "card": gettext_lazy("Refund to your card"),
    "bank": gettext_lazy("To your bank account"),
}
LEG_STATUS_TEXT = {
    "waiting": gettext_lazy("Waiting"),
    "sent": gettext_lazy("Sent"),
    "paid": gettext_lazy("Paid"),
    "failed": gettext_lazy("Failed"),
    "voided": gettext_lazy("Cancelled"),
}


class WithdrawalQueryForm(forms.Form):
    currency = forms.ChoiceField(label=gettext_lazy("From my wallet in"))
    payout_currency = forms.ChoiceField(label=gettext_lazy("Paid out in"))

    def __init__(self, *args: Any, currencies: list[tuple[str, str]], **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        for name in ("currency", "payout_currency"):
            self.fields[name].choices = currencies
            self.fields[name].widget.attrs["data-autosubmit"] = ""


class WithdrawalForm(forms.Form):
    amount = AmountField()
    bank_account = forms.TypedChoiceField(
        label=gettext_lazy("Bank account"), coerce=int, required=False
    )
    currency = forms.CharField(widget=forms.HiddenInput, max_length=3)
    payout_currency = forms.CharField(widget=forms.HiddenInput, max_length=3)
    quoted_rate = forms.DecimalField(widget=forms.HiddenInput, required=False)
    key = key_field()

    def __init__(self, *args: Any, accounts: list[Any], **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["bank_account"].choices = [(a.pk, f"{a} — {a.holder}") for a in accounts]
        if not accounts:
            self.fields["bank_account"].widget = forms.HiddenInput()


class BankAccountForm(forms.Form):
    iban = forms.CharField(label=gettext_lazy("IBAN"), max_length=50)
    bic = forms.CharField(label=gettext_lazy("BIC"), max_length=20, required=False)
    holder = forms.CharField(
        label=gettext_lazy("Account holder"),
        max_length=200,
        help_text=gettext_lazy("Your own name, as the bank writes it."),
    )

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        kwargs.setdefault("prefix", "bank")
        super().__init__(*args, **kwargs)
        self.fields["iban"].widget.attrs.update(autocomplete="off", spellcheck="false")


def block_view(block: Any) -> dict[str, Any]:
    return {
        "code": block.code,
        "text": BLOCK_TEXT.get(block.code, block.detail),
        "until": block.until,
    }


def withdrawal_view(row: Any) -> dict[str, Any]:
    legs = []
    for leg in row.legs.all():
        amount, currency = leg.payout
        legs.append(
            {
                "what": LEG_TEXT.get(leg.destination, leg.destination),
                "to": str(leg.bank_account) if leg.bank_account_id else "",
                "amount": money_text(amount, currency),
                "status": leg.status,
                "status_text": LEG_STATUS_TEXT.get(leg.status, leg.status),
            }
        )
    return {
        "id": row.pk,
        "created_at": row.created_at,
        "amount": money_text(row.amount, row.currency),
        "payout_currency": row.payout_currency,
        "rate": row.fx_rate,
        "status": row.status,
        "status_text": WITHDRAWAL_STATUS_TEXT.get(row.status, row.status),
        "legs": legs,
    }


@client_required
def withdraw(request: HttpRequest) -> HttpResponse:
    client = request.client
    profile = client.profile
    currencies = currency_choices(profile)
    known = dict(currencies)
    source = request.POST if request.method == "POST" else request.GET
    currency = source.get("currency", "")
    currency = currency if currency in known else (currencies[0][0] if currencies else "")
    payout = source.get("payout_currency", "")
    payout = payout if payout in known else currency
    accounts_all = list(
        payment_selectors.client_bank_accounts(entity_id=profile.entity_id, profile_id=profile.pk)
    )
    verified = [account for account in accounts_all if account.verified]
    action = request.POST.get("action", "")
    bank_form = BankAccountForm(request.POST if action == "bank_account" else None)
    form = WithdrawalForm(
        request.POST if action == "withdraw" else None,
        accounts=verified,
        initial={"currency": currency, "payout_currency": payout},
    )
    form.fields["amount"].places = CURRENCY_MINOR_UNITS.get(currency, 2)
    if action == "bank_account" and bank_form.is_valid():
        try:
            payment_services.bank_account_add(
                actor=client,
                profile=profile,
                iban=bank_form.cleaned_data["iban"],
                bic=bank_form.cleaned_data["bic"],
                holder=bank_form.cleaned_data["holder"],
            )
        except ApplicationError as error:
            _bank_error(bank_form, error)
        else:
            messages.success(
                request, _("Bank account added. Our finance team verifies it within a working day.")
            )
            return redirect(
                f"{reverse('portal:withdraw')}?currency={currency}&payout_currency={payout}"
            )
    if action == "withdraw" and form.is_valid():
        values = form.cleaned_data
        if values["currency"] not in known or values["payout_currency"] not in known:
            form.add_error(None, _("Choose a currency from the list."))
        else:
            chosen = None
            if values.get("bank_account"):
                chosen = payment_selectors.client_bank_account(
                    entity_id=profile.entity_id,
                    profile_id=profile.pk,
                    account_id=values["bank_account"],
                )
                if chosen is None:
                    raise not_found()
            try:
                made = payment_services.withdrawal_request(
                    actor=client,
                    profile=profile,
                    amount=values["amount"],
                    currency=values["currency"],
                    payout_currency=values["payout_currency"],
                    bank_account=chosen,
                    quoted_rate=values.get("quoted_rate"),
                    idempotency_key=idempotency_key(profile, values["key"]),
                )
            except ApplicationError as error:
                error_on_form(form, error, field="amount")
            else:
                messages.success(
                    request,
                    _("Withdrawal of %(amount)s requested.")
                    % {"amount": money_text(made.amount, made.currency)},
                )
                return redirect(
                    f"{reverse('portal:withdraw')}?currency={currency}&payout_currency={payout}"
                )
    eligibility = payment_selectors.withdrawal_eligibility(
        profile=profile, currency=currency, payout_currency=payout
    )
    if eligibility.quote is not None and not form.is_bound:
        form.initial["quoted_rate"] = eligibility.quote.rate
    withdrawals = payment_selectors.client_withdrawals(
        entity_id=profile.entity_id, profile_id=profile.pk
    )
    return render(
        request,
        "portal/money/withdraw.html",
        {
            "title": _("Withdraw"),
            "query": WithdrawalQueryForm(
                initial={"currency": currency, "payout_currency": payout}, currencies=currencies
            ),
            "currency": currency,
            "payout_currency": payout,
            "eligibility": {
                "eligible": eligibility.eligible,
                "available": money_text(eligibility.available, currency),
                "card_refundable": money_text(eligibility.card_refundable, currency)
                if eligibility.card_refundable
                else "",
                "rate": eligibility.quote.rate if eligibility.quote else None,
                "blocks": [block_view(block) for block in eligibility.blocks],
            },
            "form": form,
            "bank_form": bank_form,
            "bank_accounts": [
                {"iban": str(a), "bic": a.bic, "holder": a.holder, "verified": a.verified}
                for a in accounts_all
            ],
            "withdrawals": [withdrawal_view(row) for row in withdrawals[:20]],
        },
    )


def _bank_error(form: forms.Form, error: ApplicationError) -> None:
    """The service's codes per field (`fields`) in words on the fields."""
    fields = error.extra.get("fields") if isinstance(error.extra, dict) else None
    if isinstance(fields, dict) and any(name in form.fields for name in fields):
        for name, code in fields.items():
            if name in form.fields:
                form.add_error(name, BANK_FIELD_TEXT.get(str(code), error.detail))
        return
    error_on_form(form, error)


BANK_FIELD_TEXT = {
    "iban_invalid": gettext_lazy("This IBAN is not valid: check the letters and figures."),
    "bic_invalid": gettext_lazy("This BIC is not valid."),
    "bic_country_mismatch": gettext_lazy("The BIC is of another country than the IBAN."),
    "holder_required": gettext_lazy("Give the account holder's name."),
    "holder_not_client": gettext_lazy(
        "The account must be in your own name: give the holder's name as your bank shows it, "
        "with your given and family name."
    ),
}
