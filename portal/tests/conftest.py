from __future__ import annotations

import pytest

from kyc.tests.conftest import kyc_world  # noqa: F401 - the portal's clients get verified


@pytest.fixture
def portal_world(kyc_world):  # noqa: F811
    return kyc_world
