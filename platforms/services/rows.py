"""Row mapping of the sync: the account fields a server reports, how a server row compares
with the CRM's, and the one-statement write of the changed rows."""

from __future__ import annotations

from typing import Any

from django.db import connection

from platforms.connectors import PlatformAccount
from platforms.models import TradingAccount

ACCOUNT_FIELDS = (
    "group",
    "leverage",
    "server_rights",
    "balance",
    "credit",
    "equity",
    "margin",
    "free_margin",
    "margin_level",
)


def _remote_row(remote: PlatformAccount) -> tuple[Any, ...]:
    return (
        remote.group,
        remote.leverage,
        remote.rights,
        remote.balance,
        remote.credit,
        remote.equity,
        remote.margin,
        remote.free_margin,
        remote.margin_level,
    )


_SQL_TYPES = {
    "group": "varchar",
    "leverage": "integer",
    "server_rights": "varchar",
    "margin_level": "numeric",
    "synced_at": "timestamptz",
}
_WRITTEN = (*ACCOUNT_FIELDS, "synced_at")
_ROWS_PER_STATEMENT = 2_000  # 11 parameters a row, under PostgreSQL's 65,535


def accounts_bulk_update(rows: list[TradingAccount]) -> None:
    """Write the sync fields of the changed rows: one `UPDATE … FROM (VALUES …)` per 2,000.

    Django's `bulk_update` builds a `CASE WHEN id = … THEN …` per field and row: about 1.5 ms
    of Python per row here (10,000 changed accounts would take 15 s) and a CASE that the
    database walks for every row it updates. A join on a VALUES list costs neither."""
    columns = ", ".join(f'"{name}" = v."{name}"' for name in _WRITTEN)
    names = ", ".join(f'"{name}"' for name in _WRITTEN)
    row_sql = (
        "(%s::bigint, "
        + ", ".join(f"%s::{_SQL_TYPES.get(name, 'numeric')}" for name in _WRITTEN)
        + ")"
    )
    table = TradingAccount._meta.db_table
    with connection.cursor() as cursor:
        for start in range(0, len(rows), _ROWS_PER_STATEMENT):
            chunk = rows[start : start + _ROWS_PER_STATEMENT]
            params: list[Any] = []
            for row in chunk:
                params.append(row.pk)
                params.extend(getattr(row, name) for name in _WRITTEN)
            cursor.execute(
                f'UPDATE {table} AS a SET {columns}, "updated_at" = v."synced_at" '
                f"FROM (VALUES {', '.join([row_sql] * len(chunk))}) AS v (id, {names}) "
                "WHERE a.id = v.id",
                params,
            )
