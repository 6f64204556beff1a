"""The ledger's invariants, kept by PostgreSQL itself.

- Posting: its account and its journal belong to the posting's entity, and its currency is the
  account's; inserting it moves the account's balance (so a balance is always the sum of its
  postings, and the wallet CHECK refuses an overdraft in the same statement).
- A journal's postings sum to zero per currency, and a journal has at least two postings: a
  deferred constraint trigger on the journal, checked once per journal at commit, and a check
  at the end of every posting INSERT statement for the journals it touched.
- Postings and journal entries are never updated or deleted. TRUNCATE is refused unless the
  session sets brokercrm.allow_ledger_truncate = 'on' (the test suite does, nothing else).
"""

from django.db import migrations

FORWARD = """
CREATE OR REPLACE FUNCTION wallets_posting_before_insert() RETURNS trigger
LANGUAGE plpgsql AS $$
DECLARE
    account_entity bigint;
    account_currency varchar(3);
    journal_entity bigint;
BEGIN
    SELECT entity_id, currency INTO account_entity, account_currency
      FROM wallets_ledgeraccount WHERE id = NEW.account_id;
    SELECT entity_id INTO journal_entity FROM wallets_journalentry WHERE id = NEW.journal_id;
    IF account_entity IS DISTINCT FROM NEW.entity_id OR journal_entity IS DISTINCT FROM NEW.entity_id THEN
        RAISE EXCEPTION 'ledger: posting entity %, account entity %, journal entity % differ',
            NEW.entity_id, account_entity, journal_entity USING ERRCODE = 'check_violation';
    END IF;
    IF account_currency IS DISTINCT FROM NEW.currency THEN
        RAISE EXCEPTION 'ledger: posting currency % on a % account', NEW.currency, account_currency
            USING ERRCODE = 'check_violation';
    END IF;
    UPDATE wallets_ledgeraccount SET balance = balance + NEW.amount WHERE id = NEW.account_id;
    RETURN NEW;
END
$$;

CREATE TRIGGER wallets_posting_apply
    BEFORE INSERT ON wallets_posting
    FOR EACH ROW EXECUTE FUNCTION wallets_posting_before_insert();

-- A journal balances per currency and has at least two postings. Checked at commit, once per
-- journal (a deferred constraint trigger on the journal row), so a journal and its postings
-- can be written in any order inside one transaction.
CREATE OR REPLACE FUNCTION wallets_journal_check_balanced() RETURNS trigger
LANGUAGE plpgsql AS $$
DECLARE
    unbalanced record;
    legs integer;
BEGIN
    SELECT count(*) INTO legs FROM wallets_posting WHERE journal_id = NEW.id;
    IF legs < 2 THEN
        RAISE EXCEPTION 'ledger: journal % has % posting(s); a journal needs at least two', NEW.id, legs
            USING ERRCODE = 'check_violation';
    END IF;
    SELECT currency, sum(amount) AS total INTO unbalanced
      FROM wallets_posting WHERE journal_id = NEW.id
      GROUP BY currency HAVING sum(amount) <> 0 LIMIT 1;
    IF FOUND THEN
        RAISE EXCEPTION 'ledger: journal % does not balance in %: %', NEW.id, unbalanced.currency,
            unbalanced.total USING ERRCODE = 'check_violation';
    END IF;
    RETURN NULL;
END
$$;

CREATE CONSTRAINT TRIGGER wallets_journal_balanced
    AFTER INSERT ON wallets_journalentry
    DEFERRABLE INITIALLY DEFERRED
    FOR EACH ROW EXECUTE FUNCTION wallets_journal_check_balanced();

-- And at the end of every INSERT statement, for each journal it touched: a journal's postings
-- are written in one statement (the services do), so no statement may leave one unbalanced,
-- and postings cannot be slipped into an old journal.
CREATE OR REPLACE FUNCTION wallets_postings_check_journals() RETURNS trigger
LANGUAGE plpgsql AS $$
DECLARE
    unbalanced record;
BEGIN
    SELECT p.journal_id, p.currency, sum(p.amount) AS total INTO unbalanced
      FROM wallets_posting p
     WHERE p.journal_id IN (SELECT DISTINCT journal_id FROM inserted)
     GROUP BY p.journal_id, p.currency HAVING sum(p.amount) <> 0 LIMIT 1;
    IF FOUND THEN
        RAISE EXCEPTION 'ledger: journal % would not balance in %: %', unbalanced.journal_id,
            unbalanced.currency, unbalanced.total USING ERRCODE = 'check_violation';
    END IF;
    RETURN NULL;
END
$$;

CREATE TRIGGER wallets_postings_keep_journals_balanced
    AFTER INSERT ON wallets_posting
    REFERENCING NEW TABLE AS inserted
    FOR EACH STATEMENT EXECUTE FUNCTION wallets_postings_check_journals();

CREATE OR REPLACE FUNCTION wallets_refuse_change() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
    IF TG_OP = 'TRUNCATE' AND current_setting('brokercrm.allow_ledger_truncate', true) = 'on' THEN
        RETURN NULL;
    END IF;
    RAISE EXCEPTION 'the ledger is append-only: % refused on %; post a reversing entry instead',
        TG_OP, TG_TABLE_NAME USING ERRCODE = 'insufficient_privilege';
END
$$;

CREATE TRIGGER wallets_posting_append_only
    BEFORE UPDATE OR DELETE ON wallets_posting
    FOR EACH ROW EXECUTE FUNCTION wallets_refuse_change();
CREATE TRIGGER wallets_posting_no_truncate
    BEFORE TRUNCATE ON wallets_posting
    FOR EACH STATEMENT EXECUTE FUNCTION wallets_refuse_change();
CREATE TRIGGER wallets_journal_append_only
    BEFORE UPDATE OR DELETE ON wallets_journalentry
    FOR EACH ROW EXECUTE FUNCTION wallets_refuse_change();
CREATE TRIGGER wallets_journal_no_truncate
    BEFORE TRUNCATE ON wallets_journalentry
    FOR EACH STATEMENT EXECUTE FUNCTION wallets_refuse_change();
"""

BACKWARD = """
DROP TRIGGER IF EXISTS wallets_journal_no_truncate ON wallets_journalentry;
DROP TRIGGER IF EXISTS wallets_journal_append_only ON wallets_journalentry;
DROP TRIGGER IF EXISTS wallets_posting_no_truncate ON wallets_posting;
DROP TRIGGER IF EXISTS wallets_posting_append_only ON wallets_posting;
DROP FUNCTION IF EXISTS wallets_refuse_change();
DROP TRIGGER IF EXISTS wallets_postings_keep_journals_balanced ON wallets_posting;
DROP FUNCTION IF EXISTS wallets_postings_check_journals();
DROP TRIGGER IF EXISTS wallets_journal_balanced ON wallets_journalentry;
DROP FUNCTION IF EXISTS wallets_journal_check_balanced();
DROP TRIGGER IF EXISTS wallets_posting_apply ON wallets_posting;
DROP FUNCTION IF EXISTS wallets_posting_before_insert();
"""


class Migration(migrations.Migration):
    dependencies = [("wallets", "0001_initial")]
    operations = [migrations.RunSQL(FORWARD, BACKWARD)]
