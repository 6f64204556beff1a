from __future__ import annotations

from typing import Any

from django.apps import apps
from django.core.management.base import BaseCommand, CommandError, CommandParser

from brokercrm.accounts.models import User
from brokercrm.accounts.services import role_get, role_grant
from brokercrm.errors import ApplicationError
from brokercrm.gate import SYSTEM


class Command(BaseCommand):
    help = "Give a staff user a role on an entity, on one desk of it, or group-wide (audited)."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("username")
        parser.add_argument("role", help="role code, e.g. compliance, finance, group_compliance")
        where = parser.add_mutually_exclusive_group(required=True)
        where.add_argument("--entity", help="entity code, e.g. EU")
        where.add_argument("--desk", help="ENTITY/DESK, e.g. EU/dach")
        where.add_argument("--group-wide", action="store_true", help="oversight roles only")
        parser.add_argument("--reason", required=True, help="why, for the audit trail")

    def handle(self, *args: Any, **options: Any) -> None:
        try:
            user = User.objects.get(username=options["username"])
        except User.DoesNotExist as exc:
            raise CommandError(f"No user {options['username']!r}.") from exc
        entity = desk = None
        LegalEntity = apps.get_model("entities", "LegalEntity")
        Desk = apps.get_model("entities", "Desk")
        try:
            if options["entity"]:
                entity = LegalEntity.objects.get(code=options["entity"].upper())
            if options["desk"]:
                entity_code, _, desk_code = options["desk"].partition("/")
                desk = Desk.objects.unscoped().get(entity__code=entity_code.upper(), code=desk_code)
        except (LegalEntity.DoesNotExist, Desk.DoesNotExist) as exc:
            raise CommandError("No such entity or desk.") from exc
        try:
            grant = role_grant(
                actor=SYSTEM,
                user=user,
                role=role_get(options["role"]),
                entity=entity,
                desk=desk,
                group_wide=options["group_wide"],
                reason=f"{options['reason']} (manage.py grant_role)",
            )
        except ApplicationError as exc:
            raise CommandError(f"{exc.detail} [{exc.code}]") from exc
        self.stdout.write(self.style.SUCCESS(f"granted: {grant} (grant id {grant.pk})"))
