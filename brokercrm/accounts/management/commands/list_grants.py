from __future__ import annotations

from typing import Any

from django.core.management.base import BaseCommand, CommandParser

from brokercrm.accounts.models import RoleGrant


class Command(BaseCommand):
    help = "List active role grants, optionally of one user."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("username", nargs="?")
        parser.add_argument("--all", action="store_true", help="include revoked grants")

    def handle(self, *args: Any, **options: Any) -> None:
        grants = RoleGrant.objects.select_related("user", "role", "entity", "desk").order_by(
            "user__username", "role__code"
        )
        if options["username"]:
            grants = grants.filter(user__username=options["username"])
        if not options["all"]:
            grants = grants.filter(revoked_at__isnull=True)
        for grant in grants:
            where = (
                "group-wide"
                if grant.group_wide
                else (
                    f"{grant.entity.code}/{grant.desk.code}" if grant.desk_id else grant.entity.code
                )
            )
            state = "" if grant.revoked_at is None else f"  (revoked {grant.revoked_at:%Y-%m-%d})"
            self.stdout.write(f"{grant.user.username:<28} {grant.role.code:<18} {where}{state}")
