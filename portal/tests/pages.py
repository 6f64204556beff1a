"""What portal page tests share: a client signed in through the brand's sign-in form."""

from __future__ import annotations

from typing import Any

from django.test import Client

from brokercrm.accounts.tests.factories import CLIENT_PASSWORD, client_login


def signed_in(profile: Any, *, login: bool = True) -> Client:
    """A browser signed in as `profile` on its brand's portal (its login opened first)."""
    if login:
        client_login(profile)
    browser = Client()
    answer = browser.post(
        f"/b/{profile.brand.code}/login/", {"email": profile.email, "password": CLIENT_PASSWORD}
    )
    assert answer.status_code == 302, answer.content
    return browser
