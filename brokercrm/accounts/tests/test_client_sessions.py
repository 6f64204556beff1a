"""Client tokens per sign-in: a token from before (DRF's one per user) ends with the others;
staff tokens are untouched."""

from __future__ import annotations

from rest_framework.authtoken.models import Token

from brokercrm.accounts.models import ClientToken
from brokercrm.accounts.tests.factories import client_login
from brokercrm.accounts.tokens import client_tokens_end
from identity.tests.factories import register, signed_in, token_api


def test_log_out_everywhere_also_ends_an_older_token_and_leaves_staff_alone(world):
    login = client_login(register(world.eu_brand).profile)
    older = Token.objects.create(user=login)
    staff = Token.objects.create(user=world.eu_compliance)
    api = signed_in(login.profile)
    assert token_api(older.key).get("/api/v1/me").status_code == 200
    assert api.delete("/api/v1/me/sessions").status_code == 204
    assert token_api(older.key).get("/api/v1/me").status_code == 401
    assert api.get("/api/v1/me").status_code == 401
    assert token_api(staff.key).get("/api/v1/me").status_code == 200
    assert not ClientToken.objects.exists()


def test_ending_sessions_can_keep_the_callers_own(world):
    login = client_login(register(world.eu_brand).profile)
    signed_in(login.profile)
    signed_in(login.profile)
    keep = ClientToken.objects.filter(user=login).first()
    assert client_tokens_end(user=login, keep=keep) == 1
    assert list(ClientToken.objects.all()) == [keep]


def test_an_inactive_login_token_stops_working(world):
    login = client_login(register(world.eu_brand).profile)
    api = signed_in(login.profile)
    type(login).objects.filter(pk=login.pk).update(is_active=False)
    assert api.get("/api/v1/me").status_code == 401
