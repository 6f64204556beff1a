from __future__ import annotations

from decimal import Decimal

import pytest
from rest_framework.test import APIClient

from brokercrm.accounts.tests.factories import UserFactory, grant
from ib.services import commission_batch_run
from ib.tests.factories import account_of, at, ib_of, plan_of, round_trip
from ib.tests.test_commissions import attributed_client


@pytest.fixture
def managers(world):
    eu = UserFactory(username="ib.eu")
    grant(eu, "ib_manager", entity=world.eu)
    uk = UserFactory(username="ib.uk")
    grant(uk, "ib_manager", entity=world.uk)
    return eu, uk


def client_for(user) -> APIClient:
    client = APIClient()
    if user is not None:
        client.force_authenticate(user)
    return client


def test_statement_csv_for_the_entitys_ib_manager_only(world, managers):
    eu_manager, uk_manager = managers
    ib = ib_of(world.eu_brand, plan_of(world.eu, split=[100]))
    round_trip(account_of(attributed_client(ib, world.eu_brand)), opened=at(5))
    commission_batch_run()
    url = f"/api/v1/ib-partners/{ib.pk}/statement"
    query = {"date_from": "2026-03-01T00:00:00Z", "date_to": "2026-04-01T00:00:00Z"}

    response = client_for(eu_manager).get(url, {**query, "output": "csv"})
    assert response.status_code == 200
    rows = response.content.decode().splitlines()
    assert rows[0].startswith("deal_ticket,login,symbol")
    assert len(rows) == 1 + 1 + 4  # header, one line, four totals
    assert rows[-1].split(",")[0] == "total_ledger"
    assert Decimal(rows[-1].split(",")[-1]) == Decimal("10")

    data = client_for(eu_manager).get(url, query).json()
    assert data["totals"]["paid"] == "10.00000000"
    listed = client_for(eu_manager).get("/api/v1/ib-partners").json()["results"]
    assert [row["id"] for row in listed] == [ib.pk]
    assert client_for(uk_manager).get("/api/v1/ib-partners").json()["results"] == []

    assert client_for(uk_manager).get(url, query).status_code == 404
    assert client_for(None).get(url, query).status_code in (401, 403)
    assert client_for(eu_manager).get(url, {"date_from": "nonsense"}).status_code == 400


def test_another_entitys_ib_manager_cannot_reattribute_and_nothing_changes(world, managers):
    from brokercrm.errors import PermissionDenied
    from ib.models import IbAssignment
    from ib.services import ib_reattribute

    eu_manager, uk_manager = managers
    plan = plan_of(world.eu, split=[100])
    old, new = ib_of(world.eu_brand, plan), ib_of(world.eu_brand, plan)
    profile = attributed_client(old, world.eu_brand)
    with pytest.raises(PermissionDenied):
        ib_reattribute(
            actor=uk_manager, profile=profile, ib=new, valid_from=at(15), reason="not mine"
        )
    assert list(
        IbAssignment.objects.unscoped().filter(profile=profile).values_list("ib_id", "valid_to")
    ) == [(old.pk, None)]
    ib_reattribute(actor=eu_manager, profile=profile, ib=new, valid_from=at(15), reason="asked")
    assert IbAssignment.objects.unscoped().filter(profile=profile).count() == 2
