from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from brokercrm.accounts.tests.factories import UserFactory, grant
from brokercrm.celery import app as celery_app
from brokercrm.simulators import SimulatorProcess
from platforms.connectors import TradingPlatform, connector_for

from .factories import SIM_SERVERS, start_simulator, trading_server


@pytest.fixture(scope="session")
def shared_sim(tmp_path_factory: pytest.TempPathFactory) -> Iterator[SimulatorProcess]:
    """One simulator process for the tests that do not move the market or kill it."""
    sim = start_simulator(tmp_path_factory.mktemp("trading") / "sim.sqlite3")
    yield sim
    sim.stop()


@pytest.fixture
def fresh_sim(tmp_path: Path) -> Iterator[SimulatorProcess]:
    sim = start_simulator(tmp_path / "sim.sqlite3")
    yield sim
    sim.stop()


@pytest.fixture
def eager_tasks() -> Iterator[None]:
    celery_app.conf.task_always_eager = True
    yield
    celery_app.conf.task_always_eager = False


@dataclass
class Desk:
    """One entity's side of a test: its brand, its server on the simulator and its staff."""

    kind: str
    entity: Any
    brand: Any
    server: Any
    platform: TradingPlatform
    retention: Any
    finance: Any
    groups: dict[str, str]


def make_desk(world: Any, kind: str, url: str) -> Desk:
    # EU clients trade on the MT5-flavoured server, UK clients on the MT4-flavoured one.
    entity, brand = (world.eu, world.eu_brand) if kind == "mt5" else (world.uk, world.uk_brand)
    server = trading_server(entity, kind, url)
    retention = UserFactory(username=f"retention.{entity.code.lower()}")
    grant(retention, "retention", entity=entity)
    finance = UserFactory(username=f"finance.{entity.code.lower()}")
    grant(finance, "finance", entity=entity)
    return Desk(
        kind=kind,
        entity=entity,
        brand=brand,
        server=server,
        platform=connector_for(kind, url, SIM_SERVERS[kind]["server"], timeout=5.0),  # type: ignore[arg-type]
        retention=retention,
        finance=finance,
        groups=SIM_SERVERS[kind],
    )


@pytest.fixture(params=["mt5", "mt4"])
def desk(request: pytest.FixtureRequest, world: Any, shared_sim: SimulatorProcess) -> Desk:
    """Each test runs once per connector: EU on MT5, UK on MT4."""
    return make_desk(world, str(request.param), shared_sim.url)
