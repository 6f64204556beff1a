from __future__ import annotations

from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser
from django.db import transaction

from audit.services import audit_record
from entities.selectors import brand_by_code
from identity import audit_actions as actions
from identity.api.auth import brand_api_key_create


class Command(BaseCommand):
    help = "Issue an API key for a brand's front end (registration API). The key is shown once."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("brand", help="brand code, e.g. atlas-markets")
        parser.add_argument("--name", default="web front end")

    def handle(self, *args: Any, **options: Any) -> None:
        brand = brand_by_code(options["brand"])
        if brand is None:
            raise CommandError(f"No brand {options['brand']!r}.")
        with transaction.atomic():
            key, secret = brand_api_key_create(brand=brand, name=options["name"])
            audit_record(
                actor=None,
                actor_label="system:brand_api_key",
                action=actions.BRAND_API_KEY_ISSUED,
                entity=brand.entity_id,
                obj=key,
                after={"brand": brand.code, "prefix": key.prefix},
            )
        self.stdout.write(f"Api-Key {secret}")
