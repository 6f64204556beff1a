"""The client's withdrawals: every reason they may not withdraw now explained before the
form, the bank accounts paid to (verified by finance), the withdrawal and its legs (cards
refunded first in their own currency, the rest to the bank, converted where asked)."""

from __future__ import annotations

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

from .common import client_required, error_on_form, money_text, not_found
from .money import AmountField, currency_choices, idempotency_key, key_field

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
