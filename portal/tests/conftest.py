from __future__ import annotations

import pytest

from kyc.tests.conftest import kyc_world  # noqa: F401 - the portal's clients get verified


@pytest.fixture(autouse=True)
def _rules_read_afresh():
    """Each test reads the rule sets it publishes: none kept from an earlier test."""
    from portal.context import rules_cache_clear

    rules_cache_clear()
    yield
    rules_cache_clear()


@pytest.fixture
def portal_world(kyc_world):  # noqa: F811
    return kyc_world
