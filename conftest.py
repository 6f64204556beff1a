"""Fixtures shared by every app's tests: two entities with brands, desks and rule sets, and
the staff personas each endpoint is checked against."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import pytest
from django.db.backends.signals import connection_created

from brokercrm.gate import SYSTEM


def _allow_audit_truncate(sender: Any, connection: Any, **kwargs: Any) -> None:
    # Transactional tests empty the database with TRUNCATE between tests; the audit table
    # refuses that unless the session says so (see audit/migrations/0002_append_only.py).
    with connection.cursor() as cursor:
        cursor.execute("SET brokercrm.allow_audit_truncate = 'on'")
        cursor.execute("SET brokercrm.allow_ledger_truncate = 'on'")


connection_created.connect(_allow_audit_truncate, dispatch_uid="tests_allow_audit_truncate")

# Days across two years on which the calendar tests (the `clock` fixture) run: month ends, a
# leap day, new year's eve.
CLOCK_DAYS = ["2026-03-01", "2026-09-30", "2027-03-31", "2027-12-31", "2028-02-29"]


@pytest.fixture(params=CLOCK_DAYS)
def clock(request: Any) -> Any:
    """The clock at 09:30 UTC on each of `CLOCK_DAYS`, running; fixtures that the test asks for
    after this one see that day. `clock.shift(timedelta)` moves it on."""
    import datetime

    import time_machine

    day = datetime.date.fromisoformat(request.param)
    moment = datetime.datetime.combine(day, datetime.time(9, 30), tzinfo=datetime.UTC)
    with time_machine.travel(moment, tick=True) as traveller:
        yield traveller


@pytest.fixture(scope="session", autouse=True)
def _plain_http_for_live_servers() -> None:
    # The live server (webhook tests) builds its middleware once per session, before any
    # per-test settings apply: it must not redirect the simulators' plain-HTTP callbacks.
    from django.conf import settings

    settings.SECURE_SSL_REDIRECT = False


@pytest.fixture(autouse=True)
def _no_counts_from_earlier_tests() -> Any:
    """Throttle counters (failed sign-ins, resends, resets) live in the cache: each test
    starts with none, whatever ran before it."""
    from django.core.cache import cache

    from portal.context import rules_cache_clear

    # The portal keeps rule-set texts a minute per process; a test's entities are its own.
    cache.clear()
    rules_cache_clear()
    yield
    cache.clear()
    rules_cache_clear()


@pytest.fixture(autouse=True)
def _fast_password_hashing(settings: Any) -> None:
    # The production hasher is slow on purpose; tests create many users.
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
    # The test client speaks plain HTTP; production settings are checked by test_deploy_check.
    settings.SECURE_SSL_REDIRECT = False
    # No collectstatic in tests: serve admin assets by name, not from a hashed manifest.
    settings.STORAGES = {
        **settings.STORAGES,
        "staticfiles": {"BACKEND": "django.contrib.staticfiles.storage.StaticFilesStorage"},
    }


@dataclass
class World:
    eu: Any
    uk: Any
    eu_brand: Any
    uk_brand: Any
    eu_desk: Any
    eu_other_desk: Any
    eu_onboarding: Any
    uk_onboarding: Any
    eu_compliance: Any
    eu_support: Any
    eu_admin: Any
    eu_desk_sales: Any
    uk_compliance: Any
    uk_admin: Any
    group_compliance: Any
    superuser: Any


@pytest.fixture
def world(db: Any) -> World:
    from brokercrm.accounts.tests.factories import UserFactory, grant
    from entities.services import country_route_set
    from entities.tests.factories import (
        BrandFactory,
        DeskFactory,
        LegalEntityFactory,
        publish_rules,
    )

    eu = LegalEntityFactory(
        code="EU", jurisdiction="CY", base_currency="EUR", wallet_currencies=["EUR", "USD"]
    )
    uk = LegalEntityFactory(
        code="UK", jurisdiction="GB", base_currency="GBP", wallet_currencies=["GBP", "USD"]
    )
    eu_brand = BrandFactory(entity=eu, code="eu-brand", domain="eu.example.com")
    uk_brand = BrandFactory(entity=uk, code="uk-brand", domain="uk.example.com")
    eu_desk = DeskFactory(entity=eu, code="dach")
    eu_other_desk = DeskFactory(entity=eu, code="poland")
    eu_onboarding = publish_rules(
        eu, "onboarding", {"allowed_countries": ["DE", "FR", "CY"], "restricted_countries": ["US"]}
    )
    uk_onboarding = publish_rules(
        uk, "onboarding", {"allowed_countries": ["GB"], "restricted_countries": ["US"]}
    )
    country_route_set(actor=SYSTEM, brand=eu_brand, country="*", entity=eu)
    country_route_set(actor=SYSTEM, brand=uk_brand, country="*", entity=uk)
    users = {
        "eu_compliance": ("compliance", {"entity": eu}),
        "eu_support": ("support", {"entity": eu}),
        "eu_admin": ("entity_admin", {"entity": eu}),
        "eu_desk_sales": ("sales", {"desk": eu_desk}),
        "uk_compliance": ("compliance", {"entity": uk}),
        "uk_admin": ("entity_admin", {"entity": uk}),
        "group_compliance": ("group_compliance", {"group_wide": True}),
    }
    made = {}
    for name, (role, where) in users.items():
        made[name] = UserFactory(username=name.replace("_", "."))
        grant(made[name], role, **where)
    return World(
        eu=eu,
        uk=uk,
        eu_brand=eu_brand,
        uk_brand=uk_brand,
        eu_desk=eu_desk,
        eu_other_desk=eu_other_desk,
        eu_onboarding=eu_onboarding,
        uk_onboarding=uk_onboarding,
        superuser=UserFactory(username="root", is_superuser=True),
        **made,
    )
