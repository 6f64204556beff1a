from __future__ import annotations

from pathlib import Path
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from kyc.services import screening_load


class Command(BaseCommand):
    help = "Load a sanctions/PEP list (FollowTheMoney JSON lines); every client is re-screened."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("file", type=Path)

    def handle(self, *args: Any, **options: Any) -> None:
        path: Path = options["file"]
        if not path.is_file():
            raise CommandError(f"No such file: {path}")
        version = screening_load(path=path)
        self.stdout.write(
            self.style.SUCCESS(f"loaded {version.entries} listed persons as version {version.pk}")
        )
