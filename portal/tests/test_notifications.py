"""My notifications in the portal: newest first with the unread ones marked, reading one or
all, the unread count in the menu; another client's notification is not found."""

from __future__ import annotations

import datetime as dt

import pytest
import time_machine

from brokercrm.notifications.selectors import client_notifications
from brokercrm.notifications.tests.helpers import told
from identity.tests.factories import register
from kyc import events as kyc_events
from payments import events as payment_events
from portal.tests.pages import another_client
from portal.tests.test_profile import ivan, signed_in_browser

pytestmark = pytest.mark.django_db


@pytest.fixture
def eu_client(portal_world):
    return ivan(portal_world)


NOTIFICATIONS = "/b/eu-brand/client/notifications/"
T0 = dt.datetime(2026, 3, 2, 9, 0, tzinfo=dt.UTC)
DEPOSIT = {"amount": "100", "currency": "EUR", "wallet_currency": "EUR", "credited_amount": "100"}


def rows(profile):
    return list(client_notifications(entity_id=profile.entity_id, profile_id=profile.pk))


def unread(profile) -> int:
    return sum(1 for row in rows(profile) if row.read_at is None)


@pytest.fixture
def told_things(portal_world, eu_client):
    """Ivan is told two things in order; Olga (same entity) and a UK client one each."""
    olga = another_client(portal_world.eu_brand)
    foreign = register(
        portal_world.uk_brand,
        given_name="Tom",
        family_name="Smith",
        birth_date="1980-03-04",
        residence_country="GB",
        nationality="GB",
        email="tom.smith@example.com",
        phone="+44 7911 123456",
        document=None,
        ip="203.0.113.50",
        device_fingerprint="dev-tom-0001",
    ).profile
    with time_machine.travel(T0, tick=False):
        for profile in (eu_client, olga, foreign):
            told(kyc_events.KYC_APPROVED, profile)
    with time_machine.travel(T0 + dt.timedelta(hours=1), tick=False):
        told(payment_events.DEPOSIT_CREDITED, eu_client, DEPOSIT)
    return olga, foreign


def test_my_notifications_newest_first_with_unread_marked(portal_world, eu_client, told_things):
    deposit, approved = rows(eu_client)
    assert (deposit.kind, approved.kind) == ("deposit_credited", "kyc_approved")
    response = signed_in_browser().get(NOTIFICATIONS)
    assert response.status_code == 200
    text = response.content.decode()
    assert text.index("Your deposit has arrived") < text.index("Your account is verified")
    assert text.count('class="card notification unread"') == 2
    assert "2 unread notifications." in text
    assert 'Notifications <span class="badge">2</span>' in text
    for row in (deposit, approved):
        assert f'action="/b/eu-brand/client/notifications/{row.pk}/read/"' in text
    olga_row = rows(told_things[0])[0]
    assert f"/notifications/{olga_row.pk}/read/" not in text


def test_reading_one_marks_it_and_lowers_the_badge(portal_world, eu_client, told_things):
    browser = signed_in_browser()
    _deposit, approved = rows(eu_client)
    response = browser.post(
        f"{NOTIFICATIONS}{approved.pk}/read/", {"next": "/b/eu-brand/client/notifications/"}
    )
    assert (response.status_code, response["Location"]) == (302, NOTIFICATIONS)
    assert [row.read_at is not None for row in rows(eu_client)] == [False, True]
    first_read = rows(eu_client)[1].read_at
    browser.post(f"{NOTIFICATIONS}{approved.pk}/read/")  # again: the first time stays
    assert rows(eu_client)[1].read_at == first_read
    text = browser.get(NOTIFICATIONS).content.decode()
    assert "One unread notification." in text
    assert 'Notifications <span class="badge">1</span>' in text
    assert text.count('class="card notification unread"') == 1


def test_read_all_marks_mine_only(portal_world, eu_client, told_things):
    olga, foreign = told_things
    browser = signed_in_browser()
    response = browser.post(f"{NOTIFICATIONS}read-all/")
    assert (response.status_code, response["Location"]) == (302, NOTIFICATIONS)
    text = browser.get(NOTIFICATIONS).content.decode()
    assert "2 notifications marked read." in text
    assert "0 unread notifications." in text
    assert 'class="badge"' not in text
    assert (unread(eu_client), unread(olga), unread(foreign)) == (0, 1, 1)


def test_another_clients_notification_is_not_found(portal_world, eu_client, told_things):
    browser = signed_in_browser()
    for other in told_things:
        theirs = rows(other)[0]
        assert browser.post(f"{NOTIFICATIONS}{theirs.pk}/read/").status_code == 404
        assert unread(other) == 1
    assert browser.post(f"{NOTIFICATIONS}999999999/read/").status_code == 404
    assert browser.get(f"{NOTIFICATIONS}{rows(eu_client)[0].pk}/read/").status_code == 405
    assert unread(eu_client) == 2


def test_no_notification_yet(portal_world, eu_client):
    text = signed_in_browser().get(NOTIFICATIONS).content.decode()
    assert "You have no notifications yet." in text
    assert "Mark all as read" not in text
