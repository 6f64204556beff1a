"""The deals and accounts other apps read in set-based SQL (the IB commission batch), as views
platforms owns: their columns are the contract, the tables behind them stay platforms' own."""

from django.db import migrations

CREATE = """
CREATE VIEW platforms_deal_feed AS
SELECT id, entity_id, server_id, account_id, account_linked_at, position, entry, kind, symbol,
       time, volume, commission
FROM platforms_deal;

CREATE VIEW platforms_account_feed AS
SELECT id, entity_id, server_id, profile_id, currency, account_type, "group"
FROM platforms_tradingaccount;
"""

DROP = """
DROP VIEW IF EXISTS platforms_account_feed;
DROP VIEW IF EXISTS platforms_deal_feed;
"""


class Migration(migrations.Migration):
    dependencies = [("platforms", "0004_deal_linked_late")]

    operations = [migrations.RunSQL(CREATE, DROP)]
