"""Demo data, composed from the apps' own demo modules in layer order: the entities with their
rule sets, brands, routing and desks; the staff logins; the brand API keys and demo clients;
the screening list; the trading servers. Safe to run again: every step adds only what is
missing. `seed_payments` and `seed_ib` load the payments and IB demo on top of it."""

from __future__ import annotations

from typing import Any

from django.core.management.base import BaseCommand, CommandParser
from django.db import transaction

from brokercrm.accounts import demo as accounts_demo
from entities import demo as entities_demo
from identity import demo as identity_demo
from kyc import demo as kyc_demo
from platforms import demo as platforms_demo


class Command(BaseCommand):
    help = (
        "Load the demo entities, brands, routing, desks, rule sets and staff logins (idempotent)."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--quiet-logins", action="store_true", help="do not print the logins")

    def handle(self, *args: Any, **options: Any) -> None:
        password = accounts_demo.demo_password()
        with transaction.atomic():
            demo = entities_demo.seed()
            logins = accounts_demo.seed(entities=demo.entities, desks=demo.desks, password=password)
            keys = identity_demo.seed_api_keys(brands=demo.brands, password=password)
        # Registrations own their transactions (durable), so they run after the setup commits.
        identity_demo.seed_clients(brands=demo.brands)
        kyc_demo.seed(entities=demo.entities)
        with transaction.atomic():
            platforms_demo.demo_trading_servers(demo.entities)
        if not options["quiet_logins"]:
            self.stdout.write(
                self.style.MIGRATE_HEADING(f"Demo logins (password for all: {password})")
            )
            for username, description in logins:
                self.stdout.write(f"  {username:<22} {description}")
            self.stdout.write(self.style.MIGRATE_HEADING("Brand API keys (registration API)"))
            for brand_code, key in keys:
                self.stdout.write(f"  {brand_code:<16} Authorization: Api-Key {key}")
