"""Load the demo payments configuration (`payments.demo`) for the demo entities."""

from __future__ import annotations

from typing import Any

from django.core.management.base import BaseCommand

from entities.selectors import entities_by_code
from payments import demo


class Command(BaseCommand):
    help = "Load the demo payments configuration (idempotent)."

    def handle(self, *args: Any, **options: Any) -> None:
        entities = entities_by_code()
        merchants, routes = demo.seed(entities=entities)
        self.stdout.write(f"payments: {merchants} merchant accounts, {routes} routing rules")
