"""Trading servers on the simulator, KYC-approved clients, and small helpers for the tests."""

from __future__ import annotations

from itertools import count
from pathlib import Path
from typing import Any

from brokercrm.httpjson import json_request
from brokercrm.simulators import SimulatorProcess
from identity.models import ClientProfile
from identity.services import profile_activate
from identity.tests.factories import register
from kyc.models import KycFile
from kyc.services import kyc_file_for
from platforms.models import GroupMapping, TradingServer

ROOT = Path(__file__).resolve().parents[2]
# The simulator's default servers: MT5-flavoured for one entity, MT4-flavoured for the other.
SIM_SERVERS: dict[str, dict[str, str]] = {
    "mt5": {
        "server": "EU-MT5-Live",
        "standard": "real\\eu\\std-usd",
        "pro": "real\\eu\\pro-usd",
        "demo": "demo\\eu\\std-usd",
    },
    "mt4": {
        "server": "SC-MT4-Live",
        "standard": "sc-std-usd",
        "pro": "sc-pro-usd",
        "demo": "demo-usd",
    },
}
_people = count(1)


def _letters(n: int) -> str:
    """A name part for the n-th test client (names take no digits)."""
    out = ""
    while True:
        n, rest = divmod(n, 26)
        out = "abcdefghijklmnopqrstuvwxyz"[rest] + out
        if not n:
            return out.capitalize()


def start_simulator(state: Path, *extra: str) -> SimulatorProcess:
    return SimulatorProcess(
        "platforms.simulator",
        "--state",
        str(state),
        "--tick-ms",
        "0",
        "--traders",
        "0",
        *extra,
        env={"PYTHONPATH": str(ROOT)},
    ).start()


def sim_admin(url: str, path: str, body: dict[str, Any]) -> Any:
    answer = json_request("POST", f"{url}/admin/{path}", body=body)
    assert answer.status == 200, answer.body
    return answer.body


def sim_user_count(url: str, server: str) -> int:
    return int(json_request("GET", f"{url}/admin/state").body["servers"][server]["users"])


def trading_server(entity: Any, kind: str, url: str) -> TradingServer:
    """The entity's server on the simulator, with USD groups for each account type."""
    names = SIM_SERVERS[kind]
    server = TradingServer.objects.create(
        entity=entity,
        name=f"{entity.code} {kind}",
        kind=kind,
        base_url=url,
        server_name=names["server"],
        timeout_seconds=5,
    )
    for account_type in ("standard", "pro", "demo"):
        GroupMapping.objects.create(
            entity=entity,
            server=server,
            account_type=account_type,
            currency="USD",
            group=names[account_type],
        )
    return server


def client_of(brand: Any, *, approved: bool = True) -> ClientProfile:
    """A new client of the brand's entity (a different person each call), KYC-approved and
    active unless `approved=False`."""
    n = next(_people)
    uk = brand.entity.code == "UK"
    profile = register(
        brand,
        given_name="Trader",
        family_name=f"Tester{_letters(n)}",
        birth_date=f"19{60 + n % 35}-0{1 + n % 9}-1{n % 9}",
        residence_country="GB" if uk else "DE",
        nationality="GB" if uk else "DE",
        email=f"trader{n}@example.test",
        phone=f"+44 7911 {100000 + n}" if uk else f"+49 151 {20000000 + n}",
        address_line1=f"{n} Market Street",
        document=None,
        ip=f"198.51.100.{n % 250 + 1}",
        device_fingerprint=f"dev-trader-{n}",
    ).profile
    if approved:
        kyc_file = kyc_file_for(profile=profile)
        KycFile.objects.unscoped().filter(pk=kyc_file.pk).update(status=KycFile.Status.APPROVED)
        profile = profile_activate(profile=profile, reason="KYC approved in the test")
    return ClientProfile.objects.unscoped().get(pk=profile.pk)
