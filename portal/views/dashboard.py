"""The client's overview: where verification stands and the one next step, wallets, trading
accounts and the latest money movements."""

from __future__ import annotations

from dataclasses import dataclass

from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.urls import NoReverseMatch, reverse
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from identity.selectors import profile_consents_missing
from kyc import services as kyc_services
from kyc.selectors import client_kyc_file
from platforms.selectors import client_trading_accounts
from wallets.selectors import client_postings, client_wallets

from .common import client_required, money_text

# What a client reads for each KYC file status: never the reviewer's reasons or what matched.
KYC_STATUS_TEXT = {
    "draft": gettext_lazy("Not submitted yet"),
    "submitted": gettext_lazy("Submitted — checks are starting"),
    "checking": gettext_lazy("We are checking your documents"),
    "approved": gettext_lazy("Verified"),
    "in_review": gettext_lazy("We are checking your details"),
    "escalated": gettext_lazy("We are checking your details"),
    "rejected": gettext_lazy("Please contact support"),
}
STEP_TEXT = {
    "questionnaire": gettext_lazy("About you and your finances"),
    "appropriateness": gettext_lazy("Appropriateness test"),
    "document_identity": gettext_lazy("Identity document"),
    "document_proof_of_address": gettext_lazy("Proof of address"),
    "liveness": gettext_lazy("Selfie and liveness check"),
    "document_source_of_funds": gettext_lazy("Source of funds"),
}
STEP_STATUS_TEXT = {
    "todo": gettext_lazy("To do"),
    "done": gettext_lazy("Done"),
    "revision_requested": gettext_lazy("Please send it again"),
    "not_required": gettext_lazy("Not needed"),
}


@dataclass(frozen=True)
class NextStep:
    title: str
    text: str
    url: str = ""
    action: str = ""


def _url(name: str) -> str:
    try:
        return reverse(name)
    except NoReverseMatch:  # that part of the portal is not installed
        return ""


def next_step(*, profile, kyc_file, steps, wallets) -> NextStep:  # type: ignore[no-untyped-def]
    """The one thing the client should do now."""
    # The profile as this request read it (with the sign-in), so its flag is current.
    if not profile.email_verified:
        return NextStep(
            _("Confirm your e-mail address"),
            _("We sent you a link. Open it to confirm your address; deposits wait until then."),
            _url("portal:email_resend"),
            _("Send the link again"),
        )
    if profile_consents_missing(profile):
        return NextStep(
            _("Accept our documents"),
            _("Read and accept the client agreement and the other documents to continue."),
            _url("portal:verification"),
            _("Read the documents"),
        )
    status = kyc_file.status if kyc_file is not None else "draft"
    if status == "draft":
        todo = [step for step in steps if step.status in ("todo", "revision_requested")]
        return NextStep(
            _("Verify your identity"),
            _("%(count)s steps left before you can trade and withdraw.") % {"count": len(todo)}
            if todo
            else _("Everything is ready: submit your details for checking."),
            _url("portal:verification"),
            _("Continue verification"),
        )
    if status in ("submitted", "checking", "in_review", "escalated"):
        return NextStep(
            str(KYC_STATUS_TEXT[status]),
            _("We will e-mail you as soon as we have finished. You can already fund your wallet."),
            _url("portal:deposit"),
            _("Deposit"),
        )
    if status == "rejected":
        return NextStep(
            _("Please contact support"),
            _("We could not verify your account online. Our support team can help."),
        )
    if not any(wallet.ledger_balance for wallet in wallets):
        return NextStep(
            _("Fund your account"),
            _("Your account is verified. Make a first deposit to start trading."),
            _url("portal:deposit"),
            _("Deposit"),
        )
    return NextStep(
        _("You are all set"),
        _("Open a trading account or move money between your wallet and your accounts."),
        _url("portal:accounts"),
        _("Trading accounts"),
    )


@client_required
def dashboard(request: HttpRequest) -> HttpResponse:
    client = request.client
    profile = client.profile
    kyc_file = client_kyc_file(entity_id=profile.entity_id, profile_id=profile.pk)
    steps = kyc_services.kyc_steps(kyc_file, profile=profile) if kyc_file is not None else []
    wallets = list(client_wallets(entity_id=profile.entity_id, profile_id=profile.pk))
    accounts = list(client_trading_accounts(entity_id=profile.entity_id, profile_id=profile.pk))
    recent = list(client_postings(entity_id=profile.entity_id, profile_id=profile.pk)[:8])
    status = kyc_file.status if kyc_file is not None else "draft"
    return render(
        request,
        "portal/dashboard.html",
        {
            "title": _("Overview"),
            "next": next_step(profile=profile, kyc_file=kyc_file, steps=steps, wallets=wallets),
            "kyc_status": status,
            "kyc_status_text": KYC_STATUS_TEXT.get(status, status),
            "steps": [
                {
                    "label": STEP_TEXT.get(step.code, step.code),
                    "status": step.status,
                    "status_text": STEP_STATUS_TEXT.get(step.status, step.status),
                }
                for step in steps
                if step.status != "not_required"
            ],
            "wallets": [
                {
                    "currency": wallet.currency,
                    "balance": money_text(wallet.ledger_balance, wallet.currency),
                    "available": money_text(wallet.ledger_available, wallet.currency),
                    "held": money_text(wallet.ledger_held, wallet.currency)
                    if wallet.ledger_held
                    else "",
                }
                for wallet in wallets
            ],
            "accounts": [
                {
                    "login": account.login,
                    "platform": account.server.get_kind_display(),
                    "kind": account.get_account_type_display(),
                    "currency": account.currency,
                    "leverage": account.leverage,
                    "status": account.get_status_display(),
                    "balance": money_text(account.balance, account.currency),
                    "equity": money_text(account.equity, account.currency),
                }
                for account in accounts
            ],
            "recent": [
                {
                    "at": posting.journal.created_at,
                    "what": posting.journal.get_type_display(),
                    "amount": money_text(posting.amount, posting.currency),
                    "credit": posting.amount > 0,
                }
                for posting in recent
            ],
        },
    )
