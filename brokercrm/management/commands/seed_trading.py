"""Load one demo client's money and trading on top of `seed_demo`: Camille Laurent (EU) with
a EUR and a USD wallet, a live and a demo MT5 account, deals and one margin call, all made
through the services the client API calls; then print the client calls to see them.

The client's KYC is marked approved here (the demo's shortcut; the KYC journey itself is
shown elsewhere) so that a live account may be opened. Needs the trading simulator: the one
at the server's URL, or one served from this process on the demo's state file."""

from __future__ import annotations

from typing import Any

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError, CommandParser

from brokercrm.accounts.demo import demo_password
from brokercrm.accounts.models import User
from brokercrm.gate import system
from entities.selectors import entities_by_code
from identity.choices import ProfileStatus
from identity.demo import demo_profile
from identity.logins import client_login_create
from identity.services import profile_activate
from kyc.models import KycFile
from kyc.services import kyc_file_for
from platforms import demo as platforms_demo
from wallets import demo as wallets_demo

CLIENT = ("EU", "camille.laurent@example.fr", "atlas-markets")


class Command(BaseCommand):
    help = "Load a demo client's wallets, trading accounts, deals and a margin call."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--quiet-logins", action="store_true", help="do not print the calls")

    def handle(self, *args: Any, **options: Any) -> None:
        code, email, brand = CLIENT
        entities = entities_by_code([code])
        if code not in entities:
            raise CommandError("Run `manage.py seed_demo` first: the demo entities are missing.")
        profile = demo_profile(entities[code], email)
        if profile.status != ProfileStatus.ACTIVE:
            kyc_file = kyc_file_for(profile=profile)
            KycFile.objects.unscoped().filter(pk=kyc_file.pk).update(status=KycFile.Status.APPROVED)
            profile = profile_activate(profile=profile, reason="Demo client: KYC approved")
        password = demo_password()
        if not User.objects.filter(profile=profile).exists():
            client_login_create(actor=system("client_login"), profile=profile, password=password)
        wallets = wallets_demo.seed_client_wallets(profile=profile)
        trading = platforms_demo.seed_client_trading(
            profile=profile, wallets=wallets, state=settings.VAR_DIR / "trading-sim.sqlite3"
        )
        self.stdout.write(
            f"trading: live login {trading.live.login}, demo login {trading.demo.login}, "
            f"{trading.deals} deals, {trading.margin_calls} margin call(s)"
        )
        if options["quiet_logins"]:
            return
        self.stdout.write(self.style.MIGRATE_HEADING("Client API: money and trading"))
        self.stdout.write(
            f"  {email} / {password} (brand {brand}): POST /api/v1/client-tokens with the "
            f"{brand} Api-Key, then with Authorization: Token <key>"
        )
        for call in (
            "GET  /api/v1/me/wallets",
            f"GET  /api/v1/me/wallets/{wallets.base.pk}/statement",
            "GET  /api/v1/me/account-types",
            "GET  /api/v1/me/trading-accounts",
            f"GET  /api/v1/me/trading-accounts/{trading.live.pk}/deals",
            f'POST /api/v1/me/transfers/quote {{"from": {{"kind": "wallet", "id": '
            f'{wallets.base.pk}}}, "to": {{"kind": "wallet", "id": {wallets.usd.pk}}}, '
            '"amount": "100.00"}',
            'POST /api/v1/me/transfers {"quote_id": "<from the quote>"} '
            "with Idempotency-Key: <unique>",
        ):
            self.stdout.write(f"  {call}")
