"""Two registrations of one person at the same moment must not create two persons."""

from __future__ import annotations

import threading

import pytest
from django.db import connections

from identity.models import ClientProfile, Person

from .factories import register


@pytest.mark.django_db(transaction=True)
def test_simultaneous_registrations_of_one_person_find_each_other(world):
    start = threading.Barrier(2)
    outcomes: list[str] = []
    errors: list[BaseException] = []

    def attempt(brand, country: str, phone: str) -> None:
        try:
            start.wait()
            outcomes.append(register(brand, residence_country=country, phone=phone).outcome)
        except BaseException as exc:  # re-raised below, in the test thread
            errors.append(exc)
        finally:
            connections.close_all()

    threads = [
        threading.Thread(target=attempt, args=(world.eu_brand, "DE", "+49 151 23456789")),
        threading.Thread(target=attempt, args=(world.uk_brand, "GB", "+49 151 23456789")),
    ]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert errors == []
    # Whichever came second waited on the first one's locks and then linked to it.
    assert sorted(outcomes) == ["auto_link", "new"]
    assert Person.objects.count() == 1
    assert ClientProfile.objects.unscoped().count() == 2
