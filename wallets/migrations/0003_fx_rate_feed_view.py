"""The published FX rates other apps read in set-based SQL (the IB commission batch), as a view
wallets owns."""

from django.db import migrations

CREATE = """
CREATE VIEW wallets_fxrate_feed AS
SELECT base, quote, rate, as_of
FROM wallets_fxrate;
"""

DROP = "DROP VIEW IF EXISTS wallets_fxrate_feed;"


class Migration(migrations.Migration):
    dependencies = [("wallets", "0002_ledger_rules")]

    operations = [migrations.RunSQL(CREATE, DROP)]
