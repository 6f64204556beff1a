"""Rows name servers and accounts of their own entity only, kept by the database.

Each child row carries `entity_id` (EntityOwned) beside its `server_id` / `account_id`; a
composite foreign key onto the parent's unique (id, entity_id) makes "an EU client's account on
the SC server" impossible to store, whatever code path writes it. Django does not model
composite foreign keys, so they are added here in SQL beside the ordinary ones. They are
checked at once (not deferred): a refused row fails the statement that writes it.
"""

from django.db import migrations

# (table, column, parent table)
_KEYS = [
    ("platforms_groupmapping", "server_id", "platforms_tradingserver"),
    ("platforms_tradingaccount", "server_id", "platforms_tradingserver"),
    ("platforms_deal", "server_id", "platforms_tradingserver"),
    ("platforms_tradingevent", "server_id", "platforms_tradingserver"),
    ("platforms_synccursor", "server_id", "platforms_tradingserver"),
    ("platforms_tradingtransfer", "account_id", "platforms_tradingaccount"),
    ("platforms_controlfailure", "account_id", "platforms_tradingaccount"),
]


def _name(table: str, column: str) -> str:
    return f"{table.removeprefix('platforms_')}_{column.removesuffix('_id')}_same_entity"


class Migration(migrations.Migration):
    dependencies = [("platforms", "0001_initial")]

    operations = [
        migrations.RunSQL(
            sql=f"ALTER TABLE {table} ADD CONSTRAINT {_name(table, column)} "
            f"FOREIGN KEY ({column}, entity_id) REFERENCES {parent} (id, entity_id)",
            reverse_sql=f"ALTER TABLE {table} DROP CONSTRAINT {_name(table, column)}",
        )
        for table, column, parent in _KEYS
    ]
