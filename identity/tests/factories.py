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
