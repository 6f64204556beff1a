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


def another_client(brand: Any, **overrides: Any) -> Any:
    """Olga Sidorova, another client of the brand with a login of her own."""
    from identity.tests.factories import register

    values: dict[str, Any] = {
        "given_name": "Olga",
        "family_name": "Sidorova",
        "birth_date": "1990-01-02",
        "email": "olga.sidorova@example.com",
        "phone": "+49 151 99999999",
        "document": None,
        "ip": "203.0.113.99",
        "device_fingerprint": "dev-olga",
    }
    values.update(overrides)
    profile = register(brand, **values).profile
    client_login(profile)
    return profile
