from __future__ import annotations

from typing import Any

from django.core.management.base import BaseCommand

from brokercrm.accounts.models import RoleGrant, User
from brokercrm.accounts.services import permissions_sync, roles_sync, user_grants_sync


class Command(BaseCommand):
    help = "Rebuild roles from their definitions and every user's object permissions from grants."

    def handle(self, *args: Any, **options: Any) -> None:
        created = permissions_sync()
        roles = roles_sync()
        user_ids = set(RoleGrant.objects.values_list("user_id", flat=True))
        for user in User.objects.filter(pk__in=user_ids):
            user_grants_sync(user)
        self.stdout.write(
            f"{len(roles)} roles, {created} new entity/desk permissions, "
            f"{len(user_ids)} users resynced"
        )
