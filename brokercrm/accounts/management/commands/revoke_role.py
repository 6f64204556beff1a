from __future__ import annotations

from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from brokercrm.accounts.models import RoleGrant
from brokercrm.accounts.services import role_revoke
from brokercrm.errors import ApplicationError
from brokercrm.gate import SYSTEM


class Command(BaseCommand):
    help = "Revoke a user's active grant of a role (audited). Lists the candidates if ambiguous."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("username")
        parser.add_argument("role")
        parser.add_argument("--entity", help="entity code, when the user holds the role in several")
        parser.add_argument("--reason", required=True, help="why, for the audit trail")

    def handle(self, *args: Any, **options: Any) -> None:
        grants = RoleGrant.objects.filter(
            user__username=options["username"], role__code=options["role"], revoked_at__isnull=True
        ).select_related("user", "role", "entity", "desk")
        if options["entity"]:
            grants = grants.filter(entity__code=options["entity"].upper())
        grants = list(grants)
        if not grants:
            raise CommandError("No active grant matches.")
        if len(grants) > 1:
            listing = "\n".join(f"  {grant}" for grant in grants)
            raise CommandError(f"Several grants match; name the entity with --entity:\n{listing}")
        try:
            role_revoke(
                actor=SYSTEM, grant=grants[0], reason=f"{options['reason']} (manage.py revoke_role)"
            )
        except ApplicationError as exc:
            raise CommandError(f"{exc.detail} [{exc.code}]") from exc
        self.stdout.write(self.style.SUCCESS(f"revoked: {grants[0]}"))
