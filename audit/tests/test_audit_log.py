from __future__ import annotations

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError
from django.db import DatabaseError, connection, transaction

from audit.chain import GENESIS_HASH
from audit.models import AuditEvent
from audit.selectors import audit_chain_verify
from audit.services import audit_record
from brokercrm import context


@pytest.fixture
def chain(db):
    with context.bound(context.RequestContext(request_id="req-000000001", ip="203.0.113.7")):
        return [
            audit_record(actor=None, action=f"test.step{i}", after={"step": i}, reason=f"step {i}")
            for i in range(1, 6)
        ]


def _tamper(sql: str, params: list | None = None) -> None:
    """Change the table behind the triggers' back, as someone with owner rights could."""
    with connection.cursor() as cursor:
        cursor.execute("SET CONSTRAINTS ALL IMMEDIATE")
        cursor.execute("ALTER TABLE audit_auditevent DISABLE TRIGGER USER")
        cursor.execute(sql, params or [])
        cursor.execute("ALTER TABLE audit_auditevent ENABLE TRIGGER USER")


def test_rows_are_chained_from_genesis(chain):
    assert [event.seq for event in chain] == [1, 2, 3, 4, 5]
    assert chain[0].prev_hash == GENESIS_HASH
    assert all(chain[i].prev_hash == chain[i - 1].hash for i in range(1, 5))
    assert chain[0].request_id == "req-000000001"
    assert chain[0].ip == "203.0.113.7"
    assert chain[0].actor_label == "system"
    report = audit_chain_verify()
    assert report.ok
    assert (report.rows_checked, report.head_seq, report.head_hash) == (5, 5, chain[-1].hash)


@pytest.mark.parametrize(
    "statement",
    [
        "UPDATE audit_auditevent SET reason = 'edited' WHERE seq = 2",
        "DELETE FROM audit_auditevent WHERE seq = 2",
        "TRUNCATE audit_auditevent",
    ],
)
def test_database_refuses_changes(chain, statement):
    with connection.cursor() as cursor:
        cursor.execute("SET LOCAL brokercrm.allow_audit_truncate = 'off'")
        # Fire the deferred foreign-key checks now, or TRUNCATE refuses for that reason instead.
        cursor.execute("SET CONSTRAINTS ALL IMMEDIATE")
    with (
        pytest.raises(DatabaseError, match="append-only"),
        transaction.atomic(),
        connection.cursor() as cursor,
    ):
        cursor.execute(statement)
    assert list(AuditEvent.objects.order_by("seq").values_list("reason", flat=True)) == [
        f"step {i}" for i in range(1, 6)
    ]


def test_orm_update_and_delete_are_refused_too(chain):
    with pytest.raises(DatabaseError), transaction.atomic():
        AuditEvent.objects.filter(seq=1).update(action="nothing happened")
    with pytest.raises(DatabaseError), transaction.atomic():
        chain[0].delete()
    assert AuditEvent.objects.get(seq=1).action == "test.step1"


def test_verify_detects_an_edited_row(chain):
    _tamper("UPDATE audit_auditevent SET after = '{\"step\": 99}' WHERE seq = 3")
    report = audit_chain_verify()
    assert report.first_break.seq == 3
    assert "content altered" in report.first_break.problem
    assert report.head_seq == 2


def test_verify_detects_a_deleted_row(chain):
    _tamper("DELETE FROM audit_auditevent WHERE seq = 3")
    report = audit_chain_verify()
    assert report.first_break.seq == 4
    assert "missing" in report.first_break.problem


def test_verify_detects_reordered_rows(chain):
    # Swap the positions of rows 2 and 3, keeping each row's own content and hash.
    _tamper("UPDATE audit_auditevent SET seq = -2 WHERE seq = 2")
    _tamper("UPDATE audit_auditevent SET seq = 2 WHERE seq = 3")
    _tamper("UPDATE audit_auditevent SET seq = 3 WHERE seq = -2")
    report = audit_chain_verify()
    assert report.first_break.seq == 2
    assert "link broken" in report.first_break.problem


def test_verify_detects_a_rehashed_edit(chain):
    # Editing a row and fixing its own hash still breaks the next row's link.
    import hashlib

    _tamper(
        "UPDATE audit_auditevent SET reason = 'forged', hash = %s WHERE seq = 2",
        [hashlib.sha256(b"forged").hexdigest()],
    )
    report = audit_chain_verify()
    assert report.first_break.seq == 2


def test_audit_verify_command(chain, capsys):
    call_command("audit_verify")
    assert "audit chain intact: 5 rows" in capsys.readouterr().out
    _tamper("DELETE FROM audit_auditevent WHERE seq = 5")
    call_command("audit_verify")  # the tail alone: still a consistent chain of 4
    _tamper("DELETE FROM audit_auditevent WHERE seq = 1")
    with pytest.raises(CommandError, match="broken at seq 2"):
        call_command("audit_verify")


def test_personal_data_is_masked(db):
    event = audit_record(
        actor=None,
        action="test.masking",
        before={
            "email": "jane.doe@example.com",
            "passport_number": "X1234567",
            "password": "hunter22",
        },
        after={"email": "jane@example.org", "name": "Jane", "nested": {"phone": "+35799123456"}},
    )
    event.refresh_from_db()
    assert event.before == {
        "email": "j•••@example.com",
        "passport_number": "••••••67",
        "password": "[redacted]",
    }
    assert event.after == {
        "email": "j•••@example.org",
        "name": "Jane",
        "nested": {"phone": "••••••••••56"},
    }
    assert audit_chain_verify().ok


def test_values_survive_the_jsonb_round_trip(db):
    from decimal import Decimal

    audit_record(
        actor=None,
        action="test.types",
        after={"amount": Decimal("10.50"), "ratio": 0.1, "n": 10**15, "nul": "a\x00b"},
    )
    assert audit_chain_verify().ok


def test_verify_task_reports(chain):
    from audit.tasks import audit_verify_chain

    assert audit_verify_chain.apply().get() == {"ok": True, "rows": 5, "head_seq": 5}


@pytest.mark.django_db(transaction=True)
def test_concurrent_writers_keep_one_unbroken_chain():
    import threading

    from django.db import connections

    errors: list[BaseException] = []
    start = threading.Barrier(6)

    def writer(n: int) -> None:
        try:
            start.wait()
            for i in range(10):
                with transaction.atomic():
                    audit_record(actor=None, action="test.concurrent", after={"writer": n, "i": i})
        except BaseException as exc:  # collected and re-raised in the test thread
            errors.append(exc)
        finally:
            connections.close_all()

    threads = [threading.Thread(target=writer, args=(n,)) for n in range(6)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert errors == []
    report = audit_chain_verify()
    assert report.ok
    assert report.rows_checked == 60
    assert list(AuditEvent.objects.order_by("seq").values_list("seq", flat=True)) == list(
        range(1, 61)
    )
