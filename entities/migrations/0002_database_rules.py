"""Rules the database keeps on entity configuration.

- A legal entity's base currency is one of its wallet currencies.
- A published rule set is never updated or deleted: decisions cite it by id and version.
"""

from django.db import migrations

FORWARD = """
ALTER TABLE entities_legalentity
    ADD CONSTRAINT legalentity_base_currency_in_wallets
    CHECK (base_currency = ANY (wallet_currencies));

CREATE OR REPLACE FUNCTION entities_ruleset_refuse_change() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
    RAISE EXCEPTION 'rule sets are immutable: publish a new version instead (% refused)', TG_OP
        USING ERRCODE = 'insufficient_privilege';
END
$$;

CREATE TRIGGER entities_ruleset_immutable
    BEFORE UPDATE OR DELETE ON entities_ruleset
    FOR EACH ROW EXECUTE FUNCTION entities_ruleset_refuse_change();
"""

BACKWARD = """
DROP TRIGGER IF EXISTS entities_ruleset_immutable ON entities_ruleset;
DROP FUNCTION IF EXISTS entities_ruleset_refuse_change();
ALTER TABLE entities_legalentity DROP CONSTRAINT IF EXISTS legalentity_base_currency_in_wallets;
"""


class Migration(migrations.Migration):
    dependencies = [("entities", "0001_initial")]
    operations = [migrations.RunSQL(FORWARD, BACKWARD)]
