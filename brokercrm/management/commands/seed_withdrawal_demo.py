"""The demo's cross-currency withdrawal: an EU-routed client with a EUR wallet, approved and
past the EU entity's 24 h cooling-off, withdrawing to the EU entity's USD payout route (see
`payments.demo.seed_withdrawal_case`). The KYC decision is set as if taken days ago, which no
service does on purpose: this composition step may, because it is the demo's."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from django.core.management.base import BaseCommand, CommandParser
from django.utils import timezone

from brokercrm.accounts.demo import demo_password
from brokercrm.gate import SYSTEM
from entities.selectors import entities_by_code
from identity import demo as identity_demo
from identity.models import ClientProfile
from identity.services import profile_activate
from kyc.models import KycFile
from payments import demo


class Command(BaseCommand):
    help = "Load the demo cross-currency withdrawal case and print its client calls."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--quiet", action="store_true", help="do not print the calls")

    def handle(self, *args: Any, **options: Any) -> None:
        code, email = demo.WITHDRAWAL_CLIENT
        profile = identity_demo.demo_profile(entities_by_code()[code], email)
        decided = timezone.now() - timedelta(days=3)
        kyc_file, _ = KycFile.objects.unscoped().get_or_create(
            profile=profile, defaults={"entity_id": profile.entity_id}
        )
        if kyc_file.status != KycFile.Status.APPROVED:
            KycFile.objects.unscoped().filter(pk=kyc_file.pk).update(
                status=KycFile.Status.APPROVED,
                risk_level=KycFile.RiskLevel.LOW,
                decided_at=decided,
                decision_reason="demo: documents checked, low risk",
                earliest_withdrawal_at=decided + timedelta(hours=24),
            )
        profile_activate(profile=profile, reason="KYC approved (demo)", actor=SYSTEM)
        ClientProfile.objects.unscoped().filter(pk=profile.pk).update(email_verified=True)
        profile = ClientProfile.objects.unscoped().select_related("entity").get(pk=profile.pk)
        calls = demo.seed_withdrawal_case(profile=profile, password=demo_password())
        if not options["quiet"]:
            self.stdout.write(self.style.MIGRATE_HEADING("Cross-currency withdrawal (client API)"))
            for line in calls:
                self.stdout.write(f"  {line}")
