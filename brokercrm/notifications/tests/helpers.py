"""Clients to tell things to, and events announced the way the apps announce them."""

from __future__ import annotations

from typing import Any

from django.db import transaction
from rest_framework.test import APIClient

from brokercrm.accounts.tests.factories import CLIENT_PASSWORD, client_login
from brokercrm.events.bus import announce, deliver_due
from brokercrm.events.models import Event
from identity.logins import client_token_obtain
from identity.models import ClientProfile
from platforms.tests.factories import client_of


def client(brand: Any, *, language: str = "en", verified: bool = True) -> ClientProfile:
    profile = client_of(brand, approved=False)
    ClientProfile.objects.unscoped().filter(pk=profile.pk).update(
        language=language, email_verified=verified
    )
    return ClientProfile.objects.unscoped().select_related("brand").get(pk=profile.pk)


def told(event_type: Any, profile: Any, payload: dict | None = None, **where: Any) -> Event:
    """Announce `event_type` about the client in a transaction of its own, then deliver."""
    with transaction.atomic():
        event = announce(
            event_type,
            entity=where.get("entity", profile.entity_id if profile else None),
            person=profile.person_id if profile else None,
            profile=where.get("profile", profile.pk if profile else None),
            payload=payload or {},
        ).event
    deliver_due()
    return event


def logged_in(profile: Any) -> APIClient:
    client_login(profile)
    token = client_token_obtain(brand=profile.brand, email=profile.email, password=CLIENT_PASSWORD)
    api = APIClient()
    api.credentials(HTTP_AUTHORIZATION=f"Token {token.key}")
    return api
