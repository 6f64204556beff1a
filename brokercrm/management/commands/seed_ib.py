"""Demo data for the IB programme, on top of `seed_demo`: per entity an IB programme (depth)
and a published rebate plan using all three rate bases, IB partners made of demo clients in a
hierarchy, referral codes on each entity's brand, referred clients with a closed demo trading
account and a month of imported deals, then one commission batch, so the statements show paid
lines from the first minute. One EU code used on an offshore client leaves a referral review.
One IB gets a client login so its own statement can be read through the API.

The deals are demo history written straight into `platforms.Deal` (the trading simulator's
traders only trade logins created on it at runtime). Their accounts are closed and their logins
and tickets lie below the ranges the simulator hands out, so syncs never meet them.

Safe to run again: every step checks what exists first, and the batch pays a deal once."""

from __future__ import annotations

import datetime as dt
import os
import time
from decimal import Decimal
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser
from django.db import connection, transaction
from django.utils import timezone

from audit.services import audit_record
from brokercrm.accounts.models import User
from brokercrm.errors import ValidationFailed
from brokercrm.gate import SYSTEM
from entities.models import Brand, LegalEntity
from ib import services as ib_services
from ib.models import (
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
from identity.logins import client_login_create
from identity.models import ClientProfile
from identity.services import RegistrationInput, registration_submit
from platforms.models import Deal, TradingAccount, TradingServer
from platforms.selectors import DEAL_IMPORT_LOCK

from .seed_demo import DEMO_PASSWORD_DEFAULT

LABEL = "system:seed_ib"
DEMO_COMMENT = "demo history (seed_ib)"

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

# More demo clients, registered through the real registration service (no document).
NEW_CLIENTS: list[dict[str, str]] = [
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

# entity → (server name, group, first login, first ticket). Below the simulator's ranges
# (logins from 5,000,000 on the MT5 server and 400,000 on the MT4 one, tickets from 10,000,000).
ACCOUNTS = {
    "EU": ("EU-MT5-Live", "real\\eu\\std-eur", 4_900_001, 9_000_000),
    "SC": ("SC-MT4-Live", "sc-std-usd", 390_001, 9_000_000),
}
# Referred clients that trade (the UK entity has no demo server).
TRADERS: list[tuple[str, str]] = [
    ("EU", "lukas.becker@example.de"),
    ("EU", "sofia.rossi@example.it"),
    ("EU", "jan.devries@example.nl"),
    ("SC", "mariana.souza@example.com.br"),
    ("SC", "siti.rahman@example.my"),
]
# Every trader's month: (day, hour, symbol, lots, seconds held, commission per leg). The last
# trade is held under the minimum holding time and earns nothing.
TRADES: list[tuple[int, int, str, str, int, str]] = [
    (3, 9, "EURUSD", "2", 7_200, "0"),
    (6, 14, "XAUUSD", "1", 2_700, "0"),
    (10, 16, "US500", "3", 86_400, "-4.5"),
    (15, 11, "GBPUSD", "1.5", 1_800, "0"),
    (21, 10, "BTCUSD", "0.5", 14_400, "-12"),
    (24, 15, "EURUSD", "5", 30, "0"),
]
HISTORY_DAYS = 28

# The IB that gets a client login (its own statement through the API).
LOGIN_IB = ("EU", "k.nowak@example.pl", "atlas-markets")


class Command(BaseCommand):
    help = "Load the demo IB programme: plans, IBs, referrals, deals, a paid commission batch."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--quiet-logins", action="store_true", help="do not print the login")

    def handle(self, *args: Any, **options: Any) -> None:
        started = time.perf_counter()
        entities = {e.code: e for e in LegalEntity.objects.filter(code__in=list(PLANS))}
        if set(entities) != set(PLANS):
            raise CommandError("Run `manage.py seed_demo` first: the demo entities are missing.")
        brands = {brand.code: brand for brand in Brand.objects.unscoped()}
        # Registrations own their transactions (durable): before the rest.
        self._new_clients(brands)
        with transaction.atomic():
            since = self._since()
            plans = {code: self._plan(entity, since) for code, entity in entities.items()}
            ibs = self._ibs(entities, brands, plans, since)
            self._referrals(entities, since)
            deals = self._history(entities, since)
        run = None
        if deals or self._batch_due():
            run = ib_services.commission_batch_run()
        password = os.environ.get("DEMO_PASSWORD", DEMO_PASSWORD_DEFAULT)
        login = self._client_login(entities, password)
        lines = CommissionLine.objects.unscoped().filter(status=CommissionLine.Status.PAID)
        self.stdout.write(
            f"ib: {len(ibs)} IB partners, {deals} demo deals added, "
            + (f"commission run {run.pk}: {run.lines_created} lines, " if run else "")
            + f"{lines.count()} paid lines in all ({time.perf_counter() - started:.1f} s)"
        )
        if login is not None and not options["quiet_logins"]:
            self._print_login(login, password, since)

    # --- steps ----------------------------------------------------------------------------

    def _since(self) -> dt.datetime:
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

    def _new_clients(self, brands: dict[str, Brand]) -> None:
        for client in NEW_CLIENTS:
            brand = brands[client["brand"]]
            if ClientProfile.objects.unscoped().filter(email=client["email"]).exists():
                continue
            registration_submit(
                brand=brand,
                data=RegistrationInput(
                    given_name=client["given"],
                    family_name=client["family"],
                    birth_date=client["born"],
                    residence_country=client["country"],
                    nationality=client["country"],
                    email=client["email"],
                    phone=client["phone"],
                ),
            )

    def _plan(self, entity: LegalEntity, since: dt.datetime) -> RebatePlan:
        if not IbProgramme.objects.in_entity(entity).exists():
            programme = IbProgramme.objects.create(
                entity=entity, max_depth=PROGRAMME_DEPTH[entity.code]
            )
            audit_record(
                actor=None,
                actor_label=LABEL,
                action="ib.programme_created",
                entity=entity.pk,
                obj=programme,
                after={"max_depth": programme.max_depth},
                reason="demo data",
            )
        name, currency = PLANS[entity.code]
        plan = RebatePlan.objects.in_entity(entity).filter(name=name).first()
        if plan is None:
            plan = ib_services.rebate_plan_create(
                actor=SYSTEM, entity=entity, name=name, currency=currency
            )
        if not RebatePlanVersion.objects.in_entity(entity).filter(plan=plan).exists():
            ib_services.rebate_plan_publish(
                actor=SYSTEM,
                plan=plan,
                valid_from=since,
                rates=RATES,
                tier_split=TIER_SPLIT,
                min_holding_seconds=MIN_HOLDING_SECONDS,
            )
        return plan

    def _profile(self, entity: LegalEntity, email: str) -> ClientProfile:
        profile = ClientProfile.objects.in_entity(entity).filter(email=email).first()
        if profile is None:
            raise CommandError(f"No demo client {email} in {entity.code}: run seed_demo first.")
        return profile

    def _ibs(
        self,
        entities: dict[str, LegalEntity],
        brands: dict[str, Brand],
        plans: dict[str, RebatePlan],
        since: dt.datetime,
    ) -> dict[str, IbPartner]:
        ibs: dict[str, IbPartner] = {}
        for code, email, name, parent_email, referral_codes in IBS:
            entity = entities[code]
            profile = self._profile(entity, email)
            ib = IbPartner.objects.in_entity(entity).filter(profile=profile).first()
            if ib is None:
                ib = ib_services.ib_partner_create(
                    actor=SYSTEM, profile=profile, name=name, plan=plans[code]
                )
            ibs[email] = ib
            if parent_email and not IbLink.objects.in_entity(entity).filter(ib=ib).exists():
                ib_services.ib_parent_set(
                    actor=SYSTEM, ib=ib, parent=ibs[parent_email], valid_from=since
                )
            for brand_code, referral in referral_codes:
                if not ReferralCode.objects.unscoped().filter(code=referral).exists():
                    ib_services.referral_code_create(
                        actor=SYSTEM, ib=ib, brand=brands[brand_code], code=referral
                    )
        return ibs

    def _referrals(self, entities: dict[str, LegalEntity], since: dt.datetime) -> None:
        for code, email, referral in REFERRALS:
            profile = self._profile(entities[code], email)
            done = (
                IbAssignment.objects.in_entity(profile.entity_id).filter(profile=profile).exists()
                or ReferralReview.objects.in_entity(profile.entity_id)
                .filter(profile=profile, code_text=referral)
                .exists()
            )
            if not done:
                ib_services.referral_attribute(profile=profile, code=referral, at=since)

    def _history(self, entities: dict[str, LegalEntity], since: dt.datetime) -> int:
        """A closed demo account per trader and its month of deals; returns the deals added."""
        with connection.cursor() as cursor:  # like an import: the batch's watermark waits
            cursor.execute("SELECT pg_advisory_xact_lock_shared(%s)", [DEAL_IMPORT_LOCK])
        added = 0
        for index, (code, email) in enumerate(TRADERS):
            entity = entities[code]
            server_name, group, first_login, first_ticket = ACCOUNTS[code]
            server = TradingServer.objects.in_entity(entity).filter(server_name=server_name).first()
            if server is None:
                raise CommandError(f"No demo server {server_name}: run seed_demo first.")
            profile = self._profile(entity, email)
            account = self._account(profile, server, group, first_login + index)
            deals = []
            for number, (day, hour, symbol, lots, held, commission) in enumerate(TRADES):
                opened = since + dt.timedelta(days=day, hours=hour)
                ticket = first_ticket + index * 1_000 + number * 2
                for entry, kind, at, ticket_ in (
                    ("in", "buy", opened, ticket),
                    ("out", "sell", opened + dt.timedelta(seconds=held), ticket + 1),
                ):
                    deals.append(
                        Deal(
                            entity=entity,
                            server=server,
                            ticket=ticket_,
                            login=account.login,
                            account=account,
                            kind=kind,
                            entry=entry,
                            symbol=symbol,
                            volume=Decimal(lots),
                            price=Decimal("1"),
                            profit=Decimal(0),
                            commission=Decimal(commission),
                            swap=Decimal(0),
                            comment=DEMO_COMMENT,
                            time=at,
                            position=ticket,
                        )
                    )
            existing = set(
                Deal.objects.in_entity(entity)
                .filter(server=server, ticket__in=[d.ticket for d in deals])
                .values_list("ticket", flat=True)
            )
            fresh = [d for d in deals if d.ticket not in existing]
            Deal.objects.bulk_create(fresh, ignore_conflicts=True)
            added += len(fresh)
        return added

    def _account(
        self, profile: ClientProfile, server: TradingServer, group: str, login: int
    ) -> TradingAccount:
        account = TradingAccount.objects.in_entity(profile.entity_id).filter(
            server=server, login=login
        )
        found = account.first()
        if found is not None:
            return found
        account = TradingAccount.objects.create(
            entity_id=profile.entity_id,
            profile=profile,
            server=server,
            login=login,
            account_type="standard",
            group=group,
            currency=PLANS[profile.entity.code][1],
            leverage=30,
            status=TradingAccount.Status.CLOSED,
            status_reason="Demo trading history loaded by seed_ib; not on the trading simulator.",
            status_changed_at=timezone.now(),
        )
        audit_record(
            actor=None,
            actor_label=LABEL,
            action="platforms.tradingaccount_created",
            entity=profile.entity_id,
            obj=account,
            after={"login": login, "server": server.server_name, "status": account.status},
            reason="demo data",
        )
        return account

    def _batch_due(self) -> bool:
        """Deals past the last run's watermark, or lines still open: a run has work."""
        watermark = max(CommissionRun.objects.values_list("deal_id_to", flat=True), default=0)
        return (
            Deal.objects.unscoped().filter(pk__gt=watermark).exists()
            or CommissionLine.objects.unscoped()
            .filter(status__in=[CommissionLine.Status.COMPUTED, CommissionLine.Status.DELAYED])
            .exists()
        )

    def _client_login(self, entities: dict[str, LegalEntity], password: str) -> User | None:
        code, email, _brand = LOGIN_IB
        profile = self._profile(entities[code], email)
        login = User.objects.filter(profile=profile).first()
        if login is not None:
            return login
        try:
            return client_login_create(actor=None, profile=profile, password=password)
        except ValidationFailed as refused:  # a DEMO_PASSWORD the validators do not accept
            self.stderr.write(f"No IB client login: {refused}")
            return None

    def _print_login(self, login: User, password: str, since: dt.datetime) -> None:
        _code, email, brand = LOGIN_IB
        date_from = since.strftime("%Y-%m-%dT00:00:00Z")
        date_to = (timezone.now() + dt.timedelta(days=1)).strftime("%Y-%m-%dT00:00:00Z")
        self.stdout.write(self.style.MIGRATE_HEADING("IB client login (its own statement)"))
        self.stdout.write(f"  {email} / {password} (brand {brand}, IB Nowak Trading Club)")
        self.stdout.write(
            f"  POST /api/v1/client-tokens with the {brand} Api-Key, then "
            f"GET /api/v1/me/ib/statement?date_from={date_from}&date_to={date_to}"
        )
