"""The client's trading accounts and transfers between wallets and accounts: the list with
the figures last synced, opening an account of a type the entity offers, and a transfer
quoted first (rate and the amount received), then confirmed — as the client API does
(platforms/api/client.py)."""

from __future__ import annotations

from typing import Any

from django import forms
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from brokercrm.errors import ApplicationError
from platforms import selectors as platform_selectors
from platforms import services as platform_services
from wallets.selectors import client_wallet_by_id, client_wallets

from .common import client_required, error_on_form, money_text, not_found
from .money import AmountField, idempotency_key, key_field

ACCOUNT_TYPE_TEXT = {
    "demo": gettext_lazy("Demo"),
    "standard": gettext_lazy("Live standard"),
    "pro": gettext_lazy("Live pro"),
}
ACCOUNT_STATUS_TEXT = {
    "pending": gettext_lazy("Being created"),
    "enabled": gettext_lazy("Active"),
    "read_only": gettext_lazy("Read-only"),
    "disabled": gettext_lazy("Disabled"),
    "closed": gettext_lazy("Closed"),
    "failed": gettext_lazy("Could not be created"),
}
# Why an account is refused, in the client's words (the service's codes).
REFUSAL_TEXT = {
    "kyc_not_approved": gettext_lazy(
        "A live account opens once your identity is verified. A demo account needs no verification."
    ),
    "document_expired": gettext_lazy(
        "Your identity document has expired: send us a valid one to open a live account."
    ),
}
TRANSFER_STATUS_TEXT = {
    "completed": gettext_lazy("Done"),
    "pending": gettext_lazy("Waiting for the trading server"),
    "failed": gettext_lazy("Refused: no money moved"),
    "reversed": gettext_lazy("Refused by the trading server: the money is back"),
}


def account_view(account: Any) -> dict[str, Any]:
    return {
        "id": account.pk,
        "login": account.login,
        "platform": account.server.get_kind_display(),
        "kind": ACCOUNT_TYPE_TEXT.get(account.account_type, account.account_type),
        "currency": account.currency,
        "leverage": account.leverage,
        "status": ACCOUNT_STATUS_TEXT.get(account.status, account.status),
        "balance": money_text(account.balance, account.currency),
        "equity": money_text(account.equity, account.currency),
        "margin": money_text(account.margin, account.currency),
        "free_margin": money_text(account.free_margin, account.currency),
        "synced_at": account.synced_at,
    }


class OpenAccountForm(forms.Form):
    offer = forms.ChoiceField(label=gettext_lazy("Account type"), widget=forms.RadioSelect)
    key = key_field()

    def __init__(self, *args: Any, offered: list[Any], **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.offered = {f"{o.type}:{o.currency}:{o.server_id}": o for o in offered}
        self.fields["offer"].choices = [
            (
                value,
                _("%(type)s in %(currency)s on %(platform)s%(leverage)s")
                % {
                    "type": ACCOUNT_TYPE_TEXT.get(o.type, o.type),
                    "currency": o.currency,
                    "platform": o.platform.upper(),
                    "leverage": f", 1:{o.leverage}" if o.leverage else "",
                },
            )
            for value, o in self.offered.items()
        ]


@client_required
def accounts(request: HttpRequest) -> HttpResponse:
    client = request.client
    profile = client.profile
    offered = platform_selectors.account_types_offered(entity_id=profile.entity_id)
    form = OpenAccountForm(request.POST or None, offered=offered)
    opened = None
    if request.method == "POST" and form.is_valid():
        offer = form.offered[form.cleaned_data["offer"]]
        server = platform_selectors.entity_trading_server(
            entity_id=profile.entity_id, server_id=offer.server_id
        )
        try:
            account = platform_services.trading_account_open(
                actor=client,
                profile=profile,
                account_type=offer.type,
                currency=offer.currency,
                server=server,
                idempotency_key=idempotency_key(profile, form.cleaned_data["key"]),
            )
        except ApplicationError as error:
            if error.code in REFUSAL_TEXT:
                form.add_error("offer", str(REFUSAL_TEXT[error.code]))
            else:
                error_on_form(form, error, field="offer")
        else:
            opened = account_view(
                platform_selectors.client_trading_account(
                    entity_id=profile.entity_id, profile_id=profile.pk, account_id=account.pk
                )
            )
            form = OpenAccountForm(offered=offered)
    rows = platform_selectors.client_trading_accounts(
        entity_id=profile.entity_id, profile_id=profile.pk
    )
    return render(
        request,
        "portal/trading/accounts.html",
        {
            "title": _("Trading accounts"),
            "accounts": [account_view(row) for row in rows],
            "form": form,
            "offered": bool(offered),
            "opened": opened,
        },
    )


@client_required
def account(request: HttpRequest, account_id: int) -> HttpResponse:
    profile = request.client.profile
    row = platform_selectors.client_trading_account(
        entity_id=profile.entity_id, profile_id=profile.pk, account_id=account_id
    )
    if row is None:
        raise not_found()
    return render(
        request,
        "portal/trading/account.html",
        {
            "title": _("Trading account %(login)s") % {"login": row.login or row.pk},
            "account": account_view(row),
        },
    )


# --- transfers ---------------------------------------------------------------------------------


def _endpoints(profile: Any) -> list[tuple[str, str]]:
    choices = []
    for wallet in client_wallets(entity_id=profile.entity_id, profile_id=profile.pk):
        if wallet.closed_at is None:
            choices.append(
                (
                    f"wallet:{wallet.pk}",
                    _("Wallet %(currency)s (available %(amount)s)")
                    % {
                        "currency": wallet.currency,
                        "amount": money_text(wallet.ledger_available, wallet.currency),
                    },
                )
            )
    for row in platform_selectors.client_trading_accounts(
        entity_id=profile.entity_id, profile_id=profile.pk
    ):
        if row.login:
            choices.append(
                (
                    f"account:{row.pk}",
                    _("Trading account %(login)s %(currency)s (balance %(amount)s)")
                    % {
                        "login": row.login,
                        "currency": row.currency,
                        "amount": money_text(row.balance, row.currency),
                    },
                )
            )
    return choices


class QuoteForm(forms.Form):
    source = forms.ChoiceField(label=gettext_lazy("From"))
    target = forms.ChoiceField(label=gettext_lazy("To"))
    amount = AmountField(
        help_text=gettext_lazy("In the currency of the wallet or account the money leaves.")
    )

    def __init__(self, *args: Any, endpoints: list[tuple[str, str]], **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["source"].choices = endpoints
        self.fields["target"].choices = endpoints

    def clean(self) -> dict[str, Any]:
        data = super().clean()
        if data.get("source") and data.get("source") == data.get("target"):
            self.add_error("target", _("Choose another wallet or account to move the money to."))
        return data


class ConfirmForm(forms.Form):
    quote_id = forms.UUIDField(widget=forms.HiddenInput)
    key = key_field()


def _endpoint(profile: Any, value: str) -> platform_services.Endpoint:
    kind, _sep, number = value.partition(":")
    pk = int(number)
    if kind == "wallet":
        wallet = client_wallet_by_id(
            entity_id=profile.entity_id, profile_id=profile.pk, wallet_id=pk
        )
        if wallet is not None:
            return platform_services.Endpoint(wallet=wallet)
    else:
        row = platform_selectors.client_trading_account(
            entity_id=profile.entity_id, profile_id=profile.pk, account_id=pk
        )
        if row is not None:
            return platform_services.Endpoint(account=row)
    raise not_found()


def quote_view(quote: Any) -> dict[str, Any]:
    return {
        "id": quote.token,
        "sent": money_text(quote.from_amount, quote.from_currency),
        "received": money_text(quote.to_amount, quote.to_currency),
        "converts": quote.from_currency != quote.to_currency,
        "rate": quote.rate,
        "pair": f"{quote.from_currency}/{quote.to_currency}",
        "expires_at": quote.expires_at,
    }


@client_required
def transfer(request: HttpRequest) -> HttpResponse:
    client = request.client
    profile = client.profile
    endpoints = _endpoints(profile)
    action = request.POST.get("action", "")
    form = QuoteForm(request.POST if action == "quote" else None, endpoints=endpoints)
    quote = confirm = result = None
    if action == "quote" and form.is_valid():
        try:
            made = platform_services.transfer_quote_create(
                actor=client,
                source=_endpoint(profile, form.cleaned_data["source"]),
                target=_endpoint(profile, form.cleaned_data["target"]),
                amount=form.cleaned_data["amount"],
            )
        except ApplicationError as error:
            error_on_form(form, error, field="amount")
        else:
            quote = quote_view(made)
            confirm = ConfirmForm(initial={"quote_id": made.token})
    elif action == "confirm":
        confirm = ConfirmForm(request.POST)
        if confirm.is_valid():
            found = platform_selectors.client_transfer_quote(
                entity_id=profile.entity_id,
                profile_id=profile.pk,
                token=confirm.cleaned_data["quote_id"],
            )
            if found is None:
                raise not_found()
            quote = quote_view(found)
            try:
                done = platform_services.transfer_execute(
                    actor=client,
                    quote=found,
                    idempotency_key=idempotency_key(profile, confirm.cleaned_data["key"]),
                )
            except ApplicationError as error:
                error_on_form(confirm, error)
            else:
                done = platform_selectors.client_transfer_quote(
                    entity_id=profile.entity_id, profile_id=profile.pk, token=done.token
                )
                status = done.trading_transfer.status if done.trading_transfer_id else "completed"
                detail = done.trading_transfer.error_detail if done.trading_transfer_id else ""
                result = {
                    "status": status,
                    "ok": status in ("completed", "pending"),
                    "status_text": TRANSFER_STATUS_TEXT.get(status, status),
                    "detail": detail,
                }
                confirm = None
                form = QuoteForm(endpoints=_endpoints(profile))
    return render(
        request,
        "portal/trading/transfer.html",
        {
            "title": _("Transfer"),
            "form": form,
            "quote": quote,
            "confirm": confirm,
            "result": result,
            "can_transfer": len(endpoints) >= 2,
        },
    )
