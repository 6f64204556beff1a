"""A client's whole journey through a brand's front end, one per entity, through the API and the
simulators: register with a password → verify the e-mail from the link mailed → accept the
entity's documents → questionnaire → documents (a rendered passport with its MRZ) → automatic
approval for low risk → deposit on the PSP's hosted page (card, one-time code, credited by the
signed webhook) → convert to USD and open a live account on the trading server → fund it →
(the clock past the cooling-off) withdraw → the withdrawal waits for staff. A client trying
another client's ids gets 404 throughout."""

from __future__ import annotations

from datetime import timedelta
from decimal import Decimal

import pytest
import time_machine
from django.core import mail
from django.utils import timezone
from rest_framework.test import APIClient

from brokercrm.gate import SYSTEM
from entities.services import ruleset_publish
from entities.tests.factories import publish_documents
from identity.tests.factories import brand_api, mailed_token
from kyc.tests.conftest import KYC_RULES, MINIMAL_PDF, kyc_world  # noqa: F401 (fixture)
from kyc.tests.test_client_api import upload
from kyc.tests.test_workflow import QUESTIONNAIRE, passport_for
from payments.models import Deposit
from payments.tests.conftest import (  # noqa: F401 (fixtures)
    CARD_OK,
    configure_simulator,
    eager_tasks,
    payments_world,
    psp_secret,
    psp_simulator,
)
from payments.tests.test_hosted_deposits import pay, settled
from platforms.tests.conftest import shared_sim  # noqa: F401 (fixture)
from platforms.tests.factories import trading_server
from wallets.services import fx_rate_record
from wallets.tests.factories import assert_ledger_sound

PASSWORD = "Lantern-Orchid-42"
ENTITIES = {
    # entity: (brand attribute on the world, residence, currency, trading platform)
    "EU": ("eu_brand", "DE", "EUR", "mt5"),
    "UK": ("uk_brand", "GB", "GBP", "mt4"),
}


def client_api(token: str) -> APIClient:
    api = APIClient()
    api.credentials(HTTP_AUTHORIZATION=f"Token {token}")
    return api


def ok(response, status: int = 200) -> dict:
    assert response.status_code == status, response.content
    return response.json()


@pytest.mark.django_db(transaction=True)
@pytest.mark.parametrize("entity_code", sorted(ENTITIES))
def test_from_registration_to_a_funded_live_account_and_a_withdrawal(
    entity_code,
    kyc_world,  # noqa: F811
    payments_world,  # noqa: F811
    psp_simulator,  # noqa: F811
    shared_sim,  # noqa: F811
    live_server,
    eager_tasks,  # noqa: F811
    settings,
):
    brand_attr, country, currency, platform = ENTITIES[entity_code]
    world = payments_world
    brand = getattr(world, brand_attr)
    entity = brand.entity
    configure_simulator(world, psp_simulator, live_server.url)
    trading_server(entity, platform, shared_sim.url)
    publish_documents(entity)
    if entity_code == "UK":  # the payments fixtures give only the EU its wallet rules
        ruleset_publish(
            actor=SYSTEM,
            entity=entity,
            kind="wallet",
            document={"currencies": ["GBP", "USD"], "fx_markup_bps": 50},
        )
    fx_rate_record(base=currency, quote="USD", rate=Decimal("1.25"), source="test")
    if currency != "EUR":  # the group reports in EUR
        fx_rate_record(base=currency, quote="EUR", rate=Decimal("1.16"), source="test")
    front_end = brand_api(brand)

    # Register, with the password of the client's login.
    registered = ok(
        front_end.post(
            "/api/v1/registrations",
            {
                "given_name": "Ivan",
                "family_name": "Petrov",
                "birth_date": "1985-07-14",
                "residence_country": country,
                "email": f"ivan.petrov.{entity_code.lower()}@example.com",
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
                    "/api/v1/client-tokens",
                    {
                        "email": f"ivan.petrov.{entity_code.lower()}@example.com",
                        "password": PASSWORD,
                    },
                    format="json",
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
    verification = next(m for m in mail.outbox if registered_email(m, entity_code))
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

    # Deposit on the PSP's hosted page; the webhook credits it.
    deposit = ok(
        me.post(
            "/api/v1/me/deposits",
            {
                "amount": "500.00",
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
    wallets = {w["currency"]: w for w in ok(me.get("/api/v1/me/wallets"))}
    assert Decimal(wallets[currency]["available"]) == Decimal("500.00")

    # Convert to USD at the quoted rate, open a live account and fund it.
    usd_wallet = ok(me.post("/api/v1/me/wallets", {"currency": "USD"}, format="json"), 201)
    assert (
        ok(me.post("/api/v1/me/wallets", {"currency": "USD"}, format="json"))["id"]
        == usd_wallet["id"]
    )
    quote = ok(
        me.post(
            "/api/v1/me/transfers/quote",
            {
                "from": {"kind": "wallet", "id": wallets[currency]["id"]},
                "to": {"kind": "wallet", "id": usd_wallet["id"]},
                "amount": "200.00",
            },
            format="json",
        ),
        201,
    )
    assert Decimal(quote["rate"]) > 0
    ok(
        me.post(
            "/api/v1/me/transfers",
            {"quote_id": quote["quote_id"]},
            format="json",
            headers={"Idempotency-Key": "fx-1"},
        ),
        201,
    )
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
                "from": {"kind": "wallet", "id": usd_wallet["id"]},
                "to": {"kind": "trading_account", "id": account["id"]},
                "amount": "100.00",
            },
            format="json",
        ),
        201,
    )
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

    # Withdrawals wait for the cooling-off, and say until when.
    blocks = ok(me.get(f"/api/v1/me/withdrawals/eligibility?currency={currency}"))["blocks"]
    cooling = [b for b in blocks if b["code"] == "cooling_off"]
    assert len(cooling) == 1
    assert cooling[0]["until"]
    with time_machine.travel(timezone.now() + timedelta(hours=49), tick=True):
        me = sign_in()  # two days later: the client signs in again
        ok(
            me.post(
                "/api/v1/me/bank-accounts",
                {"iban": world_iban(entity_code), "holder": "Ivan Petrov"},
                format="json",
            ),
            201,
        )
        eligibility = ok(me.get(f"/api/v1/me/withdrawals/eligibility?currency={currency}"))
        assert "cooling_off" not in [b["code"] for b in eligibility["blocks"]]
        withdrawal = me.post(
            "/api/v1/me/withdrawals",
            {"amount": "50.00", "currency": currency},
            format="json",
            headers={"Idempotency-Key": "wd-1"},
        )
        assert withdrawal.status_code == 201, withdrawal.content
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
        f"/api/v1/me/wallets/{usd_wallet['id']}",
        f"/api/v1/me/wallets/{usd_wallet['id']}/statement",
        f"/api/v1/me/trading-accounts/{account['id']}",
        f"/api/v1/me/withdrawals/{withdrawal.json()['id']}",
    ):
        assert them.get(path).status_code == 404, path


def registered_email(message, entity_code: str) -> bool:
    return f"ivan.petrov.{entity_code.lower()}@example.com" in message.to


def world_profile(profile_id: int):
    from identity.selectors import profile_get

    return profile_get(profile_id)


def world_iban(entity_code: str) -> str:
    return {"EU": "DE89370400440532013000", "UK": "GB29NWBK60161331926819"}[entity_code]
