"""Load the demo IB programme (`ib.demo`) on top of `seed_demo`, and print the IB's login."""

from __future__ import annotations

import datetime as dt
import time
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser
from django.utils import timezone

from brokercrm.accounts.demo import demo_password
from entities.selectors import brands_by_code, entities_by_code
from ib import demo


class Command(BaseCommand):
    help = "Load the demo IB programme: plans, IBs, referrals, deals, a paid commission batch."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--quiet-logins", action="store_true", help="do not print the login")

    def handle(self, *args: Any, **options: Any) -> None:
        started = time.perf_counter()
        entities = entities_by_code(list(demo.PLANS))
        if set(entities) != set(demo.PLANS):
            raise CommandError("Run `manage.py seed_demo` first: the demo entities are missing.")
        brands = brands_by_code()
        password = demo_password()
        done = demo.seed(entities=entities, brands=brands, password=password)
        if done.login_refused:
            self.stderr.write(f"No IB client login: {done.login_refused}")
        run = done.run
        self.stdout.write(
            f"ib: {len(done.ibs)} IB partners, {done.deals} demo deals added, "
            + (f"commission run {run.pk}: {run.lines_created} lines, " if run else "")
            + f"{done.paid_lines} paid lines in all, {done.notifications} client notifications "
            + f"({time.perf_counter() - started:.1f} s)"
        )
        if done.login is not None and not options["quiet_logins"]:
            self._print_login(password, done.since)

    def _print_login(self, password: str, since: dt.datetime) -> None:
        _code, email, brand = demo.LOGIN_IB
        date_from = since.strftime("%Y-%m-%dT00:00:00Z")
        date_to = (timezone.now() + dt.timedelta(days=1)).strftime("%Y-%m-%dT00:00:00Z")
        self.stdout.write(self.style.MIGRATE_HEADING("IB client login (its own statement)"))
        self.stdout.write(f"  {email} / {password} (brand {brand}, IB Nowak Trading Club)")
        self.stdout.write(
            f"  POST /api/v1/client-tokens with the {brand} Api-Key, then "
            f"GET /api/v1/me/ib/statement?date_from={date_from}&date_to={date_to}"
        )
        self.stdout.write(
            "  GET /api/v1/me/ib/referral-links, GET /api/v1/me/ib/clients, "
            "GET /api/v1/me/notifications"
        )
