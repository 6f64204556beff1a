"""Staff find a parked event delivery in the back office and send it again."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.db import transaction
from django.utils import timezone

from audit.models import AuditEvent
from brokercrm.events import bus
from brokercrm.events.models import Delivery
from brokercrm.events.registry import EventType, subscribe, unsubscribe

from .conftest import staff_sign_in

WALLETS_OPENED = EventType("tests.browser_wallets_opened", "A browser test's event.")


@pytest.fixture
def broken_then_fixed_subscriber():
    state = {"down": True, "calls": 0}

    def handler(event):
        state["calls"] += 1
        if state["down"]:
            raise ConnectionError("trading server unreachable")

    subscribe(WALLETS_OPENED, handler, name="tests.browser_subscriber")
    yield state
    unsubscribe("tests.browser_subscriber")


@pytest.mark.django_db(transaction=True)
def test_operator_replays_a_parked_delivery(
    page, live_server, django_user_model, broken_then_fixed_subscriber, settings
):
    settings.CELERY_TASK_ALWAYS_EAGER = False  # the sweep delivers, as in production
    with transaction.atomic():
        bus.announce(WALLETS_OPENED, entity=None, payload={"profile": 1})
    delivery = Delivery.objects.get()
    for _ in range(bus.MAX_ATTEMPTS):
        Delivery.objects.filter(pk=delivery.pk).update(due_at=timezone.now() - timedelta(1))
        bus.deliver_due()
    delivery.refresh_from_db()
    assert delivery.status == Delivery.Status.PARKED
    django_user_model.objects.create_superuser("ops", password="ops-password-1")

    staff_sign_in(page, live_server.url, "ops", "ops-password-1")
    page.goto(f"{live_server.url}/admin/events/delivery/?status__exact=parked")
    row = page.locator("#result_list tbody tr", has_text="tests.browser_subscriber")
    assert row.count() == 1
    assert "trading server unreachable" in row.inner_text()
    row.locator("input[type=checkbox]").check()
    page.select_option("select[name=action]", "replay")
    page.click("button[name=index], button[type=submit][name=index]")
    page.wait_for_load_state()
    assert "1 deliveries sent again." in page.content()

    broken_then_fixed_subscriber["down"] = False
    assert bus.deliver_due() == {"delivered": 1, "failed": 0}
    delivery.refresh_from_db()
    assert delivery.status == Delivery.Status.DONE
    replayed = AuditEvent.objects.get(action="events.delivery_replayed")
    assert replayed.reason == "replayed from the admin by ops"
