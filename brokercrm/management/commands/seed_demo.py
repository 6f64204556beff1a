"""Demo data: three licensed entities, three brands with country routing, desks, rule sets and
a staff login for every role in every entity. Safe to run again: it only adds what is missing."""

from __future__ import annotations

import hashlib
import os
from pathlib import Path
from typing import Any

from django.core.management.base import BaseCommand, CommandParser
from django.db import transaction

from brokercrm.accounts.models import RoleGrant, User
from brokercrm.accounts.services import role_get, role_grant
from brokercrm.gate import SYSTEM
from brokercrm.reference import EEA
from entities import services as entity_services
from entities.models import Brand, CountryRoute, Desk, LegalEntity, RuleSet
from identity.api.auth import secret_hash
from identity.models import BrandApiKey, ClientProfile
from identity.services import DocumentInput, RegistrationInput, registration_submit

DEMO_PASSWORD_DEFAULT = "brokercrm-demo"  # noqa: S105 - demo logins, printed on purpose
SANCTIONED = ["BY", "CU", "IR", "KP", "RU", "SY"]

ENTITIES: list[dict[str, Any]] = [
    {
        "code": "EU",
        "legal_name": "Atlas Capital Europe Ltd",
        "regulator": "CySEC",
        "licence_number": "CIF 312/16",
        "jurisdiction": "CY",
        "base_currency": "EUR",
        "wallet_currencies": ["EUR", "USD", "GBP", "CHF", "PLN", "CZK", "SEK"],
    },
    {
        "code": "UK",
        "legal_name": "Atlas Capital UK Ltd",
        "regulator": "FCA",
        "licence_number": "FRN 781234",
        "jurisdiction": "GB",
        "base_currency": "GBP",
        "wallet_currencies": ["GBP", "EUR", "USD"],
    },
    {
        "code": "SC",
        "legal_name": "Atlas Global Markets Ltd",
        "regulator": "Seychelles FSA",
        "licence_number": "SD087",
        "jurisdiction": "SC",
        "base_currency": "USD",
        "wallet_currencies": ["USD", "EUR", "GBP", "AED", "ZAR"],
    },
]

UK_AREA = ["GB", "GG", "IM", "JE"]

# KYC: the full questionnaire everywhere; the CFD appropriateness test holds a fail for review
# in the EU (CySEC) and the UK (FCA, higher pass mark) and only warns offshore; the UK takes
# fewer proof-of-address formats; offshore escalates residents of higher-risk countries.
# Amounts are in the entity's base currency.
QUESTIONNAIRE_ALL = [
    "employment_status",
    "occupation",
    "annual_income",
    "source_of_funds",
    "expected_deposit",
    "trading_experience",
]
APPROPRIATENESS_ALL = [
    "leverage_effect",
    "margin_close_out",
    "cfd_ownership",
    "stop_loss_slippage",
    "overnight_financing",
    "leveraged_trades_last_year",
    "finance_background",
]
EU_KYC: dict[str, Any] = {
    "identity_documents": ["passport", "national_id", "driving_licence"],
    "proof_of_address_max_age_days": 90,
    "proof_of_address_types": [
        "utility_bill",
        "bank_statement",
        "tax_letter",
        "government_letter",
        "tenancy_agreement",
    ],
    "source_of_funds_threshold": "15000",
    "liveness_required": True,
    "auto_approve_max_risk": "low",
    "questionnaire_required": QUESTIONNAIRE_ALL,
    "appropriateness": {"mode": "review", "questions": APPROPRIATENESS_ALL, "pass_mark": 5},
    "edd": {
        "risk_levels": ["high"],
        "expected_deposit_above": "100000",
        "annual_income_above": "500000",
        "residence_countries": [],
        "source_of_funds": ["gift"],
        "unexplained_source_of_funds": True,
    },
}

RULES: dict[str, dict[str, dict[str, Any]]] = {
    "EU": {
        "onboarding": {
            "allowed_countries": sorted(EEA),
            "restricted_countries": ["US", *SANCTIONED],
        },
        "kyc": EU_KYC,
        "wallet": {"currencies": ["EUR", "USD", "GBP", "CHF", "PLN", "CZK", "SEK"]},
        "cooling_off": {"first_withdrawal_hours": 24},
        "deposit": {"before_kyc": "park", "park_cap": "2000"},
        "withdrawal": {
            "currency": "EUR",
            "auto_approve_limit": "1000",
            "finance_approval_limit": "10000",
            "maker_checker": True,
        },
    },
    "UK": {
        "onboarding": {"allowed_countries": UK_AREA, "restricted_countries": ["US", *SANCTIONED]},
        "kyc": {
            "identity_documents": ["passport", "driving_licence"],
            "proof_of_address_max_age_days": 90,
            "proof_of_address_types": ["utility_bill", "bank_statement", "council_tax_bill"],
            "source_of_funds_threshold": "10000",
            "liveness_required": True,
            "auto_approve_max_risk": "low",
            "questionnaire_required": QUESTIONNAIRE_ALL,
            "appropriateness": {
                "mode": "review",
                "questions": APPROPRIATENESS_ALL,
                "pass_mark": 6,
            },
            "edd": {
                "risk_levels": ["high"],
                "expected_deposit_above": "75000",
                "annual_income_above": "400000",
                "residence_countries": [],
                "source_of_funds": ["gift", "other"],
                "unexplained_source_of_funds": True,
            },
        },
        "wallet": {"currencies": ["GBP", "EUR", "USD"]},
        "cooling_off": {"first_withdrawal_hours": 48},
        "deposit": {"before_kyc": "refuse", "park_cap": "0"},
        "withdrawal": {
            "currency": "GBP",
            "auto_approve_limit": "500",
            "finance_approval_limit": "7500",
            "maker_checker": True,
        },
    },
    "SC": {
        "onboarding": {
            "allowed_countries": ["*"],
            "restricted_countries": sorted({"US", "CA", "JP", "MM", *UK_AREA, *EEA, *SANCTIONED}),
        },
        "kyc": {
            "identity_documents": ["passport", "national_id"],
            "proof_of_address_max_age_days": 180,
            "proof_of_address_types": [
                "utility_bill",
                "bank_statement",
                "tax_letter",
                "government_letter",
                "tenancy_agreement",
                "insurance_statement",
                "mobile_phone_bill",
            ],
            "source_of_funds_threshold": "50000",
            "liveness_required": False,
            "auto_approve_max_risk": "medium",
            "questionnaire_required": QUESTIONNAIRE_ALL,
            "appropriateness": {
                "mode": "warn",
                "questions": APPROPRIATENESS_ALL,
                "pass_mark": 4,
            },
            "edd": {
                "risk_levels": ["high"],
                "expected_deposit_above": "250000",
                "annual_income_above": "1000000",
                "residence_countries": ["NG", "PK", "VN"],
                "source_of_funds": [],
                "unexplained_source_of_funds": True,
            },
        },
        "wallet": {"currencies": ["USD", "EUR", "GBP", "AED", "ZAR"]},
        "cooling_off": {"first_withdrawal_hours": 0},
        "deposit": {"before_kyc": "park", "park_cap": "5000"},
        "withdrawal": {
            "currency": "USD",
            "auto_approve_limit": "2000",
            "finance_approval_limit": "25000",
            "maker_checker": True,
        },
    },
}

# Country-specific rules where a country differs from its entity's default.
COUNTRY_RULES: list[tuple[str, str, str, dict[str, Any]]] = [
    (
        "EU",
        "kyc",
        "DE",
        # Germany: no driving licence as identity, a lower source-of-funds threshold.
        {
            **EU_KYC,
            "identity_documents": ["passport", "national_id"],
            "source_of_funds_threshold": "10000",
        },
    ),
    ("SC", "cooling_off", "NG", {"first_withdrawal_hours": 72}),
]

BRANDS: list[dict[str, Any]] = [
    {
        "entity": "EU",
        "code": "atlas-markets",
        "name": "Atlas Markets",
        "domain": "atlasmarkets.eu",
        "support_email": "support@atlasmarkets.eu",
        "theme": {"primary_color": "#0B3D91"},
        # EEA residents to the EU entity, the UK area to the UK entity, the rest offshore.
        "routes": {**dict.fromkeys(sorted(EEA), "EU"), **dict.fromkeys(UK_AREA, "UK"), "*": "SC"},
    },
    {
        "entity": "UK",
        "code": "atlas-uk",
        "name": "Atlas Markets UK",
        "domain": "atlasmarkets.co.uk",
        "support_email": "support@atlasmarkets.co.uk",
        "theme": {"primary_color": "#012169"},
        "routes": {"*": "UK"},
    },
    {
        "entity": "SC",
        "code": "atlasfx-global",
        "name": "AtlasFX Global",
        "domain": "atlasfx.com",
        "support_email": "help@atlasfx.com",
        "theme": {"primary_color": "#00875A"},
        "routes": {"*": "SC"},
    },
]

DESKS: dict[str, list[tuple[str, str, list[str]]]] = {
    "EU": [
        ("cy-sales", "Cyprus & Greece Sales", ["CY", "GR"]),
        ("dach", "DACH Retention", ["DE", "AT", "LI"]),
        ("poland", "Poland Desk", ["PL"]),
    ],
    "UK": [
        ("london-sales", "London Sales", UK_AREA),
        ("london-retention", "London Retention", UK_AREA),
    ],
    "SC": [
        ("latam", "LATAM Desk", ["AR", "BR", "CL", "CO", "MX", "PE"]),
        ("mena", "MENA Desk", ["AE", "BH", "EG", "JO", "KW", "OM", "QA", "SA"]),
        ("asia", "Asia Desk", ["ID", "MY", "PH", "TH", "VN"]),
    ],
}

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

ENTITY_ROLES = [
    "sales",
    "retention",
    "compliance",
    "finance",
    "support",
    "ib_manager",
    "entity_admin",
]
GROUP_ROLES = ["group_compliance", "group_risk"]


class Command(BaseCommand):
    help = (
        "Load the demo entities, brands, routing, desks, rule sets and staff logins (idempotent)."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--quiet-logins", action="store_true", help="do not print the logins")

    def handle(self, *args: Any, **options: Any) -> None:
        password = os.environ.get("DEMO_PASSWORD", DEMO_PASSWORD_DEFAULT)
        with transaction.atomic():
            entities = {spec["code"]: self._entity(spec) for spec in ENTITIES}
            for code, kinds in RULES.items():
                for kind, document in kinds.items():
                    self._rules(entities[code], kind, "", document)
            for code, kind, country, document in COUNTRY_RULES:
                self._rules(entities[code], kind, country, document)
            for spec in BRANDS:
                self._brand(spec, entities)
            desks = {
                (code, desk_code): self._desk(entities[code], desk_code, name, countries)
                for code, specs in DESKS.items()
                for desk_code, name, countries in specs
            }
            logins = self._staff(entities, desks, password)
            keys = self._api_keys(password)
            from platforms.demo import demo_trading_servers

            demo_trading_servers(entities)  # the EU MT5 and SC MT4 servers on the simulator
        # Registrations own their transactions (durable), so they run after the setup commits.
        self._clients()
        self._screening_list()
        if not options["quiet_logins"]:
            self._print_logins(logins, password)
            self.stdout.write(self.style.MIGRATE_HEADING("Brand API keys (registration API)"))
            for brand_code, key in keys:
                self.stdout.write(f"  {brand_code:<16} Authorization: Api-Key {key}")

    def _api_keys(self, password: str) -> list[tuple[str, str]]:
        """One key per brand, derived from the demo password so it can be printed every run."""
        keys = []
        for brand in Brand.objects.unscoped().order_by("code"):
            prefix = f"demo{brand.pk:04d}"
            secret = hashlib.sha256(f"{password}:{brand.code}".encode()).hexdigest()[:32]
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

    def _screening_list(self) -> None:
        from kyc.models import ScreeningListVersion
        from kyc.services import screening_load

        if not ScreeningListVersion.objects.exists():
            kyc_data = Path(__file__).resolve().parents[3] / "kyc" / "data"
            screening_load(path=kyc_data / "sanctions_demo.jsonl")

    def _clients(self) -> None:
        if ClientProfile.objects.unscoped().exists():
            return
        brands = {brand.code: brand for brand in Brand.objects.unscoped()}
        for client in DEMO_CLIENTS:
            issuing, _, number = client["passport"].partition(":")
            registration_submit(
                brand=brands[client["brand"]],
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

    def _entity(self, spec: dict[str, Any]) -> LegalEntity:
        entity = LegalEntity.objects.filter(code=spec["code"]).first()
        return entity or entity_services.entity_create(actor=SYSTEM, reason="demo data", **spec)

    def _rules(
        self, entity: LegalEntity, kind: str, country: str, document: dict[str, Any]
    ) -> None:
        if not RuleSet.objects.in_entity(entity).filter(kind=kind, country=country).exists():
            entity_services.ruleset_publish(
                actor=SYSTEM,
                entity=entity,
                kind=kind,
                country=country,
                document=document,
                note="demo data",
            )

    def _brand(self, spec: dict[str, Any], entities: dict[str, LegalEntity]) -> None:
        fields = {k: v for k, v in spec.items() if k not in {"entity", "routes"}}
        brand = Brand.objects.unscoped().filter(code=spec["code"]).first()
        if brand is None:
            brand = entity_services.brand_create(
                actor=SYSTEM, entity=entities[spec["entity"]], **fields
            )
        existing = set(
            CountryRoute.objects.unscoped().filter(brand=brand).values_list("country", flat=True)
        )
        for country, entity_code in spec["routes"].items():
            if country not in existing:
                entity_services.country_route_set(
                    actor=SYSTEM,
                    brand=brand,
                    country=country,
                    entity=entities[entity_code],
                    reason="demo data",
                )

    def _desk(self, entity: LegalEntity, code: str, name: str, countries: list[str]) -> Desk:
        desk = Desk.objects.in_entity(entity).filter(code=code).first()
        return desk or entity_services.desk_create(
            actor=SYSTEM, entity=entity, code=code, name=name, countries=countries
        )

    def _user(self, username: str, password: str, *, superuser: bool = False) -> User:
        user, created = User.objects.get_or_create(
            username=username,
            defaults={
                "email": f"{username}@demo.brokercrm.local",
                "is_staff": True,
                "is_superuser": superuser,
            },
        )
        if created:
            user.set_password(password)
            user.save(update_fields=["password"])
        return user

    def _grant(self, user: User, role_code: str, **where: Any) -> None:
        role = role_get(role_code)
        desk = where.get("desk")
        exists = RoleGrant.objects.filter(
            user=user,
            role=role,
            revoked_at__isnull=True,
            entity=desk.entity if desk is not None else where.get("entity"),
            desk=desk,
            group_wide=where.get("group_wide", False),
        ).exists()
        if not exists:
            role_grant(actor=None, user=user, role=role, reason="demo data", **where)

    def _staff(
        self, entities: dict[str, LegalEntity], desks: dict[tuple[str, str], Desk], password: str
    ) -> list[tuple[str, str]]:
        logins = [("admin", "superuser: every entity, every action")]
        self._user("admin", password, superuser=True)
        for code, entity in entities.items():
            for role_code in ENTITY_ROLES:
                username = f"{role_code.replace('_', '-')}.{code.lower()}"
                self._grant(self._user(username, password), role_code, entity=entity)
                logins.append((username, f"{role_code} in {code}"))
        dach = self._user("sales.eu.dach", password)
        self._grant(dach, "sales", desk=desks[("EU", "dach")])
        logins.append(("sales.eu.dach", "sales on the EU DACH desk only"))
        for role_code in GROUP_ROLES:
            username = role_code.replace("_", ".")
            self._grant(self._user(username, password), role_code, group_wide=True)
            logins.append((username, f"{role_code}: views every entity, edits nothing"))
        return logins

    def _print_logins(self, logins: list[tuple[str, str]], password: str) -> None:
        self.stdout.write(self.style.MIGRATE_HEADING(f"Demo logins (password for all: {password})"))
        for username, description in logins:
            self.stdout.write(f"  {username:<22} {description}")
