from __future__ import annotations

from typing import Any

from identity.services import (
    DocumentInput,
    RegistrationInput,
    RegistrationResult,
    registration_submit,
)


def registration(**overrides: Any) -> RegistrationInput:
    """A plausible applicant; tests change what they are about."""
    values: dict[str, Any] = {
        "given_name": "Ivan",
        "family_name": "Petrov",
        "birth_date": "1985-07-14",
        "residence_country": "DE",
        "nationality": "DE",
        "email": "ivan.petrov@example.com",
        "phone": "+49 151 23456789",
        "address_line1": "Hauptstrasse 1",
        "city": "Berlin",
        "postcode": "10115",
        "document": DocumentInput("passport", "C01X00T47", "DE"),
        "ip": "203.0.113.10",
        "device_fingerprint": "dev-ivan-0001",
    }
    values.update(overrides)
    return RegistrationInput(**values)


def register(brand: Any, **overrides: Any) -> RegistrationResult:
    return registration_submit(brand=brand, data=registration(**overrides))


def mailed_token(message: Any, name: str = "token") -> str:
    """A parameter of the brand link in an account e-mail (the token, the uid)."""
    import re
    from urllib.parse import unquote

    found = re.search(rf"[?&]{name}=([^\s&]+)", message.body)
    assert found, message.body
    return unquote(found.group(1))


def brand_api(brand: Any) -> Any:
    """An API client that calls as the brand's front end (brand key)."""
    from rest_framework.test import APIClient

    from identity.api.auth import brand_api_key_create

    _, secret = brand_api_key_create(brand=brand, name="web")
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Api-Key {secret}")
    return client


def token_api(key: str) -> Any:
    from rest_framework.test import APIClient

    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Token {key}")
    return client


def signed_in(profile: Any, *, password: str | None = None) -> Any:
    """An API client with a fresh client token of the profile's login (one more sign-in)."""
    from brokercrm.accounts.tests.factories import CLIENT_PASSWORD
    from identity.logins import client_token_obtain

    token = client_token_obtain(
        brand=profile.brand, email=profile.email, password=password or CLIENT_PASSWORD
    )
    return token_api(token.key)
