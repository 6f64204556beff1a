"""`make demo`: migrate, load the demo data, then run web + worker + beat in the foreground."""

from __future__ import annotations

import json
import os
import secrets
import sys
from typing import Any

from django.conf import settings
from django.core.management import call_command
from django.core.management.base import BaseCommand, CommandParser

from brokercrm.embedded import dev_secret
from brokercrm.supervisor import ProcessSpec, supervise


def _token() -> str:
    return secrets.token_urlsafe(32)


class Command(BaseCommand):
    help = "Migrate, seed the demo data and run the web server, Celery worker and beat together."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--port", type=int, default=int(os.environ.get("DEMO_PORT", "8000")))
        parser.add_argument("--host", default=os.environ.get("DEMO_HOST", "127.0.0.1"))
        parser.add_argument(
            "--liveness-port", type=int, default=int(os.environ.get("DEMO_LIVENESS_PORT", "8703"))
        )
        parser.add_argument(
            "--liveness-delay",
            type=float,
            default=float(os.environ.get("DEMO_LIVENESS_DELAY", "5")),
            help="seconds the simulated liveness vendor takes to answer",
        )

    def handle(self, *args: Any, **options: Any) -> None:
        call_command("migrate", interactive=False, verbosity=0)
        self.stdout.write("database migrated")
        call_command("seed_demo")
        call_command("seed_payments")
        call_command("seed_ib")
        call_command("seed_withdrawal_demo")
        call_command("seed_trading")
        call_command("seed_work_demo")
        python = sys.executable
        address = f"{options['host']}:{options['port']}"
        var = str(settings.VAR_DIR)
        # The simulated vendors, unless real ones are configured; web and worker inherit this.
        os.environ.setdefault("PUBLIC_BASE_URL", f"http://{address}")
        simulators: list[ProcessSpec] = []
        if not os.environ.get("KYC_LIVENESS_URL"):
            os.environ["KYC_LIVENESS_URL"] = f"http://127.0.0.1:{options['liveness_port']}"
            os.environ.setdefault(
                "KYC_LIVENESS_WEBHOOK_SECRET",
                dev_secret(settings.VAR_DIR, "liveness_secret", _token),
            )
            simulators.append(
                ProcessSpec(
                    "liveness",
                    [
                        python,
                        "-m",
                        "kyc.simulator",
                        "--port",
                        str(options["liveness_port"]),
                        "--delay",
                        str(options["liveness_delay"]),
                    ],
                )
            )
        if not os.environ.get("PSP_SIMULATOR_URL"):
            from payments.demo import SECRET_ENV, simulator_config

            os.environ.setdefault(
                SECRET_ENV, dev_secret(settings.VAR_DIR, "psp_webhook_secret", _token)
            )
            config = settings.VAR_DIR / "psp-simulator.json"
            config.write_text(
                json.dumps(simulator_config(os.environ["PUBLIC_BASE_URL"], os.environ[SECRET_ENV]))
            )
            simulators.append(
                ProcessSpec(
                    "psp",
                    [python, "-m", "payments.simulator", "--port", "8701", "--config", str(config)],
                )
            )
        if not os.environ.get("TRADING_SIMULATOR_URL"):
            os.environ["TRADING_SIMULATOR_URL"] = settings.TRADING_SIMULATOR_URL
            state = os.path.join(var, "trading-sim.sqlite3")
            simulators.append(
                ProcessSpec(
                    "trading",
                    [python, "-m", "platforms.simulator", "--port", "8702", "--state", state],
                )
            )
        specs = [
            *simulators,
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
        if os.environ.get("DEMO_JOURNEY", "1") != "0":
            # A new client's whole journey through the client API, once everything is up.
            specs.append(
                ProcessSpec(
                    "journey",
                    [python, "manage.py", "demo_journey", "--base-url", f"http://{address}"],
                    one_shot=True,
                )
            )
        self.stdout.write(
            self.style.SUCCESS(
                f"\nbrokercrm is starting: back office http://{address}/admin/  "
                f"API docs http://{address}/api/docs/  health http://{address}/healthz\n"
                f"Client portals: http://{address}/b/atlas-markets/  "
                f"http://{address}/b/atlas-uk/  http://{address}/b/atlasfx-global/ "
                f"(e.g. lukas.becker@example.de / the demo password on atlas-markets)\n"
                "Ctrl-C stops everything.\n"
            )
        )
        sys.stdout.flush()
        code = supervise(specs)
        if code:
            sys.exit(code)
