"""The outbox: in-transaction subscribers are atomic with the change, after-commit ones are
delivered at least once, retried, parked when they keep failing, and replayed by staff."""

from __future__ import annotations

from datetime import timedelta

import pytest
import time_machine
from django.db import transaction
from django.utils import timezone

from audit.models import AuditEvent
from brokercrm.errors import PermissionDenied, ValidationFailed
from brokercrm.events import bus
from brokercrm.events.models import Delivery, Event
from brokercrm.events.registry import EventType, subscribe, unsubscribe

THING_DONE = EventType("tests.thing_done", "A test event.")


@pytest.fixture
def handlers():
    """Subscribe test handlers by name; every one is removed again after the test."""
    names = []

    def add(handler, *, name, in_transaction=False, event_type=THING_DONE):
        subscribe(event_type, handler, name=name, in_transaction=in_transaction)
        names.append(name)

    yield add
    for name in names:
        unsubscribe(name)


def test_announce_needs_the_transaction_of_the_change(transactional_db):
    with pytest.raises(RuntimeError, match="inside the transaction"):
        bus.announce(THING_DONE, entity=None)
    assert not Event.objects.exists()


def test_in_transaction_subscribers_reply_and_commit_with_the_change(db, handlers):
    seen = []
    handlers(
        lambda event: seen.append(event.payload) or {"answer": 42},
        name="tests.reply",
        in_transaction=True,
    )
    with transaction.atomic():
        announced = bus.announce(THING_DONE, entity=None, person=7, payload={"n": 1})
    assert (seen, announced.replies) == ([{"n": 1}], {"answer": 42})
    assert (announced.event.person_id, announced.event.type) == (7, "tests.thing_done")
    assert not Delivery.objects.exists()  # nothing is left for a worker


def test_a_failing_in_transaction_subscriber_rolls_the_change_back(transactional_db, handlers):
    def refuse(event):
        raise ValidationFailed("No.", code="refused")

    handlers(refuse, name="tests.refuse", in_transaction=True)

    def change():
        with transaction.atomic():
            bus.announce(THING_DONE, entity=None)

    with pytest.raises(ValidationFailed):
        change()
    assert not Event.objects.exists()


def test_after_commit_subscribers_are_delivered_once_committed(
    db, handlers, django_capture_on_commit_callbacks
):
    delivered = []
    handlers(lambda event: delivered.append(event.pk), name="tests.later")
    with django_capture_on_commit_callbacks() as callbacks, transaction.atomic():
        announced = bus.announce(THING_DONE, entity=None, profile=3)
        assert delivered == []  # not before the commit
    assert len(callbacks) == 1  # the worker is asked once the change commits
    delivery = Delivery.objects.get()
    assert (delivery.subscriber, delivery.status) == ("tests.later", Delivery.Status.PENDING)
    assert bus.deliver_due() == {"delivered": 1, "failed": 0}
    delivery.refresh_from_db()
    assert (delivered, delivery.status, delivery.attempts) == ([announced.event.pk], "done", 1)
    assert bus.deliver_due() == {"delivered": 0, "failed": 0}  # delivered once


def test_a_rolled_back_change_announces_nothing(transactional_db, handlers):
    handlers(lambda event: None, name="tests.later")

    def change_that_fails():
        with transaction.atomic():
            bus.announce(THING_DONE, entity=None)
            raise ZeroDivisionError

    with pytest.raises(ZeroDivisionError):
        change_that_fails()
    assert not Event.objects.exists()
    assert not Delivery.objects.exists()


def test_a_killed_worker_loses_no_event(db, handlers):
    delivered = []
    handlers(lambda event: delivered.append(event.pk), name="tests.later")
    with transaction.atomic():
        bus.announce(THING_DONE, entity=None)
    # A worker claims the delivery and dies before the handler returns.
    claimed = bus._claim(timezone.now())
    assert claimed is not None
    assert bus.deliver_due() == {"delivered": 0, "failed": 0}  # its claim still holds
    with time_machine.travel(timezone.now() + bus.LEASE + timedelta(seconds=1), tick=False):
        assert bus.deliver_due() == {"delivered": 1, "failed": 0}
    delivery = Delivery.objects.get()
    assert (len(delivered), delivery.status, delivery.attempts) == (1, "done", 2)


def test_failures_back_off_then_park_and_staff_replay(db, handlers, django_user_model):
    calls = []

    def flaky(event):
        calls.append(timezone.now())
        if len(calls) <= bus.MAX_ATTEMPTS:
            raise ConnectionError("server down")

    handlers(flaky, name="tests.flaky")
    with transaction.atomic():
        bus.announce(THING_DONE, entity=None)
    start = timezone.now()
    with time_machine.travel(start, tick=False) as clock:
        for attempt in range(1, bus.MAX_ATTEMPTS + 1):
            assert bus.deliver_due() == {"delivered": 0, "failed": 1}
            delivery = Delivery.objects.get()
            assert delivery.attempts == attempt
            assert "ConnectionError: server down" in delivery.last_error
            if attempt < bus.MAX_ATTEMPTS:
                assert delivery.status == Delivery.Status.PENDING
                assert delivery.due_at == timezone.now() + bus._backoff(attempt)
                assert bus.deliver_due() == {"delivered": 0, "failed": 0}  # not before it is due
                clock.move_to(delivery.due_at)
        assert delivery.status == Delivery.Status.PARKED
        clock.shift(timedelta(days=1))
        assert bus.deliver_due() == {"delivered": 0, "failed": 0}  # parked stays parked
    # The backoff grows: 30 s, 60 s, 120 s, … capped at an hour.
    assert [bus._backoff(n).total_seconds() for n in (1, 2, 3, 8, 20)] == [30, 60, 120, 3600, 3600]

    clerk = django_user_model.objects.create_user("clerk", password="x", is_staff=True)
    with pytest.raises(PermissionDenied):
        bus.delivery_replay(actor=clerk, delivery=delivery, reason="fixed")
    admin = django_user_model.objects.create_superuser("ops", password="x")
    with pytest.raises(ValidationFailed) as refused:
        bus.delivery_replay(actor=admin, delivery=delivery, reason=" ")
    assert refused.value.code == "reason_required"
    bus.delivery_replay(actor=admin, delivery=delivery, reason="server is back")
    assert bus.deliver_due() == {"delivered": 1, "failed": 0}
    delivery.refresh_from_db()
    assert delivery.status == Delivery.Status.DONE
    replayed = AuditEvent.objects.get(action="events.delivery_replayed")
    assert (replayed.actor_id, replayed.reason) == (admin.pk, "server is back")
    with pytest.raises(ValidationFailed) as again:
        bus.delivery_replay(actor=admin, delivery=delivery, reason="again")
    assert again.value.code == "delivery_not_parked"


def test_a_delivery_to_a_subscriber_no_longer_registered_fails_visibly(db, handlers):
    handlers(lambda event: None, name="tests.gone")
    with transaction.atomic():
        bus.announce(THING_DONE, entity=None)
    unsubscribe("tests.gone")
    assert bus.deliver_due() == {"delivered": 0, "failed": 1}
    assert "No subscriber 'tests.gone'" in Delivery.objects.get().last_error


def test_the_same_name_cannot_subscribe_twice_differently(handlers):
    handlers(lambda event: None, name="tests.once")
    handlers(lambda event: None, name="tests.once")  # ready() running twice is harmless
    with pytest.raises(ValueError, match="already subscribed"):
        subscribe(THING_DONE, lambda event: None, name="tests.once", in_transaction=True)
