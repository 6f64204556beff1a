"""`make demo`: migrate, load the demo data, then run web + worker + beat in the foreground."""

from __future__ import annotations

import os
import sys
from typing import Any

from django.conf import settings
from django.core.management import call_command
from django.core.management.base import BaseCommand, CommandParser

from brokercrm.supervisor import ProcessSpec, supervise


class Command(BaseCommand):
    help = "Migrate, seed the demo data and run the web server, Celery worker and beat together."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--port", type=int, default=int(os.environ.get("DEMO_PORT", "8000")))
        parser.add_argument("--host", default=os.environ.get("DEMO_HOST", "127.0.0.1"))

    def handle(self, *args: Any, **options: Any) -> None:
        call_command("migrate", interactive=False, verbosity=0)
        self.stdout.write("database migrated")
        call_command("seed_demo")
        python = sys.executable
        address = f"{options['host']}:{options['port']}"
        var = str(settings.VAR_DIR)
        specs = [
            ProcessSpec("web", [python, "manage.py", "runserver", address, "--noreload"]),
            ProcessSpec(
                "worker",
                [
                    python,
                    "-m",
                    "celery",
                    "-A",
                    "brokercrm",
                    "worker",
                    "--loglevel",
                    "INFO",
                    "--concurrency",
                    "2",
                    "--hostname",
                    "demo@%h",
                ],
            ),
            ProcessSpec(
                "beat",
                [
                    python,
                    "-m",
                    "celery",
                    "-A",
                    "brokercrm",
                    "beat",
                    "--loglevel",
                    "INFO",
                    "--schedule",
                    os.path.join(var, "celerybeat-schedule"),
                ],
            ),
        ]
        self.stdout.write(
            self.style.SUCCESS(
                f"\nbrokercrm is starting: back office http://{address}/admin/  "
                f"API docs http://{address}/api/docs/  health http://{address}/healthz\n"
                "Ctrl-C stops everything.\n"
            )
        )
        sys.stdout.flush()
        code = supervise(specs)
        if code:
            sys.exit(code)
