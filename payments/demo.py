"""Demo payments configuration: the simulated PSP, payment methods, each entity's merchant
accounts and routing rules, and what the PSP simulator needs to know of them. Adds only what
is missing."""

from __future__ import annotations

import os
from decimal import Decimal
from typing import Any

from brokercrm.gate import SYSTEM

from .models import MerchantAccount, PaymentMethod, PaymentProvider, RoutingRule
from .services import routing_rule_set

SECRET_ENV = "PSP_DEMO_WEBHOOK_SECRET"  # noqa: S105 - the variable's name, not a secret
METHODS = [
    ("card", "Card", "card", []),
    ("bank_wire", "Bank wire", "bank", []),
    ("sofort", "Sofort", "local", ["DE", "AT"]),
    ("ideal", "iDEAL", "local", ["NL"]),
    ("blik", "BLIK", "local", ["PL"]),
    ("faster_payments", "Faster Payments", "local", ["GB"]),
]
# entity, merchant code, family, currencies, methods
MERCHANTS = [
    ("EU", "eu-cards-a1", "eu-cards-a", ["EUR", "USD", "PLN"], ["card"]),
    ("EU", "eu-cards-a2", "eu-cards-a", ["EUR", "USD", "PLN"], ["card"]),
    ("EU", "eu-cards-b1", "eu-cards-b", ["EUR"], ["card"]),
    ("EU", "eu-bank", "eu-bank", ["EUR", "USD", "PLN"], ["bank_wire"]),
    ("EU", "eu-local", "eu-local", ["EUR", "PLN"], ["sofort", "ideal", "blik"]),
    ("UK", "uk-cards", "uk-cards", ["GBP", "EUR", "USD"], ["card"]),
    ("UK", "uk-bank", "uk-bank", ["GBP"], ["bank_wire", "faster_payments"]),
    ("SC", "sc-cards", "sc-cards", ["USD", "EUR"], ["card"]),
    ("SC", "sc-bank", "sc-bank", ["USD"], ["bank_wire"]),
]
# entity, name, countries, currency, method, [merchant codes]
ROUTES = [
    ("EU", "EU cards EUR", ["*"], "EUR", "card", ["eu-cards-a1", "eu-cards-a2", "eu-cards-b1"]),
    ("EU", "EU cards USD", ["*"], "USD", "card", ["eu-cards-a1", "eu-cards-a2"]),
    ("EU", "EU cards PLN", ["PL"], "PLN", "card", ["eu-cards-a1"]),
    ("EU", "EU bank EUR", ["*"], "EUR", "bank_wire", ["eu-bank"]),
    ("EU", "EU bank USD", ["*"], "USD", "bank_wire", ["eu-bank"]),
    ("EU", "EU Sofort", ["DE", "AT"], "EUR", "sofort", ["eu-local"]),
    ("EU", "EU iDEAL", ["NL"], "EUR", "ideal", ["eu-local"]),
    ("EU", "EU BLIK", ["PL"], "PLN", "blik", ["eu-local"]),
    ("UK", "UK cards GBP", ["GB"], "GBP", "card", ["uk-cards"]),
    ("UK", "UK bank GBP", ["GB"], "GBP", "bank_wire", ["uk-bank"]),
    ("UK", "UK Faster Payments", ["GB"], "GBP", "faster_payments", ["uk-bank"]),
    ("SC", "SC cards USD", ["*"], "USD", "card", ["sc-cards"]),
    ("SC", "SC bank USD", ["*"], "USD", "bank_wire", ["sc-bank"]),
]


def simulator_config(public_base_url: str, secret: str) -> dict[str, Any]:
    """What the PSP simulator needs to know of our merchant accounts (demo)."""
    return {
        "merchants": [
            {
                "id": merchant.code,
                "webhook_url": f"{public_base_url.rstrip('/')}/api/v1/webhooks/psp/{merchant.code}",
                "webhook_secret": secret,
                "currencies": merchant.currencies,
                "methods": merchant.methods,
                "approval_rate": 0.85,
                "fee_bps": 120,
                "duplicate_rate": 0.1,
            }
            for merchant in MerchantAccount.objects.unscoped().order_by("code")
        ]
    }


def seed(*, entities: dict[str, Any]) -> tuple[int, int]:
    """The provider, methods, merchant accounts and routing rules of `entities` (by code);
    returns how many merchant accounts and routing rules the demo defines."""
    provider, _ = PaymentProvider.objects.update_or_create(
        code="simpay",
        defaults={
            "name": "SimPay (simulated PSP)",
            "base_url": os.environ.get("PSP_SIMULATOR_URL", "http://127.0.0.1:8701"),
        },
    )
    methods = {}
    for code, name, kind, countries in METHODS:
        methods[code], _ = PaymentMethod.objects.update_or_create(
            code=code, defaults={"name": name, "kind": kind, "countries": countries}
        )
    merchants = {}
    for entity, code, family, currencies, accepted in MERCHANTS:
        merchants[code], _ = MerchantAccount.objects.unscoped().get_or_create(
            provider=provider,
            code=code,
            defaults={
                "entity": entities[entity],
                "gateway_family": family,
                "currencies": currencies,
                "methods": accepted,
                "webhook_secret_env": SECRET_ENV,
            },
        )
    for entity, name, countries, currency, method, codes in ROUTES:
        if RoutingRule.objects.in_entity(entities[entity]).filter(name=name).exists():
            continue
        routing_rule_set(
            actor=SYSTEM,
            entity=entities[entity],
            name=name,
            countries=countries,
            currency=currency,
            method=methods[method],
            merchant_accounts=[merchants[code] for code in codes],
            max_amount=Decimal("50000"),
        )
    return len(MERCHANTS), len(ROUTES)


# --- the cross-currency withdrawal case ------------------------------------------------------

# An EU-routed client (a German resident of the EU entity) with a EUR wallet, whose first
# deposit and KYC approval lie behind the 24 h cooling-off, withdrawing EUR paid out in USD on
# the EU entity's USD bank route; deposits more on the PSP's hosted page.
WITHDRAWAL_CLIENT = ("EU", "lukas.becker@example.de")
WITHDRAWAL_IBAN = "DE89370400440532013000"  # the simulator pays it out, always
EUR_USD = Decimal("1.0850")
FIRST_DEPOSIT = Decimal("2500.00")


def seed_withdrawal_case(*, profile: Any, password: str) -> list[str]:
    """The payments side of the case, for a client whose KYC is approved and whose cooling-off
    is over: the EUR/USD rate, a credited first bank-wire deposit, a verified bank account in
    the client's name, and the client's login. Returns the API calls to try, to print."""
    from brokercrm.accounts.models import User
    from brokercrm.errors import ApplicationError
    from brokercrm.gate import SYSTEM
    from identity.logins import client_login_create
    from wallets.services import (
        JournalSpec,
        Line,
        fx_quote,
        fx_rate_record,
        journal_post,
        system_account,
        wallet_open,
    )

    from .models import BankAccount, Deposit
    from .services import bank_account_add, bank_account_verify

    try:
        fx_quote(entity=profile.entity_id, base="EUR", quote="USD")
    except ApplicationError:
        fx_rate_record(base="EUR", quote="USD", rate=EUR_USD, source="ECB (demo)")
    wallet = wallet_open(profile=profile, currency="EUR")
    key = f"demo:first-deposit:{profile.pk}"
    if not Deposit.objects.in_entity(profile.entity_id).filter(idempotency_key=key).exists():
        # As the PSP's webhook leaves a bank wire: credited from PSP clearing.
        journal = journal_post(
            actor=SYSTEM,
            entity=profile.entity_id,
            spec=JournalSpec(
                type="deposit",
                idempotency_key=key,
                lines=[
                    Line(wallet, FIRST_DEPOSIT),
                    Line(
                        system_account(
                            entity=profile.entity_id, kind="psp_clearing", currency="EUR"
                        ),
                        -FIRST_DEPOSIT,
                    ),
                ],
                reference=f"psp:eu-bank:demo-{profile.pk}",
                metadata={"demo": "first deposit"},
            ),
        )
        Deposit.objects.create(
            entity_id=profile.entity_id,
            profile=profile,
            wallet=wallet,
            amount=FIRST_DEPOSIT,
            currency="EUR",
            method=PaymentMethod.objects.get(code="bank_wire"),
            instrument_label=f"IBAN …{WITHDRAWAL_IBAN[-4:]}",
            status=Deposit.Status.CREDITED,
            journal=journal,
            idempotency_key=key,
            request_hash="demo",
            created_by="demo",
        )
    account = (
        BankAccount.objects.in_entity(profile.entity_id)
        .filter(profile=profile, iban=WITHDRAWAL_IBAN)
        .first()
    )
    if account is None:
        account = bank_account_add(
            actor=SYSTEM,
            profile=profile,
            iban=WITHDRAWAL_IBAN,
            holder=f"{profile.given_name} {profile.family_name}",
        )
    if not account.verified:
        bank_account_verify(actor=SYSTEM, account=account, reason="demo: bank statement seen")
    if not User.objects.filter(profile=profile).exists():
        client_login_create(actor=SYSTEM, profile=profile, password=password)
    return _withdrawal_calls(profile, account.pk)


def _withdrawal_calls(profile: Any, bank_account: int) -> list[str]:
    base = os.environ.get("PUBLIC_BASE_URL", "http://127.0.0.1:8000").rstrip("/")
    auth = '-H "Authorization: Token $TOKEN"'
    return [
        f"Client {profile.email} ({profile.entity.code}, resident in "
        f"{profile.residence_country}): EUR wallet, cooling-off over, bank account "
        f"{bank_account} verified",
        f"TOKEN=$(curl -s -X POST {base}/api/v1/client-tokens -H 'Authorization: Api-Key "
        "<atlas-markets key above>' -H 'Content-Type: application/json' -d "
        f'\'{{"email": "{profile.email}", "password": "<demo password>"}}\' '
        "| python3 -c 'import json,sys; print(json.load(sys.stdin)[\"token\"])')",
        f"curl -s {auth} '{base}/api/v1/me/deposit-methods?currency=EUR'",
        f"curl -s {auth} -H 'Idempotency-Key: demo-dep-1' -H 'Content-Type: application/json' "
        f'-X POST {base}/api/v1/me/deposits -d \'{{"amount": "100.00", "currency": '
        f'"EUR", "method": "card", "return_url": "{base}/healthz"}}\''
        "   # open redirect_url: card 4242424242424242, code 123456",
        f"curl -s {auth} '{base}/api/v1/me/withdrawals/eligibility?currency=EUR"
        "&payout_currency=USD&amount=500.00'",
        f"curl -s {auth} -H 'Idempotency-Key: demo-wd-1' -H 'Content-Type: application/json' "
        f'-X POST {base}/api/v1/me/withdrawals -d \'{{"amount": "500.00", "currency": '
        f'"EUR", "payout_currency": "USD", "bank_account": {bank_account}, '
        '"quoted_rate": "<quote.rate from the eligibility>"}\'',
        f"curl -s {auth} {base}/api/v1/me/withdrawals   # approved, then paid in USD",
    ]


# --- work for finance and compliance ("My work") ---------------------------------------------

TOP_UP = Decimal("25000.00")
# (key, amount): within the finance limit (finance approves), and two above it (finance and
# compliance approve, two people): one untouched, one finance already approved.
QUEUED_WITHDRAWALS = [("finance", "1800.00"), ("large", "11000.00"), ("large-half", "12000.00")]
PARKED_CLIENT = ("EU", "sofia.rossi@example.it")
PARKED_AMOUNT = Decimal("800.00")


def _bank_wire(profile: Any, wallet: Any, amount: Decimal, key: str, reference: str) -> Any:
    """A bank wire as the PSP's webhook leaves it: credited from PSP clearing."""
    from brokercrm.gate import SYSTEM
    from wallets.services import JournalSpec, Line, journal_post, system_account

    from .models import Deposit

    found = Deposit.objects.in_entity(profile.entity_id).filter(idempotency_key=key).first()
    if found is not None:
        return found
    clearing = system_account(entity=profile.entity_id, kind="psp_clearing", currency="EUR")
    journal = journal_post(
        actor=SYSTEM,
        entity=profile.entity_id,
        spec=JournalSpec(
            type="deposit",
            idempotency_key=key,
            lines=[Line(wallet, amount), Line(clearing, -amount)],
            reference=reference,
            metadata={"demo": "bank wire"},
        ),
    )
    return Deposit.objects.create(
        entity_id=profile.entity_id,
        profile=profile,
        wallet=wallet,
        amount=amount,
        currency="EUR",
        method=PaymentMethod.objects.get(code="bank_wire"),
        instrument_label=f"IBAN …{WITHDRAWAL_IBAN[-4:]}",
        status=Deposit.Status.CREDITED,
        journal=journal,
        idempotency_key=key,
        request_hash="demo",
        created_by="demo",
    )


def seed_work_queues(*, profile: Any, parked_profile: Any, finance: Any) -> dict[str, int]:
    """Work waiting in finance's and compliance's queues, on top of the withdrawal case: the
    client's large bank wire, three withdrawals waiting for approval at either level, the
    wire missing from yesterday's settlement of the bank merchant (a break), and a card
    deposit of a client whose KYC is still open, parked by the PSP's confirmation. Returns
    how many of each there are."""
    from datetime import timedelta

    from django.db import transaction
    from django.utils import timezone

    from brokercrm.gate import SYSTEM
    from wallets.services import wallet_open

    from .models import (
        BankAccount,
        Deposit,
        DepositAttempt,
        ReconciliationBreak,
        ReconciliationRun,
        Withdrawal,
    )
    from .services import deposit_credit, withdrawal_approve, withdrawal_request

    wallet = wallet_open(profile=profile, currency="EUR")
    reference = f"psp:eu-bank:demo-top-up-{profile.pk}"
    top_up = _bank_wire(profile, wallet, TOP_UP, f"demo:top-up:{profile.pk}", reference)
    account = BankAccount.objects.in_entity(profile.entity_id).get(
        profile=profile, iban=WITHDRAWAL_IBAN
    )
    for key, amount in QUEUED_WITHDRAWALS:
        withdrawal = withdrawal_request(
            actor=SYSTEM,
            profile=profile,
            amount=amount,
            currency="EUR",
            idempotency_key=f"demo:wd-{key}:{profile.pk}",
            bank_account=account,
        )
        if (
            key == "large-half"
            and withdrawal.status == Withdrawal.Status.PENDING_APPROVAL
            and withdrawal.finance_approver_id is None
        ):
            withdrawal_approve(
                actor=finance, withdrawal=withdrawal, reason="demo: payout account verified"
            )
    merchant = MerchantAccount.objects.unscoped().get(code="eu-bank")
    run, _ = ReconciliationRun.objects.unscoped().get_or_create(
        merchant_account=merchant,
        day=timezone.localdate() - timedelta(days=1),
        defaults={"entity_id": merchant.entity_id, "lines": 0, "breaks": 1},
    )
    ReconciliationBreak.objects.unscoped().get_or_create(
        run=run,
        kind=ReconciliationBreak.Kind.MISSING_SETTLEMENT,
        psp_transaction_id="",
        reference=reference,
        defaults={
            "entity_id": merchant.entity_id,
            "currency": "EUR",
            "ledger_amount": top_up.amount,
            "detail": f"deposit {top_up.pk} credited, not in the bank's settlement file",
        },
    )
    key = f"demo:parked:{parked_profile.pk}"
    if not Deposit.objects.in_entity(parked_profile.entity_id).filter(idempotency_key=key).exists():
        card = MerchantAccount.objects.unscoped().get(code="eu-cards-a1")
        with transaction.atomic():
            deposit = Deposit.objects.create(
                entity_id=parked_profile.entity_id,
                profile=parked_profile,
                wallet=wallet_open(profile=parked_profile, currency="EUR"),
                amount=PARKED_AMOUNT,
                currency="EUR",
                method=PaymentMethod.objects.get(code="card"),
                instrument_label="card …4242",
                status=Deposit.Status.AUTHORISED,
                alternatives=["parked"],
                idempotency_key=key,
                request_hash="demo",
                created_by="demo",
            )
            attempt = DepositAttempt.objects.create(
                entity_id=deposit.entity_id,
                deposit=deposit,
                merchant_account=card,
                number=1,
                reference=f"demo-parked-{deposit.pk}",
                status=DepositAttempt.Status.APPROVED,
                psp_transaction_id=f"demo-parked-{deposit.pk}",
            )
            # What the PSP's confirmation does: credited, and parked until KYC approval.
            deposit_credit(
                attempt=attempt,
                psp_transaction_id=attempt.psp_transaction_id,
                amount=PARKED_AMOUNT,
                currency="EUR",
            )
    pending = Withdrawal.objects.in_entity(profile.entity_id).filter(
        status=Withdrawal.Status.PENDING_APPROVAL
    )
    return {
        "withdrawals": pending.count(),
        "breaks": ReconciliationBreak.objects.unscoped().filter(status="open").count(),
        "parked": Deposit.objects.unscoped().filter(status=Deposit.Status.PARKED).count(),
    }
