"""The client's notifications through the API: own only, newest first, read one or all."""

from __future__ import annotations

import datetime as dt

import pytest
import time_machine
from django.test import Client
from rest_framework.test import APIClient

from brokercrm.notifications.models import Notification
from kyc import events as kyc_events
from payments import events as payment_events

from .helpers import client, logged_in, told

URL = "/api/v1/me/notifications"
T0 = dt.datetime(2026, 3, 2, 9, 0, tzinfo=dt.UTC)


@pytest.fixture
def clients(world):
    """Two clients of the EU entity and one of the UK entity, each told things in order."""
    mine, neighbour = client(world.eu_brand), client(world.eu_brand, language="es")
    foreign = client(world.uk_brand)
    with time_machine.travel(T0, tick=False):
        told(kyc_events.KYC_APPROVED, mine)
        told(kyc_events.KYC_APPROVED, neighbour)
        told(kyc_events.KYC_APPROVED, foreign)
    with time_machine.travel(T0 + dt.timedelta(hours=1), tick=False):
        told(
            payment_events.DEPOSIT_CREDITED,
            mine,
            {
                "amount": "100",
                "currency": "EUR",
                "wallet_currency": "EUR",
                "credited_amount": "100",
            },
        )
    return mine, neighbour, foreign


def of(profile):
    return Notification.objects.unscoped().filter(profile_id=profile.pk).order_by("pk")


def test_the_list_is_mine_newest_first_with_the_unread_count(clients):
    mine, _, _ = clients
    approved, deposit = of(mine)
    response = logged_in(mine).get(URL)
    assert response.status_code == 200
    assert response.json() == {
        "count": 2,
        "next": None,
        "previous": None,
        "results": [
            {
                "id": deposit.pk,
                "kind": "deposit_credited",
                "event_type": "payments.deposit_credited",
                "title": "Your deposit has arrived",
                "body": "We have credited 100.00 EUR to your wallet.",
                "language": "en",
                "created_at": "2026-03-02T10:00:00Z",
                "read": False,
                "read_at": None,
            },
            {
                "id": approved.pk,
                "kind": "kyc_approved",
                "event_type": "kyc.kyc_approved",
                "title": "Your account is verified",
                "body": approved.body,
                "language": "en",
                "created_at": "2026-03-02T09:00:00Z",
                "read": False,
                "read_at": None,
            },
        ],
        "unread": 2,
    }


def test_pages_and_the_unread_filter(clients):
    mine, _, _ = clients
    api = logged_in(mine)
    first = api.get(URL, {"page_size": 1}).json()
    assert (first["count"], len(first["results"]), first["unread"]) == (2, 1, 2)
    assert first["results"][0]["kind"] == "deposit_credited"
    assert first["next"].endswith("page=2&page_size=1")
    second = api.get(URL, {"page_size": 1, "page": 2}).json()
    assert second["results"][0]["kind"] == "kyc_approved"
    approved = of(mine).first()
    with time_machine.travel(T0 + dt.timedelta(hours=2), tick=False):
        api.post(f"{URL}/{approved.pk}/read")
    assert [n["kind"] for n in api.get(URL, {"unread": "true"}).json()["results"]] == [
        "deposit_credited"
    ]
    assert [n["kind"] for n in api.get(URL, {"unread": "false"}).json()["results"]] == [
        "kyc_approved"
    ]


@pytest.mark.parametrize(
    ("params", "status", "code"),
    [
        ({"unread": "maybe"}, 400, "unread_invalid"),
        ({"page": 99}, 404, "not_found"),
        ({"page": "x"}, 404, "not_found"),
        ({"page_size": "lots"}, 200, None),
    ],
)
def test_bad_query_parameters(clients, params, status, code):
    mine, _, _ = clients
    response = logged_in(mine).get(URL, params)
    assert response.status_code == status
    if code:
        assert response.json()["code"] == code


def test_reading_one_keeps_the_first_time(clients):
    mine, _, _ = clients
    api = logged_in(mine)
    approved = of(mine).first()
    with time_machine.travel(T0 + dt.timedelta(hours=2), tick=False):
        response = api.post(f"{URL}/{approved.pk}/read")
    assert response.status_code == 200
    assert (response.json()["read"], response.json()["read_at"]) == (True, "2026-03-02T11:00:00Z")
    with time_machine.travel(T0 + dt.timedelta(hours=3), tick=False):
        again = api.post(f"{URL}/{approved.pk}/read")
    assert again.json()["read_at"] == "2026-03-02T11:00:00Z"
    assert api.get(URL).json()["unread"] == 1


def test_another_clients_notification_is_not_found_and_stays_unread(clients):
    mine, neighbour, foreign = clients
    api = logged_in(mine)
    for other in (neighbour, foreign):
        theirs = of(other).get()
        response = api.post(f"{URL}/{theirs.pk}/read")
        assert response.status_code == 404
        assert response.json()["code"] == "not_found"
        theirs.refresh_from_db()
        assert theirs.read_at is None
    assert api.post(f"{URL}/999999999/read").status_code == 404
    assert api.post(f"{URL}/abc/read").status_code == 404
    assert api.get(f"{URL}/{of(mine).first().pk}").status_code == 404  # no detail route


def test_read_all_marks_mine_only(clients):
    mine, neighbour, foreign = clients
    api = logged_in(mine)
    with time_machine.travel(T0 + dt.timedelta(hours=2), tick=False):
        response = api.post(f"{URL}/read-all")
    assert response.status_code == 200
    assert response.json() == {"marked": 2, "unread": 0}
    assert api.post(f"{URL}/read-all").json() == {"marked": 0, "unread": 0}
    assert not of(mine).filter(read_at__isnull=True).exists()
    assert of(neighbour).get().read_at is None
    assert of(foreign).get().read_at is None


def test_the_neighbour_reads_their_own_in_spanish(clients):
    _, neighbour, _ = clients
    data = logged_in(neighbour).get(URL).json()
    assert [(n["title"], n["language"]) for n in data["results"]] == [
        ("Su cuenta está verificada", "es")
    ]


def test_staff_and_anonymous_callers(world, clients):
    mine, _, _ = clients
    notification = of(mine).first()
    staff = APIClient()
    staff.force_authenticate(world.eu_compliance)
    for method, path in [
        ("get", URL),
        ("post", f"{URL}/{notification.pk}/read"),
        ("post", f"{URL}/read-all"),
    ]:
        response = getattr(staff, method)(path)
        assert response.status_code == 403, path
        assert getattr(APIClient(), method)(path).status_code == 401, path
    notification.refresh_from_db()
    assert notification.read_at is None


def test_staff_read_the_notifications_in_the_admin(world, clients):
    mine, _, _ = clients
    superuser = Client()
    superuser.force_login(world.superuser)
    page = superuser.get("/admin/notifications/notification/")
    assert page.status_code == 200
    assert "Your deposit has arrived" in page.content.decode()
    row = of(mine).first()
    assert superuser.get(f"/admin/notifications/notification/{row.pk}/change/").status_code == 200
    assert superuser.get("/admin/notifications/notification/add/").status_code == 403
    # a role that holds no notification permission does not see the list
    compliance = Client()
    compliance.force_login(world.eu_compliance)
    assert compliance.get("/admin/notifications/notification/").status_code == 403
