"""Demo entities: three licensed entities, their rule sets (onboarding, KYC, wallets, deposits,
withdrawals, cooling-off, with country overrides), three brands with country routing, and
desks. Created through the entities services; adds only what is missing."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from brokercrm.gate import SYSTEM
from brokercrm.reference import EEA

from . import services
from .models import Brand, CountryRoute, Desk, LegalDocument, LegalEntity, RuleSet

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

# Risk warnings in the regulators' usual wording (the share losing money is illustrative).
CFD_WARNING = {
    "en": "CFDs are complex instruments and come with a high risk of losing money rapidly due "
    "to leverage. {share}% of retail investor accounts lose money when trading CFDs with this "
    "provider. You should consider whether you understand how CFDs work and whether you can "
    "afford to take the high risk of losing your money.",
    "es": "Los CFD son instrumentos complejos y conllevan un alto riesgo de perder dinero "
    "rápidamente debido al apalancamiento. El {share}% de las cuentas de inversores minoristas "
    "pierde dinero al operar con CFD con este proveedor. Debe considerar si comprende cómo "
    "funcionan los CFD y si puede permitirse asumir un alto riesgo de perder su dinero.",
    "ar": "عقود الفروقات أدوات معقدة وتنطوي على مخاطر عالية لخسارة الأموال بسرعة بسبب الرافعة "
    "المالية. {share}% من حسابات المستثمرين الأفراد تخسر أموالها عند تداول عقود الفروقات مع هذا "
    "المزود. عليك أن تفكر فيما إذا كنت تفهم كيفية عمل عقود الفروقات وما إذا كان بإمكانك تحمّل "
    "المخاطرة العالية بخسارة أموالك.",
}


def risk_warning(share: int) -> dict[str, str]:
    return {language: text.format(share=share) for language, text in CFD_WARNING.items()}


RULES: dict[str, dict[str, dict[str, Any]]] = {
    "EU": {
        "onboarding": {
            "allowed_countries": sorted(EEA),
            "restricted_countries": ["US", *SANCTIONED],
            "risk_warning": risk_warning(74),
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
        "onboarding": {
            "allowed_countries": UK_AREA,
            "restricted_countries": ["US", *SANCTIONED],
            "risk_warning": risk_warning(71),
        },
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
            "risk_warning": risk_warning(78),
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

# Each entity's work-queue deadlines in hours ("sla" rule sets); queues not named take the
# product's defaults (entities.rules.DEFAULT_QUEUE_HOURS), anything else `default_hours`.
SLA_RULES: dict[str, dict[str, Any]] = {
    "EU": {
        "default_hours": 48,
        "hours": {
            "kyc.review": 24,
            "payments.withdrawal_finance": 8,
            "payments.withdrawal_compliance": 24,
            "payments.reconciliation_break": 24,
            "platforms.control_failure": 4,
        },
    },
    # The FCA entity answers faster: finance within half a working day.
    "UK": {
        "default_hours": 48,
        "hours": {
            "kyc.review": 12,
            "payments.withdrawal_finance": 4,
            "payments.withdrawal_compliance": 12,
            "payments.reconciliation_break": 24,
            "platforms.control_failure": 2,
        },
    },
    "SC": {
        "default_hours": 48,
        "hours": {
            "payments.withdrawal_finance": 24,
            "payments.withdrawal_compliance": 48,
            "payments.reconciliation_break": 48,
            "ib.referral_review": 120,
        },
    },
}

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


# The documents each entity's clients accept: (kind, title, body, url). Texts are short
# stand-ins; the offshore entity publishes its privacy notice on its site instead.
_AGREEMENT = (
    "This agreement sets out the terms on which {name} provides you with an account for "
    "trading contracts for difference and foreign exchange, how orders are executed, the fees "
    "we charge, how client money is held apart from our own, and how either of us may end "
    "the relationship."
)
_RISK = (
    "Contracts for difference are complex instruments and come with a high risk of losing "
    "money rapidly due to leverage. You should consider whether you understand how they work "
    "and whether you can afford to take the high risk of losing your money. {name}."
)
_PRIVACY = (
    "{name} is the controller of the personal data you give us. We use it to open and run "
    "your account, to meet our legal duties (identity checks, anti-money-laundering, tax "
    "reporting) and, with your consent, to tell you about our services. You may ask to see, "
    "correct or delete it."
)
LEGAL_DOCUMENTS: dict[str, list[tuple[str, str, str, str]]] = {
    code: [
        ("client_agreement", f"{name} client agreement", _AGREEMENT.format(name=name), ""),
        ("risk_disclosure", f"{name} risk disclosure", _RISK.format(name=name), ""),
        ("privacy_notice", f"{name} privacy notice", _PRIVACY.format(name=name), url),
    ]
    for code, name, url in (
        ("EU", "Atlas Capital Europe Ltd", ""),
        ("UK", "Atlas Capital UK Ltd", ""),
        ("SC", "Atlas Global Markets Ltd", "https://atlasfx.com/legal/privacy-notice"),
    )
}


@dataclass(frozen=True)
class DemoEntities:
    """What the entities step created, for the steps above it."""

    entities: dict[str, LegalEntity]
    brands: dict[str, Brand]
    desks: dict[tuple[str, str], Desk]


def seed() -> DemoEntities:
    """The entities, rule sets, brands and routes, and desks; inside the caller's transaction."""
    entities = {spec["code"]: _entity(spec) for spec in ENTITIES}
    for code, kinds in RULES.items():
        for kind, document in kinds.items():
            _rules(entities[code], kind, "", document)
    for code, kind, country, document in COUNTRY_RULES:
        _rules(entities[code], kind, country, document)
    for code, document in SLA_RULES.items():
        _rules(entities[code], "sla", "", document)
    for code, documents in LEGAL_DOCUMENTS.items():
        for kind, title, body, url in documents:
            _legal_document(entities[code], kind, title, body, url)
    brands = {spec["code"]: _brand(spec, entities) for spec in BRANDS}
    desks = {
        (code, desk_code): _desk(entities[code], desk_code, name, countries)
        for code, specs in DESKS.items()
        for desk_code, name, countries in specs
    }
    return DemoEntities(entities=entities, brands=brands, desks=desks)


def _entity(spec: dict[str, Any]) -> LegalEntity:
    entity = LegalEntity.objects.filter(code=spec["code"]).first()
    return entity or services.entity_create(actor=SYSTEM, reason="demo data", **spec)


def _legal_document(entity: LegalEntity, kind: str, title: str, body: str, url: str) -> None:
    if not LegalDocument.objects.in_entity(entity).filter(kind=kind).exists():
        services.legal_document_publish(
            actor=SYSTEM,
            entity=entity,
            kind=kind,
            title=title,
            body=body,
            url=url,
            reason="demo data",
        )


def _rules(entity: LegalEntity, kind: str, country: str, document: dict[str, Any]) -> None:
    if not RuleSet.objects.in_entity(entity).filter(kind=kind, country=country).exists():
        services.ruleset_publish(
            actor=SYSTEM,
            entity=entity,
            kind=kind,
            country=country,
            document=document,
            note="demo data",
        )


def _brand(spec: dict[str, Any], entities: dict[str, LegalEntity]) -> Brand:
    fields = {k: v for k, v in spec.items() if k not in {"entity", "routes"}}
    brand = Brand.objects.unscoped().filter(code=spec["code"]).first()
    if brand is None:
        brand = services.brand_create(actor=SYSTEM, entity=entities[spec["entity"]], **fields)
    existing = set(
        CountryRoute.objects.unscoped().filter(brand=brand).values_list("country", flat=True)
    )
    for country, entity_code in spec["routes"].items():
        if country not in existing:
            services.country_route_set(
                actor=SYSTEM,
                brand=brand,
                country=country,
                entity=entities[entity_code],
                reason="demo data",
            )
    return brand


def _desk(entity: LegalEntity, code: str, name: str, countries: list[str]) -> Desk:
    desk = Desk.objects.in_entity(entity).filter(code=code).first()
    return desk or services.desk_create(
        actor=SYSTEM, entity=entity, code=code, name=name, countries=countries
    )
