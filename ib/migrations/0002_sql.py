from django.db import migrations

ROUND_HALF_EVEN = """
CREATE OR REPLACE FUNCTION ib_round_half_even(x numeric, s integer) RETURNS numeric
LANGUAGE sql IMMUTABLE PARALLEL SAFE AS $$
  SELECT CASE
    WHEN abs(x * power(10::numeric, s) - trunc(x * power(10::numeric, s))) = 0.5
    THEN round((trunc(x * power(10::numeric, s))
               + CASE WHEN mod(trunc(x * power(10::numeric, s)), 2) = 0 THEN 0 ELSE sign(x) END)
              / power(10::numeric, s), s)
    ELSE round(x, s)
  END
$$;
"""


class Migration(migrations.Migration):
    dependencies = [("ib", "0001_initial"), ("platforms", "0002_same_entity_keys")]

    operations = [
        migrations.RunSQL(
            ROUND_HALF_EVEN, "DROP FUNCTION IF EXISTS ib_round_half_even(numeric, integer);"
        ),
        # Room on each page so that marking lines paid is a HOT update (no index touched).
        migrations.RunSQL(
            "ALTER TABLE ib_commissionline SET (fillfactor = 60);",
            "ALTER TABLE ib_commissionline RESET (fillfactor);",
        ),
        # The batch looks up a closing deal's opening leg by position.
        migrations.RunSQL(
            "CREATE INDEX IF NOT EXISTS ib_deal_open_leg ON platforms_deal "
            "(server_id, position, time) WHERE entry = 'in';",
            "DROP INDEX IF EXISTS ib_deal_open_leg;",
        ),
    ]
