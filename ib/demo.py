"""Demo IB programme, on top of the demo entities and clients: per entity an IB programme
(depth) and a published rebate plan using all three rate bases, IB partners made of demo
clients in a hierarchy, referral codes on each entity's brand, referred clients with a month of
demo trading history (`platforms.demo`), then one commission batch, so the statements show paid
lines from the first minute. One EU code used on an offshore client leaves a referral review.
One IB gets a client login so its own statement, referral links and referred clients can be read
through the API. Last, the demo's clients are told what the demo announced (notifications).

Safe to run again: every step checks what exists first, and the batch pays a deal once."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Any

from django.db import transaction
from django.utils import timezone

from audit.services import audit_record
from brokercrm.accounts.models import User
from brokercrm.errors import ValidationFailed
from brokercrm.events.bus import announce
from brokercrm.events.models import Event
from brokercrm.gate import SYSTEM, system
from brokercrm.notifications import demo as notifications_demo
from identity import demo as identity_demo
from identity.choices import ProfileStatus
from identity.logins import client_login_create
from kyc.events import DOCUMENT_REQUESTED, KYC_APPROVED
from platforms import demo as platforms_demo
from platforms.selectors import deals_after

from . import audit_actions as actions
from . import services
from .models import (
    CommissionLine,
    CommissionRun,
    IbAssignment,
    IbLink,
    IbPartner,
    IbProgramme,
    RebatePlan,
    RebatePlanVersion,
    ReferralCode,
    ReferralReview,
)

LABEL = "system:seed_ib"

# entity → tiers that earn (the IB itself and its ancestors)
PROGRAMME_DEPTH = {"EU": 3, "UK": 2, "SC": 2}
# entity → (plan name, plan currency); each entity's demo accounts trade in that currency,
# so no FX rate is needed for the commission share.
PLANS = {
    "EU": ("Atlas Partners EU", "EUR"),
    "UK": ("Atlas Partners UK", "GBP"),
    "SC": ("AtlasFX Partners", "USD"),
}
# FX majors pay per lot, gold a share of the spread, everything else a share of the commission
# the client paid (the symbol-specific rates are more specific, so they win).
RATES: list[dict[str, Any]] = [
    {"basis": "per_lot", "symbols": ["EURUSD", "GBPUSD", "USDJPY"], "amount_per_lot": "5"},
    {"basis": "spread_share", "symbols": ["XAUUSD"], "spread_per_lot": "8", "share_percent": "25"},
    {"basis": "commission_share", "share_percent": "40"},
]
TIER_SPLIT = [70, 20, 10]
MIN_HOLDING_SECONDS = 60

# (entity, the demo client's e-mail, IB name, parent's e-mail, [(brand, referral code)])
IBS: list[tuple[str, str, str, str | None, list[tuple[str, str]]]] = [
    ("EU", "andreas.g@example.com.cy", "Georgiou Partners", None, [("atlas-markets", "georgiou")]),
    (
        "EU",
        "k.nowak@example.pl",
        "Nowak Trading Club",
        "andreas.g@example.com.cy",
        [("atlas-markets", "nowak-club")],
    ),
    (
        "EU",
        "camille.laurent@example.fr",
        "Camille Laurent FX",
        "k.nowak@example.pl",
        [("atlas-markets", "camille-fx")],
    ),
    ("UK", "amelia.jones@example.co.uk", "Jones Introducers", None, [("atlas-uk", "jones-uk")]),
    ("SC", "omar.haddad@example.ae", "Haddad Introducers", None, [("atlasfx-global", "haddad")]),
    (
        "SC",
        "thabo.nkosi@example.co.za",
        "Nkosi FX Academy",
        "omar.haddad@example.ae",
        [("atlasfx-global", "nkosi-academy")],
    ),
]

# (entity, client e-mail, referral code). The last one is an EU code on an offshore client:
# it attributes nothing and is kept for review (referral_other_entity).
REFERRALS: list[tuple[str, str, str]] = [
    ("EU", "lukas.becker@example.de", "camille-fx"),
    ("EU", "sofia.rossi@example.it", "nowak-club"),
    ("EU", "jan.devries@example.nl", "georgiou"),
    ("UK", "oliver.smith@example.co.uk", "jones-uk"),
    ("SC", "mariana.souza@example.com.br", "nkosi-academy"),
    ("SC", "siti.rahman@example.my", "haddad"),
    ("SC", "lukas.b.trading@example.com", "georgiou"),
]

HISTORY_DAYS = 28

# The IB that gets a client login (its own statement through the API).
LOGIN_IB = ("EU", "k.nowak@example.pl", "atlas-markets")

# Demo clients told where their KYC stands, so the IB's login and the clients it referred
# have notifications to read: the demo makes clients without KYC decisions, so nothing
# announced what an approved one was told or what an applicant still has to send.
KYC_TOLD = [LOGIN_IB[:2], *((code, email) for code, email, _ in REFERRALS)]


@dataclass(frozen=True)
class IbDemo:
    """What the IB demo did, to report."""

    ibs: dict[str, IbPartner]
    deals: int
    run: CommissionRun | None
    paid_lines: int
    login: User | None
    login_refused: str
    since: dt.datetime
    notifications: int = 0


def seed(*, entities: dict[str, Any], brands: dict[str, Any], password: str) -> IbDemo:
    """The referred clients, the programme and its partners, their clients' trading history and
    a paid commission batch, and the IB's client login (unless the password is refused)."""
    # Registrations own their transactions (durable): before the rest.
    identity_demo.seed_referred_clients(brands=brands)
    with transaction.atomic():
        since = programme_start()
        plans = {code: _plan(entity, since) for code, entity in entities.items()}
        ibs = _ibs(entities, brands, plans, since)
        _referrals(entities, since)
        deals = platforms_demo.seed_history(entities=entities, since=since)
    run = None
    if deals or _batch_due():
        run = services.commission_batch_run()
    login, refused = _client_login(entities, password)
    paid = CommissionLine.objects.unscoped().filter(status=CommissionLine.Status.PAID).count()
    notified = _notifications(entities)
    return IbDemo(ibs, deals, run, paid, login, refused, since, notified)


def programme_start() -> dt.datetime:
    """When the demo programme started: kept from the first run (the EU plan's version)."""
    first = (
        RebatePlanVersion.objects.unscoped()
        .filter(plan__name=PLANS["EU"][0], number=1)
        .values_list("valid_from", flat=True)
        .first()
    )
    if first is not None:
        return first
    today = timezone.now().replace(hour=0, minute=0, second=0, microsecond=0)
    return today - dt.timedelta(days=HISTORY_DAYS + 2)


def _plan(entity: Any, since: dt.datetime) -> RebatePlan:
    if not IbProgramme.objects.in_entity(entity).exists():
        programme = IbProgramme.objects.create(
            entity=entity, max_depth=PROGRAMME_DEPTH[entity.code]
        )
        audit_record(
            actor=None,
            actor_label=LABEL,
            action=actions.PROGRAMME_CREATED,
            entity=entity.pk,
            obj=programme,
            after={"max_depth": programme.max_depth},
            reason="demo data",
        )
    name, currency = PLANS[entity.code]
    plan = RebatePlan.objects.in_entity(entity).filter(name=name).first()
    if plan is None:
        plan = services.rebate_plan_create(
            actor=SYSTEM, entity=entity, name=name, currency=currency
        )
    if not RebatePlanVersion.objects.in_entity(entity).filter(plan=plan).exists():
        services.rebate_plan_publish(
            actor=SYSTEM,
            plan=plan,
            valid_from=since,
            rates=RATES,
            tier_split=TIER_SPLIT,
            min_holding_seconds=MIN_HOLDING_SECONDS,
        )
    return plan


def _ibs(
    entities: dict[str, Any],
    brands: dict[str, Any],
    plans: dict[str, RebatePlan],
    since: dt.datetime,
) -> dict[str, IbPartner]:
    ibs: dict[str, IbPartner] = {}
    for code, email, name, parent_email, referral_codes in IBS:
        entity = entities[code]
        profile = identity_demo.demo_profile(entity, email)
        ib = IbPartner.objects.in_entity(entity).filter(profile=profile).first()
        if ib is None:
            ib = services.ib_partner_create(
                actor=SYSTEM, profile=profile, name=name, plan=plans[code]
            )
        ibs[email] = ib
        if parent_email and not IbLink.objects.in_entity(entity).filter(ib=ib).exists():
            services.ib_parent_set(actor=SYSTEM, ib=ib, parent=ibs[parent_email], valid_from=since)
        for brand_code, referral in referral_codes:
            if not ReferralCode.objects.unscoped().filter(code=referral).exists():
                services.referral_code_create(
                    actor=SYSTEM, ib=ib, brand=brands[brand_code], code=referral
                )
    return ibs


def _referrals(entities: dict[str, Any], since: dt.datetime) -> None:
    for code, email, referral in REFERRALS:
        profile = identity_demo.demo_profile(entities[code], email)
        done = (
            IbAssignment.objects.in_entity(profile.entity_id).filter(profile=profile).exists()
            or ReferralReview.objects.in_entity(profile.entity_id)
            .filter(profile=profile, code_text=referral)
            .exists()
        )
        if not done:
            services.referral_attribute(profile=profile, code=referral, at=since)


def _batch_due() -> bool:
    """Deals past the last run's watermark, or lines still open: a run has work."""
    watermark = max(CommissionRun.objects.values_list("deal_id_to", flat=True), default=0)
    return (
        deals_after(watermark)
        or CommissionLine.objects.unscoped()
        .filter(status__in=[CommissionLine.Status.COMPUTED, CommissionLine.Status.DELAYED])
        .exists()
    )


def _client_login(entities: dict[str, Any], password: str) -> tuple[User | None, str]:
    code, email, _brand = LOGIN_IB
    profile = identity_demo.demo_profile(entities[code], email)
    login = User.objects.filter(profile=profile).first()
    if login is not None:
        return login, ""
    try:
        return client_login_create(
            actor=system("client_login"), profile=profile, password=password
        ), ""
    except ValidationFailed as refused:  # a DEMO_PASSWORD the validators do not accept
        return None, str(refused)


def _notifications(entities: dict[str, Any]) -> int:
    """Announce where each `KYC_TOLD` client's KYC stands (approved, or the identity document
    still to send), then tell every client concerned what the demo announced (the other apps'
    events included): last, once the rest exists."""
    for code, email in KYC_TOLD:
        profile = identity_demo.demo_profile(entities[code], email)
        told = Event.objects.filter(
            type__in=[KYC_APPROVED.name, DOCUMENT_REQUESTED.name], profile_id=profile.pk
        )
        if told.exists():
            continue
        approved = profile.status == ProfileStatus.ACTIVE
        with transaction.atomic():
            announce(
                KYC_APPROVED if approved else DOCUMENT_REQUESTED,
                entity=profile.entity_id,
                person=profile.person_id,
                profile=profile,
                payload={"decided_by": "demo"}
                if approved
                else {"document_id": None, "kind": "identity", "reason_code": "missing"},
                actor_label=LABEL,
            )
    return notifications_demo.seed()
