"""Platforms' dashboard figure on a known set of control failures."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest
import time_machine
from django.utils import timezone

from brokercrm.backoffice.tests.figure_rows import NOW, TODAY, profile_of
from brokercrm.scoping import scope_for
from ib.tests.factories import account_of
from platforms.backoffice.figures import open_control_failures
from platforms.models import ControlFailure

pytestmark = pytest.mark.django_db


def _failure(account: Any, kind: str, status: str = "open") -> None:
    ControlFailure.objects.create(
        entity_id=account.entity_id,
        account=account,
        kind=kind,
        crm_status="restricted",
        server_rights="enabled",
        status=status,
        last_seen_at=timezone.now(),
    )


def test_open_control_failures_by_kind(world: Any) -> None:
    with time_machine.travel(NOW, tick=False):
        eu = [account_of(profile_of(world.eu_brand)) for _ in range(3)]
        _failure(eu[0], "server_more_permissive")
        _failure(eu[1], "server_more_permissive")
        _failure(eu[2], "account_missing_on_server")
        _failure(eu[2], "server_less_permissive", status="resolved")
        _failure(account_of(profile_of(world.uk_brand)), "server_less_permissive")

        scope = scope_for(world.eu_compliance, "platforms.view_controlfailure")
        data = open_control_failures(scope, TODAY - timedelta(days=6), TODAY)

    assert data.labels == [
        "Enabled on the server while restricted in the CRM",
        "Restricted on the server while enabled in the CRM",
        "Live in the CRM but not on the server",
    ]
    assert data.series[0].values == [2, 0, 1]
    assert data.summary == "3 open control failures"
