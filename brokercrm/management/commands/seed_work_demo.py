"""Work for the back office's "My work" page, on top of the withdrawal case
(`seed_withdrawal_demo`): withdrawals waiting for finance's and compliance's approval, a
reconciliation break and a parked deposit (see `payments.demo.seed_work_queues`)."""

from __future__ import annotations

from typing import Any

from django.core.management.base import BaseCommand

from brokercrm.accounts.models import User
from entities.selectors import entities_by_code
from identity import demo as identity_demo
from payments import demo


class Command(BaseCommand):
    help = "Load demo withdrawals awaiting approval, a reconciliation break and a parked deposit."

    def handle(self, *args: Any, **options: Any) -> None:
        entities = entities_by_code()
        code, email = demo.WITHDRAWAL_CLIENT
        parked_code, parked_email = demo.PARKED_CLIENT
        queued = demo.seed_work_queues(
            profile=identity_demo.demo_profile(entities[code], email),
            parked_profile=identity_demo.demo_profile(entities[parked_code], parked_email),
            finance=User.objects.get(username="finance.eu"),
        )
        self.stdout.write(
            f"payments work: {queued['withdrawals']} withdrawals awaiting approval, "
            f"{queued['breaks']} reconciliation break(s), {queued['parked']} parked deposit(s)"
        )
