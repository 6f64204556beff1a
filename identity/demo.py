"""Demo clients and brand API keys: clients registered through the real registration service
(two of them re-register, to show a linked person and a review case), more clients that come
later through referral codes, and one registration API key per brand. Adds only what is
missing."""

from __future__ import annotations

import hashlib
from typing import Any

from django.core.management.base import CommandError

from brokercrm.gate import SYSTEM
from entities.selectors import legal_documents_current

from .api.auth import secret_hash
from .models import BrandApiKey, ClientProfile
from .services import (
    DocumentInput,
    RegistrationInput,
    consent_accept,
    email_verification_confirm,
    email_verification_token,
    registration_submit,
)

# Demo clients, registered through the real registration service. The last two re-register
# on purpose: one is linked to the person the group already knows, one is held for review.
DEMO_CLIENTS: list[dict[str, str]] = [
    {
        "brand": "atlas-markets",
        "country": "DE",
        "given": "Lukas",
        "family": "Becker",
        "born": "1984-03-12",
        "email": "lukas.becker@example.de",
        "phone": "+49 151 20000001",
        "passport": "DE:C01X00T47",
    },
    {
        "brand": "atlas-markets",
        "country": "FR",
        "given": "Camille",
        "family": "Laurent",
        "born": "1990-11-02",
        "email": "camille.laurent@example.fr",
        "phone": "+33 6 12 34 56 78",
        "passport": "FR:18AB12345",
    },
    {
        "brand": "atlas-markets",
        "country": "PL",
        "given": "Katarzyna",
        "family": "Nowak",
        "born": "1979-06-30",
        "email": "k.nowak@example.pl",
        "phone": "+48 512 345 678",
        "passport": "PL:ZS1234567",
    },
    {
        "brand": "atlas-markets",
        "country": "CY",
        "given": "Andreas",
        "family": "Georgiou",
        "born": "1988-01-21",
        "email": "andreas.g@example.com.cy",
        "phone": "+357 99 123456",
        "passport": "CY:K00123456",
    },
    {
        "brand": "atlas-uk",
        "country": "GB",
        "given": "Oliver",
        "family": "Smith",
        "born": "1975-09-03",
        "email": "oliver.smith@example.co.uk",
        "phone": "+44 7911 123456",
        "passport": "GB:502135326",
    },
    {
        "brand": "atlas-uk",
        "country": "GB",
        "given": "Amelia",
        "family": "Jones",
        "born": "1993-04-17",
        "email": "amelia.jones@example.co.uk",
        "phone": "+44 7912 654321",
        "passport": "GB:533380006",
    },
    {
        "brand": "atlasfx-global",
        "country": "AE",
        "given": "Omar",
        "family": "Haddad",
        "born": "1986-12-05",
        "email": "omar.haddad@example.ae",
        "phone": "+971 50 123 4567",
        "passport": "AE:P1234567",
    },
    {
        "brand": "atlasfx-global",
        "country": "ZA",
        "given": "Thabo",
        "family": "Nkosi",
        "born": "1991-08-08",
        "email": "thabo.nkosi@example.co.za",
        "phone": "+27 82 123 4567",
        "passport": "ZA:A01234567",
    },
    {
        "brand": "atlasfx-global",
        "country": "BR",
        "given": "Mariana",
        "family": "Souza",
        "born": "1987-02-14",
        "email": "mariana.souza@example.com.br",
        "phone": "+55 11 91234 5678",
        "passport": "BR:FZ123456",
    },
    # Lukas again, from Brazil with a new email: routed offshore, linked to the same person.
    {
        "brand": "atlas-markets",
        "country": "BR",
        "given": "Lukas",
        "family": "Becker",
        "born": "1984-03-12",
        "email": "lukas.b.trading@example.com",
        "phone": "+49 151 20000001",
        "passport": "DE:C01X00T47",
    },
    # Oliver from Ireland, birth day and month swapped, new phone: held for EU review.
    {
        "brand": "atlas-markets",
        "country": "IE",
        "given": "Oliver",
        "family": "Smith",
        "born": "1975-03-09",
        "email": "oliver.smith@example.co.uk",
        "phone": "+353 85 123 4567",
        "passport": "",
    },
]

# Clients who come after the first ones, each registered unless its brand knows the e-mail:
# Camille, an EU client, opens a UK account with her passport (linked to the same person, so
# the EU's compliance is told of it); a listed person registers in the EU (the screening hit).
LATER_CLIENTS: list[dict[str, str]] = [
    {
        "brand": "atlas-uk",
        "country": "GB",
        "given": "Camille",
        "family": "Laurent",
        "born": "1990-11-02",
        "email": "camille.laurent@example.co.uk",
        "phone": "+33 6 12 34 56 78",
        "passport": "FR:18AB12345",
    },
    {
        "brand": "atlas-markets",
        "country": "DE",
        "given": "Timofey",
        "family": "Gavrilin",
        "born": "1966-04-18",
        "email": "t.gavrilin@example.de",
        "phone": "+49 151 20000077",
        "passport": "RU:751234567",
    },
]

# Clients who arrive later through IB referral codes (registered with the IB demo; no document).
REFERRED_CLIENTS: list[dict[str, str]] = [
    {
        "brand": "atlas-markets",
        "country": "IT",
        "given": "Sofia",
        "family": "Rossi",
        "born": "1992-07-19",
        "email": "sofia.rossi@example.it",
        "phone": "+39 347 123 4567",
    },
    {
        "brand": "atlas-markets",
        "country": "NL",
        "given": "Jan",
        "family": "de Vries",
        "born": "1983-10-05",
        "email": "jan.devries@example.nl",
        "phone": "+31 6 12345678",
    },
    {
        "brand": "atlasfx-global",
        "country": "MY",
        "given": "Siti",
        "family": "Rahman",
        "born": "1989-01-25",
        "email": "siti.rahman@example.my",
        "phone": "+60 12 345 6789",
    },
]


def demo_api_key(brand: Any, password: str) -> tuple[str, str]:
    """The brand's demo key, derived from the demo password: (prefix, secret)."""
    return (
        f"demo{brand.pk:04d}",
        hashlib.sha256(f"{password}:{brand.code}".encode()).hexdigest()[:32],
    )


def seed_api_keys(*, brands: dict[str, Any], password: str) -> list[tuple[str, str]]:
    """One key per brand, derived from the demo password so it can be printed every run;
    returns (brand code, key)."""
    keys = []
    for brand in sorted(brands.values(), key=lambda brand: brand.code):
        prefix, secret = demo_api_key(brand, password)
        if not BrandApiKey.objects.unscoped().filter(prefix=prefix).exists():
            BrandApiKey.objects.create(
                entity_id=brand.entity_id,
                brand=brand,
                name="demo front end",
                prefix=prefix,
                secret_hash=secret_hash(secret),
            )
        keys.append((brand.code, f"{prefix}.{secret}"))
    return keys


# Where the demo clients stand with their account: who verified their e-mail address and
# which of their entity's documents they accepted. Andreas has done neither (he may not
# deposit); Amelia has not read the privacy notice yet; the re-registrations and the referred
# clients have not started.
ACCOUNT_STATE: dict[str, tuple[bool, tuple[str, ...]]] = {
    email: (True, ("client_agreement", "risk_disclosure", "privacy_notice"))
    for email in (
        "lukas.becker@example.de",
        "camille.laurent@example.fr",
        "k.nowak@example.pl",
        "oliver.smith@example.co.uk",
        "omar.haddad@example.ae",
        "thabo.nkosi@example.co.za",
        "mariana.souza@example.com.br",
    )
} | {
    "amelia.jones@example.co.uk": (True, ("client_agreement", "risk_disclosure")),
    "andreas.g@example.com.cy": (False, ()),
}


def seed_clients(*, brands: dict[str, Any]) -> None:
    """The demo clients, unless any client exists, and where they stand with their account.
    Registrations own their (durable) transactions: call it outside any."""
    if not ClientProfile.objects.unscoped().exists():
        for client in DEMO_CLIENTS:
            _register(brands[client["brand"]], client)
    for client in LATER_CLIENTS:
        brand = brands[client["brand"]]
        if (
            not ClientProfile.objects.in_entity(brand.entity_id)
            .filter(email=client["email"])
            .exists()
        ):
            _register(brand, client)
    seed_account_state()


def seed_account_state() -> None:
    """Verify and accept for the demo clients as `ACCOUNT_STATE` says, through the same
    services the API calls (acting as the system). Adds only what is missing."""
    for client in DEMO_CLIENTS:
        verified, kinds = ACCOUNT_STATE.get(client["email"], (False, ()))
        profile = (
            ClientProfile.objects.unscoped()
            .filter(email=client["email"], brand__code=client["brand"])
            .first()
        )
        if profile is None:
            continue
        if verified and not profile.email_verified:
            email_verification_confirm(actor=SYSTEM, token=email_verification_token(profile))
        documents = {doc.kind: doc for doc in legal_documents_current(profile.entity_id)}
        for kind in kinds:
            if kind in documents:
                consent_accept(
                    actor=SYSTEM,
                    profile=profile,
                    document_id=documents[kind].pk,
                    ip=client.get("ip", "203.0.113.50"),
                    user_agent="demo data",
                )


def seed_referred_clients(*, brands: dict[str, Any]) -> None:
    """The clients who come later through referral codes, each unless its e-mail is known.
    Outside any transaction, like `seed_clients`."""
    for client in REFERRED_CLIENTS:
        if not ClientProfile.objects.unscoped().filter(email=client["email"]).exists():
            _register(brands[client["brand"]], client)


def demo_profile(entity: Any, email: str) -> ClientProfile:
    """The demo client `email` in `entity`; refuses when the demo clients are not loaded."""
    profile = ClientProfile.objects.in_entity(entity).filter(email=email).first()
    if profile is None:
        raise CommandError(f"No demo client {email} in {entity.code}: run seed_demo first.")
    return profile


def _register(brand: Any, client: dict[str, str]) -> None:
    issuing, _, number = client.get("passport", "").partition(":")
    registration_submit(
        brand=brand,
        data=RegistrationInput(
            given_name=client["given"],
            family_name=client["family"],
            birth_date=client["born"],
            residence_country=client["country"],
            nationality=issuing or client["country"],
            email=client["email"],
            phone=client["phone"],
            document=DocumentInput("passport", number, issuing) if number else None,
        ),
    )
