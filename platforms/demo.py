"""Demo trading configuration: the EU entity's MT5 server and the offshore (SC) entity's MT4
server, both on the simulator that `make demo` runs, with their group mappings. Called by
`manage.py seed_demo`; adds only what is missing."""

from __future__ import annotations

from typing import Any

from django.conf import settings

from audit.services import audit_record

from .models import GroupMapping, TradingServer

# entity code → (server name, kind, shown as, [(account type, currency, group)])
DEMO_SERVERS: dict[str, tuple[str, str, str, list[tuple[str, str, str]]]] = {
    "EU": (
        "EU-MT5-Live",
        "mt5",
        "EU live (MT5)",
        [
            ("standard", "EUR", "real\\eu\\std-eur"),
            ("standard", "USD", "real\\eu\\std-usd"),
            ("pro", "USD", "real\\eu\\pro-usd"),
            ("demo", "USD", "demo\\eu\\std-usd"),
        ],
    ),
    "SC": (
        "SC-MT4-Live",
        "mt4",
        "Offshore live (MT4)",
        [
            ("standard", "USD", "sc-std-usd"),
            ("standard", "EUR", "sc-std-eur"),
            ("pro", "USD", "sc-pro-usd"),
            ("demo", "USD", "demo-usd"),
        ],
    ),
}


def demo_trading_servers(entities: dict[str, Any], *, base_url: str | None = None) -> None:
    """Inside the caller's transaction; every row it adds is audited."""
    base_url = base_url or settings.TRADING_SIMULATOR_URL
    for code, (server_name, kind, name, mappings) in DEMO_SERVERS.items():
        entity = entities.get(code)
        if entity is None:
            continue
        server = TradingServer.objects.in_entity(entity).filter(server_name=server_name).first()
        if server is None:
            server = TradingServer.objects.create(
                entity=entity, name=name, kind=kind, base_url=base_url, server_name=server_name
            )
            _audit(server, {"server": server_name, "kind": kind, "base_url": base_url})
        for account_type, currency, group in mappings:
            exists = (
                GroupMapping.objects.in_entity(entity)
                .filter(server=server, account_type=account_type, currency=currency)
                .exists()
            )
            if not exists:
                mapping = GroupMapping.objects.create(
                    entity=entity,
                    server=server,
                    account_type=account_type,
                    currency=currency,
                    group=group,
                )
                _audit(
                    mapping, {"account_type": account_type, "currency": currency, "group": group}
                )


def _audit(obj: Any, after: dict[str, Any]) -> None:
    audit_record(
        actor=None,
        actor_label="system:seed_demo",
        action=f"platforms.{obj._meta.model_name}_created",
        entity=obj.entity_id,
        obj=obj,
        after=after,
        reason="demo data",
    )
