"""A client's whole journey through a brand's front end, one per entity (the EU, the UK and the
offshore one), through the API and the simulators: register with a password → verify the
e-mail from the link mailed → accept the entity's documents → questionnaire → documents (a
rendered passport with its MRZ) → automatic approval for low risk → deposit on the PSP's hosted
page (card, one-time code, credited by the signed webhook) and by bank wire → open a live
account on the trading server and fund it (from a wallet in another currency where the entity
keeps its money in another one) → (the clock past the cooling-off) withdraw, paid out in
another currency: the card refunded in its own currency, the rest converted and wired → paid,
and the client told. A client trying another client's ids gets 404 throughout."""

from __future__ import annotations

import time
from datetime import timedelta
from decimal import ROUND_DOWN, Decimal
from typing import Any

import pytest
import time_machine
from django.core import mail
from django.utils import timezone
from rest_framework.test import APIClient

from brokercrm.gate import SYSTEM
from entities.services import ruleset_publish
from entities.tests.factories import publish_documents
from identity.tests.factories import brand_api, mailed_token
from kyc.tests.conftest import MINIMAL_PDF, kyc_world  # noqa: F401 (fixture)
from kyc.tests.test_client_api import upload
from kyc.tests.test_workflow import QUESTIONNAIRE, passport_for
from payments.models import Deposit
from payments.simulator.payer import pay
from payments.tests.conftest import (  # noqa: F401 (fixtures)
    CARD_OK,
    configure_simulator,
    eager_tasks,
    payments_world,
    psp_secret,
    psp_simulator,
)
from payments.tests.test_hosted_deposits import settled
from platforms.tests.conftest import shared_sim  # noqa: F401 (fixture)
from platforms.tests.factories import trading_server
from wallets.services import fx_rate_record
from wallets.tests.factories import assert_ledger_sound

PASSWORD = "Lantern-Orchid-42"
ENTITIES = {
    # entity: (residence, wallet currency, trading platform, payout currency, IBAN)
    "EU": ("DE", "EUR", "mt5", "USD", "DE89370400440532013000"),
    "UK": ("GB", "GBP", "mt4", "USD", "GB29NWBK60161331926819"),
    "SC": ("AE", "USD", "mt5", "EUR", "AE070331234567890123456"),
}
CARD_DEPOSIT, WIRE_DEPOSIT, FUNDING, WITHDRAWAL = "500.00", "1000.00", "200.00", "700.00"


def offshore_entity(world: Any) -> Any:
    """The group's offshore entity (Seychelles, USD), its brand, rules and PSP accounts."""
    from brokercrm.accounts.tests.factories import UserFactory, grant
    from entities.services import country_route_set
    from entities.tests.factories import BrandFactory, LegalEntityFactory, publish_rules
    from kyc.tests.conftest import KYC_RULES
    from payments.models import MerchantAccount, PaymentMethod, PaymentProvider
    from payments.services import routing_rule_set
    from payments.tests.conftest import SECRET_ENV

    sc = LegalEntityFactory(
        code="SC",
        jurisdiction="SC",
        regulator="FSA",
        base_currency="USD",
        wallet_currencies=["USD", "EUR"],
    )
    brand = BrandFactory(entity=sc, code="sc-brand", domain="sc.example.com")
    publish_rules(
        sc, "onboarding", {"allowed_countries": ["AE", "ZA"], "restricted_countries": ["US"]}
    )
    country_route_set(actor=SYSTEM, brand=brand, country="*", entity=sc)
    for kind, document in (
        ("kyc", KYC_RULES),
        ("cooling_off", {"first_withdrawal_hours": 24}),
        ("deposit", {"before_kyc": "park", "park_cap": "500"}),
        (
            "withdrawal",
            {"currency": "USD", "auto_approve_limit": "1000", "finance_approval_limit": "10000"},
        ),
        ("wallet", {"currencies": ["USD", "EUR"], "fx_markup_bps": 50}),
    ):
        ruleset_publish(actor=SYSTEM, entity=sc, kind=kind, document=document)
    provider = PaymentProvider.objects.get(code="simpay")
    card, bank = PaymentMethod.objects.get(code="card"), PaymentMethod.objects.get(code="bank_wire")
    for code, family, currencies, method in (
        ("sc-cards-1", "cards-sc", ["USD"], card),
        ("sc-bank-1", "bank-sc", ["USD", "EUR"], bank),
    ):
        merchant = MerchantAccount.objects.create(
            entity=sc,
            provider=provider,
            code=code,
            gateway_family=family,
            currencies=currencies,
            methods=[method.code],
            webhook_secret_env=SECRET_ENV,
        )
        world.merchants[code] = merchant
        for currency in currencies:
            routing_rule_set(
                actor=SYSTEM,
                entity=sc,
                name=f"SC {method.code} {currency}",
                countries=["*"],
                currency=currency,
                method=method,
                merchant_accounts=[merchant],
            )
    world.sc, world.sc_brand = sc, brand
    world.sc_finance = UserFactory(username="sc.finance")
    grant(world.sc_finance, "finance", entity=sc)
    return sc


def uk_pays_out_in_usd(world: Any) -> None:
    """The UK entity's wallet rules, and a USD payout route on its bank account."""
    from payments.models import MerchantAccount, PaymentMethod
    from payments.services import routing_rule_set

    ruleset_publish(
        actor=SYSTEM,
        entity=world.uk,
        kind="wallet",
        document={"currencies": ["GBP", "USD"], "fx_markup_bps": 50},
    )
    merchant = world.merchants["uk-bank-1"]
    MerchantAccount.objects.unscoped().filter(pk=merchant.pk).update(currencies=["GBP", "USD"])
    merchant.currencies = ["GBP", "USD"]
    routing_rule_set(
        actor=SYSTEM,
        entity=world.uk,
        name="UK bank USD",
        countries=["GB"],
        currency="USD",
        method=PaymentMethod.objects.get(code="bank_wire"),
        merchant_accounts=[merchant],
    )


def client_api(token: str) -> APIClient:
    api = APIClient()
    api.credentials(HTTP_AUTHORIZATION=f"Token {token}")
    return api


def ok(response, status: int = 200) -> dict:
    assert response.status_code == status, response.content
    return response.json()


@pytest.mark.django_db(transaction=True)
@pytest.mark.parametrize("entity_code", sorted(ENTITIES))
def test_from_registration_to_a_funded_live_account_and_a_paid_withdrawal(
    entity_code,
    kyc_world,  # noqa: F811
    payments_world,  # noqa: F811
    psp_simulator,  # noqa: F811
    shared_sim,  # noqa: F811
    live_server,
    eager_tasks,  # noqa: F811
    settings,
):
    country, currency, platform, payout_currency, iban = ENTITIES[entity_code]
    world = payments_world
    if entity_code == "SC":
        offshore_entity(world)
    if entity_code == "UK":
        uk_pays_out_in_usd(world)
    brand = {"EU": world.eu_brand, "UK": world.uk_brand, "SC": getattr(world, "sc_brand", None)}[
        entity_code
    ]
    entity = brand.entity
    finance = {"EU": "eu_finance", "UK": "uk_finance", "SC": "sc_finance"}[entity_code]
    # Bank payouts settle a second after they are sent: after the clock is back (below).
    configure_simulator(world, psp_simulator, live_server.url, payout_settle_s=1.0)
    trading_server(entity, platform, shared_sim.url)
    publish_documents(entity)
    rates = {("EUR", "USD"): "1.10", ("GBP", "USD"): "1.25", ("USD", "EUR"): "0.90"}
    rates[("GBP", "EUR")] = "1.16"  # the group reports in EUR
    for (base, quote_currency), rate in rates.items():
        fx_rate_record(base=base, quote=quote_currency, rate=Decimal(rate), source="test")
    front_end = brand_api(brand)
    email = f"ivan.petrov.{entity_code.lower()}@example.com"

    # Register, with the password of the client's login.
    registered = ok(
        front_end.post(
            "/api/v1/registrations",
            {
                "given_name": "Ivan",
                "family_name": "Petrov",
                "birth_date": "1985-07-14",
                "residence_country": country,
                "email": email,
                "password": PASSWORD,
                "language": "en",
            },
            format="json",
        ),
        201,
    )
    assert (registered["status"], registered["entity"], registered["login"]) == (
        "accepted",
        entity_code,
        True,
    )

    def sign_in() -> APIClient:
        return client_api(
            ok(
                front_end.post(
                    "/api/v1/client-tokens", {"email": email, "password": PASSWORD}, format="json"
                )
            )["token"]
        )

    me = sign_in()

    # An unverified client may not deposit: nothing is written.
    refused = me.post(
        "/api/v1/me/deposits",
        {
            "amount": "100.00",
            "currency": currency,
            "method": "card",
            "return_url": "https://b.example/back",
        },
        format="json",
        headers={"Idempotency-Key": "dep-early"},
    )
    assert (refused.status_code, refused.json()["code"]) == (403, "email_unverified")
    assert not Deposit.objects.unscoped().exists()

    # Verify the e-mail from the link mailed at registration.
    verification = next(m for m in mail.outbox if email in m.to)
    ok(
        me.post(
            "/api/v1/me/email-verification/confirm",
            {"token": mailed_token(verification)},
            format="json",
        )
    )
    assert ok(me.get("/api/v1/me/profile"))["email_verified"] is True

    # Accept the entity's documents.
    for document in ok(me.get("/api/v1/me/documents")):
        ok(me.post("/api/v1/me/consents", {"document_id": document["id"]}, format="json"), 201)
    assert all(document["accepted"] for document in ok(me.get("/api/v1/me/documents")))

    # KYC: questionnaire, passport with its MRZ, proof of address, submit → approved.
    ok(me.put("/api/v1/me/kyc/questionnaire", QUESTIONNAIRE, format="json"))
    profile = world_profile(registered["profile_id"])
    ok(upload(me, "identity", passport_for(profile), "passport.png", doc_type="passport"), 201)
    ok(
        upload(
            me,
            "proof_of_address",
            MINIMAL_PDF,
            "bill.pdf",
            doc_type="utility_bill",
            issued_on=(timezone.localdate() - timedelta(days=10)).isoformat(),
        ),
        201,
    )
    ok(me.post("/api/v1/me/kyc/submit"))
    kyc = ok(me.get("/api/v1/me/kyc"))
    assert kyc["status"] == "approved", kyc

    # Deposit by card on the PSP's hosted page; the webhook credits it.
    methods = ok(me.get(f"/api/v1/me/deposit-methods?currency={currency}"))
    assert {"card", "bank_wire"} <= {m["code"] for m in methods["methods"]}, methods
    deposit = ok(
        me.post(
            "/api/v1/me/deposits",
            {
                "amount": CARD_DEPOSIT,
                "currency": currency,
                "method": "card",
                "return_url": "https://b.example/back",
            },
            format="json",
            headers={"Idempotency-Key": "dep-1"},
        ),
        201,
    )
    back = pay(deposit["redirect_url"], card=CARD_OK, code="123456")
    assert "status=approved" in back
    assert settled(deposit["id"]).status == "credited"
    # And by bank wire from the client's own account.
    wire = ok(
        me.post(
            "/api/v1/me/deposits",
            {
                "amount": WIRE_DEPOSIT,
                "currency": currency,
                "method": "bank_wire",
                "instrument": {"iban": iban},
            },
            format="json",
            headers={"Idempotency-Key": "dep-2"},
        ),
        201,
    )
    assert until_settled(me, "deposits", wire["id"], ("credited", "declined", "failed")) == (
        "credited"
    )
    wallets = {w["currency"]: w for w in ok(me.get("/api/v1/me/wallets"))}
    assert Decimal(wallets[currency]["available"]) == Decimal(CARD_DEPOSIT) + Decimal(WIRE_DEPOSIT)

    # Open a live account in USD and fund it from the wallet, converted at the quoted rate
    # where the wallet is in another currency.
    live = me.post(
        "/api/v1/me/trading-accounts",
        {"type": "standard", "kind": "live", "currency": "USD"},
        format="json",
    )
    assert live.status_code in (201, 202), live.content
    account = live.json()
    funding = ok(
        me.post(
            "/api/v1/me/transfers/quote",
            {
                "from": {"kind": "wallet", "id": wallets[currency]["id"]},
                "to": {"kind": "trading_account", "id": account["id"]},
                "amount": FUNDING,
            },
            format="json",
        ),
        201,
    )
    expected = (Decimal(FUNDING) * Decimal(funding["rate"])).quantize(Decimal("0.01"), ROUND_DOWN)
    assert Decimal(funding["to_amount"]) == expected
    funded = ok(
        me.post(
            "/api/v1/me/transfers",
            {"quote_id": funding["quote_id"]},
            format="json",
            headers={"Idempotency-Key": "fund-1"},
        ),
        201,
    )
    assert funded["status"] == "completed"
    assert Decimal(ok(me.get(f"/api/v1/me/trading-accounts/{account['id']}"))["balance"]) == (
        expected
    )

    # Withdrawals wait for the cooling-off, and say until when.
    blocks = ok(me.get(f"/api/v1/me/withdrawals/eligibility?currency={currency}"))["blocks"]
    cooling = [b for b in blocks if b["code"] == "cooling_off"]
    assert len(cooling) == 1
    assert cooling[0]["until"]
    bank_account = ok(
        me.post(
            "/api/v1/me/bank-accounts",
            {"iban": iban, "holder": "Ivan Petrov"},
            format="json",
        ),
        201,
    )
    # Finance verifies the account against the client's bank statement.
    staff = APIClient()
    staff.force_login(getattr(world, finance))
    ok(
        staff.post(
            f"/api/v1/bank-accounts/{bank_account['id']}/verify",
            {"reason": "bank statement seen"},
            format="json",
        )
    )
    with time_machine.travel(timezone.now() + timedelta(hours=49), tick=True):
        me = sign_in()  # two days later: the client signs in again
        query = f"currency={currency}&payout_currency={payout_currency}&amount={WITHDRAWAL}"
        eligibility = ok(me.get(f"/api/v1/me/withdrawals/eligibility?{query}"))
        assert eligibility["blocks"] == [], eligibility
        withdrawal = ok(
            me.post(
                "/api/v1/me/withdrawals",
                {
                    "amount": WITHDRAWAL,
                    "currency": currency,
                    "payout_currency": payout_currency,
                    "quoted_rate": eligibility["quote"]["rate"],
                },
                format="json",
                headers={"Idempotency-Key": "wd-1"},
            ),
            201,
        )
    # The card is refunded in its own currency; the rest is converted and wired.
    legs = [(leg["destination"], leg["amount"], leg["payout_amount"]) for leg in withdrawal["legs"]]
    to_bank = Decimal(WITHDRAWAL) - Decimal(CARD_DEPOSIT)
    rate = Decimal(eligibility["quote"]["rate"])
    assert [(d, Decimal(a), p and Decimal(p)) for d, a, p in legs] == [
        ("card", Decimal(CARD_DEPOSIT), None),
        ("bank", to_bank, (to_bank * rate).quantize(Decimal("0.01"))),
    ]
    assert until_settled(me, "withdrawals", withdrawal["id"], ("paid", "failed", "rejected")) == (
        "paid"
    )
    # The event is delivered after the webhook's commit: the client is told moments later.
    deadline = time.monotonic() + 10
    while True:
        told = [n["kind"] for n in ok(me.get("/api/v1/me/notifications"))["results"]]
        if "withdrawal_paid" in told or time.monotonic() > deadline:
            break
        time.sleep(0.2)
    assert "withdrawal_paid" in told
    wallets = {w["currency"]: w for w in ok(me.get("/api/v1/me/wallets"))}
    assert Decimal(wallets[currency]["balance"]) == (
        Decimal(CARD_DEPOSIT) + Decimal(WIRE_DEPOSIT) - Decimal(FUNDING) - Decimal(WITHDRAWAL)
    )
    assert_ledger_sound(entity)

    # Another client of the same entity reaches none of it.
    other = ok(
        front_end.post(
            "/api/v1/registrations",
            {
                "given_name": "Olga",
                "family_name": "Smirnova",
                "birth_date": "1990-01-02",
                "residence_country": country,
                "email": f"olga.{entity_code.lower()}@example.com",
                "password": PASSWORD,
            },
            format="json",
        ),
        201,
    )
    assert other["login"] is True
    them = client_api(
        ok(
            front_end.post(
                "/api/v1/client-tokens",
                {"email": f"olga.{entity_code.lower()}@example.com", "password": PASSWORD},
                format="json",
            )
        )["token"]
    )
    for path in (
        f"/api/v1/me/deposits/{deposit['id']}",
        f"/api/v1/me/wallets/{wallets[currency]['id']}",
        f"/api/v1/me/wallets/{wallets[currency]['id']}/statement",
        f"/api/v1/me/trading-accounts/{account['id']}",
        f"/api/v1/me/withdrawals/{withdrawal['id']}",
        f"/api/v1/me/bank-accounts/{bank_account['id']}",
    ):
        assert them.get(path).status_code == 404, path


def until_settled(me: APIClient, kind: str, pk: int, final: tuple, timeout: float = 20) -> str:
    """A deposit's or withdrawal's status as the client reads it, once the PSP's webhook
    settled it (or the time is up)."""
    deadline = time.monotonic() + timeout
    while True:
        status = ok(me.get(f"/api/v1/me/{kind}/{pk}"))["status"]
        if status in final or time.monotonic() > deadline:
            return status
        time.sleep(0.2)


def world_profile(profile_id: int):
    from identity.selectors import profile_get

    return profile_get(profile_id)
