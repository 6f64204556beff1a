from __future__ import annotations

from typing import Any

from django.core.management.base import BaseCommand, CommandError

from entities.selectors import entities_by_code
from wallets.selectors import ledger_imbalance, ledger_reconcile, trial_balance


class Command(BaseCommand):
    help = "Recompute every account balance from postings, check journals and print trial balances."

    def handle(self, *args: Any, **options: Any) -> None:
        for entity in entities_by_code().values():
            for currency, kinds in trial_balance(entity=entity).items():
                parts = ", ".join(f"{kind} {total}" for kind, total in kinds.items())
                self.stdout.write(f"{entity.code} {currency}: {parts}")
        differences = ledger_reconcile()
        unbalanced = ledger_imbalance()
        for difference in differences:
            self.stdout.write(
                f"account {difference.account_id}: {difference.field} stored {difference.stored}, "
                f"postings say {difference.recomputed}"
            )
        if differences or unbalanced:
            raise CommandError(
                f"{len(differences)} balance differences, {len(unbalanced)} unbalanced journals"
            )
        self.stdout.write(
            self.style.SUCCESS("ledger reconciled: every balance equals its postings")
        )
