"""A route, an attempt, a payout leg or a webhook can only name a merchant account (and a rule,
a deposit, a withdrawal) of its own entity: refused by the database, whatever the code does."""

from django.db import migrations

CHECKS = {
    # table: [(referenced table, column), ...]
    "payments_routingtarget": [
        ("payments_routingrule", "rule_id"),
        ("payments_merchantaccount", "merchant_account_id"),
    ],
    "payments_depositattempt": [
        ("payments_deposit", "deposit_id"),
        ("payments_merchantaccount", "merchant_account_id"),
    ],
    "payments_withdrawalleg": [
        ("payments_withdrawal", "withdrawal_id"),
        ("payments_merchantaccount", "merchant_account_id"),
        ("payments_deposit", "source_deposit_id"),
        ("payments_bankaccount", "bank_account_id"),
    ],
    "payments_webhookevent": [("payments_merchantaccount", "merchant_account_id")],
    "payments_reconciliationrun": [("payments_merchantaccount", "merchant_account_id")],
    "payments_deposit": [("wallets_ledgeraccount", "wallet_id")],
    "payments_withdrawal": [("wallets_ledgeraccount", "wallet_id")],
}

FUNCTION = """
CREATE OR REPLACE FUNCTION payments_same_entity() RETURNS trigger
LANGUAGE plpgsql AS $$
DECLARE
    i integer := 0;
    ref_id bigint;
    ref_entity bigint;
BEGIN
    WHILE i < TG_NARGS LOOP
        ref_id := (to_jsonb(NEW) ->> TG_ARGV[i + 1])::bigint;
        IF ref_id IS NOT NULL THEN
            EXECUTE format('SELECT entity_id FROM %I WHERE id = $1', TG_ARGV[i])
               INTO ref_entity USING ref_id;
            IF ref_entity IS DISTINCT FROM NEW.entity_id THEN
                RAISE EXCEPTION 'payments: %.% belongs to entity %, the row to entity %',
                    TG_TABLE_NAME, TG_ARGV[i + 1], ref_entity, NEW.entity_id
                    USING ERRCODE = 'check_violation', CONSTRAINT = 'payments_same_entity';
            END IF;
        END IF;
        i := i + 2;
    END LOOP;
    RETURN NEW;
END
$$;
"""


def forward_sql() -> str:
    parts = [FUNCTION]
    for table, refs in CHECKS.items():
        args = ", ".join(f"'{ref_table}', '{column}'" for ref_table, column in refs)
        parts.append(
            f"CREATE TRIGGER {table}_same_entity BEFORE INSERT OR UPDATE ON {table} "
            f"FOR EACH ROW EXECUTE FUNCTION payments_same_entity({args});"
        )
    return "\n".join(parts)


def backward_sql() -> str:
    parts = [f"DROP TRIGGER IF EXISTS {table}_same_entity ON {table};" for table in CHECKS]
    parts.append("DROP FUNCTION IF EXISTS payments_same_entity();")
    return "\n".join(parts)


class Migration(migrations.Migration):
    dependencies = [("payments", "0001_initial")]

    operations = [migrations.RunSQL(forward_sql(), backward_sql())]
