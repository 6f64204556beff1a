"""Accounts the CRM shows as live whose login the trading server does not hold: a complete
reconcile records each once in compliance's queue (the CRM status is left to a person), money
stops moving to and from it, and the failure resolves itself when the login is back. Only a
complete listing may call a login missing: an interrupted or failing reconcile marks nothing.

Both connectors against the simulator process, plus an in-process fake for listings the
simulator does not produce (a page that skips a login the server still holds)."""

from __future__ import annotations

from collections.abc import Callable
from decimal import Decimal
from typing import Any

import pytest
from rest_framework.test import APIClient

from audit.models import AuditEvent
from brokercrm.httpjson import json_request
from platforms.connectors import LoginNotFound, Page, PlatformAccount, PlatformUnavailable
from platforms.models import ControlFailure, TradingAccount, TradingTransfer
from platforms.services import (
    AccountMissingOnServer,
    sync_state,
    trading_account_open,
    trading_account_status_set,
    trading_server_reconcile,
    trading_transfer_create,
)
from platforms.services import sync as sync_module
from wallets.services import wallet_open
from wallets.tests.factories import assert_ledger_sound, fund

from .conftest import Desk
from .factories import client_of, sim_admin

MISSING = "account_missing_on_server"


def open_accounts(desk: Desk, count: int) -> list[TradingAccount]:
    return [
        trading_account_open(
            actor=desk.retention, profile=client_of(desk.brand), account_type="pro", currency="USD"
        )
        for _ in range(count)
    ]


def delete_login(desk: Desk, login: int) -> None:
    sim_admin(
        desk.server.base_url, "users/delete", {"server": desk.server.server_name, "login": login}
    )


def restore_login(desk: Desk, login: int) -> None:
    sim_admin(
        desk.server.base_url, "users/restore", {"server": desk.server.server_name, "login": login}
    )


def missing_failures(**filters: Any) -> list[ControlFailure]:
    return list(ControlFailure.objects.unscoped().filter(kind=MISSING, **filters).order_by("pk"))


class _Breaks:
    """A connector whose `method` raises PlatformUnavailable on call number `on_call`."""

    def __init__(self, real: Any, method: str, on_call: int) -> None:
        self.real, self.method, self.on_call, self.calls = real, method, on_call, 0

    def __getattr__(self, name: str) -> Any:
        attribute = getattr(self.real, name)
        if name != self.method:
            return attribute

        def call(*args: Any, **kwargs: Any) -> Any:
            self.calls += 1
            if self.calls == self.on_call:
                raise PlatformUnavailable("The trading server went away.")
            return attribute(*args, **kwargs)

        return call


def breaking(monkeypatch: pytest.MonkeyPatch, method: str, on_call: int) -> Callable[[], None]:
    real = sync_module.server_connector
    monkeypatch.setattr(
        sync_module, "server_connector", lambda server: _Breaks(real(server), method, on_call)
    )
    return lambda: monkeypatch.setattr(sync_module, "server_connector", real)


def test_a_login_deleted_on_the_server_is_one_open_failure_until_it_is_back(desk: Desk) -> None:
    # Given three live accounts, of which the server loses a middle one and the last one
    first, middle, last = open_accounts(desk, 3)
    delete_login(desk, middle.login)
    delete_login(desk, last.login)

    # When two complete reconciles run, page by page
    reports = [trading_server_reconcile(server_id=desk.server.pk, page_size=2) for _ in range(2)]

    # Then each lost account is in compliance's queue once, seen twice, its status untouched
    assert [(r.completed, r.missing, r.missing_new) for r in reports] == [
        (True, 2, 2),
        (True, 2, 0),
    ]
    failures = missing_failures()
    assert [(f.account_id, f.status, f.seen_count, f.crm_status) for f in failures] == [
        (middle.pk, "open", 2, "enabled"),
        (last.pk, "open", 2, "enabled"),
    ]
    assert set(TradingAccount.objects.unscoped().values_list("status", flat=True)) == {"enabled"}
    flagged = AuditEvent.objects.filter(action="platforms.account_missing_on_server")
    assert sorted(int(e.object_id) for e in flagged) == [middle.pk, last.pk]

    # When one login is put back on the server
    restore_login(desk, middle.login)
    report = trading_server_reconcile(server_id=desk.server.pk, page_size=2)

    # Then its failure is resolved by the reconcile (audited) and the other stays open
    assert (report.missing, report.missing_new, report.missing_resolved) == (1, 0, 1)
    resolved = ControlFailure.objects.unscoped().get(account=middle, kind=MISSING)
    assert (resolved.status, resolved.resolved_by, resolved.resolution) == (
        "resolved",
        None,
        "The login is on the server again (found by a complete reconcile).",
    )
    assert resolved.resolved_at is not None
    assert [f.account_id for f in missing_failures(status="open")] == [last.pk]
    resolutions = AuditEvent.objects.filter(action="platforms.account_missing_resolved")
    assert [int(e.object_id) for e in resolutions] == [middle.pk]
    assert first.pk not in {f.account_id for f in missing_failures()}


def test_only_a_complete_listing_marks_accounts_missing(
    desk: Desk, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Four accounts, so that every pass below has several pages of one login after the first
    *_, account, _last = open_accounts(desk, 4)
    delete_login(desk, account.login)

    # A pass stopped after its first page (more pages to come) marks nothing
    partial = trading_server_reconcile(server_id=desk.server.pk, page_size=1, max_pages=1)
    assert (partial.completed, partial.missing) == (False, 0)
    assert missing_failures() == []

    # Nor does one whose server fails on a later page
    restore = breaking(monkeypatch, "accounts_page", on_call=2)
    with pytest.raises(PlatformUnavailable):
        trading_server_reconcile(server_id=desk.server.pk, page_size=1)
    restore()
    assert missing_failures() == []
    assert sync_state(desk.server).accounts_cursor != ""

    # Nor one whose server fails while the unseen logins are asked for after the last page:
    # the pass stays on its previous page
    restore = breaking(monkeypatch, "user_get", on_call=1)
    with pytest.raises(PlatformUnavailable):
        trading_server_reconcile(server_id=desk.server.pk, page_size=10_000)
    restore()
    assert missing_failures() == []
    assert sync_state(desk.server).accounts_cursor != ""
    assert not AuditEvent.objects.filter(action="platforms.account_missing_on_server").exists()

    # The pass then completes where it stopped and marks the account once
    done = trading_server_reconcile(server_id=desk.server.pk, page_size=10_000)
    assert (done.completed, done.missing, done.missing_new) == (True, 1, 1)
    assert [f.account_id for f in missing_failures(status="open")] == [account.pk]
    state = sync_state(desk.server)
    assert (state.accounts_cursor, state.accounts_covered_through, state.accounts_unseen) == (
        "",
        None,
        [],
    )


def test_a_closed_account_missing_on_the_server_is_not_flagged(world: Any, desk: Desk) -> None:
    closed, lost = open_accounts(desk, 2)
    trading_account_status_set(
        actor=world.superuser, account=closed, status="closed", reason="Client asked"
    )
    delete_login(desk, closed.login)
    delete_login(desk, lost.login)

    report = trading_server_reconcile(server_id=desk.server.pk)

    assert (report.missing, report.missing_new) == (1, 1)
    assert [f.account_id for f in missing_failures()] == [lost.pk]

    # A person then closes the lost account: the next complete pass resolves its failure
    trading_account_status_set(
        actor=world.superuser, account=lost, status="closed", reason="Lost in a server restore"
    )
    report = trading_server_reconcile(server_id=desk.server.pk)
    assert (report.missing, report.missing_resolved) == (0, 1)
    (failure,) = missing_failures()
    assert (failure.status, failure.resolution) == (
        "resolved",
        "The account is closed in the CRM: its login need not be on the server.",
    )


def test_no_money_moves_to_or_from_an_account_missing_on_the_server(desk: Desk) -> None:
    # Given a funded client whose account's login the last reconcile did not find
    profile = client_of(desk.brand)
    account = trading_account_open(
        actor=desk.retention, profile=profile, account_type="pro", currency="USD"
    )
    wallet = wallet_open(profile=profile, currency="USD")
    fund(wallet, "1000.00")
    delete_login(desk, account.login)
    trading_server_reconcile(server_id=desk.server.pk)
    audit_count = AuditEvent.objects.count()

    # When finance moves money either way, it is refused with the code and nothing is written
    for direction, key in (("deposit", "d-1"), ("withdrawal", "w-1")):
        with pytest.raises(AccountMissingOnServer) as refused:
            trading_transfer_create(
                actor=desk.finance,
                account=account,
                direction=direction,
                amount="100.00",
                idempotency_key=key,
            )
        assert (refused.value.code, refused.value.status) == (MISSING, 409)

    wallet.refresh_from_db()
    assert wallet.balance == Decimal("1000.00")
    assert TradingTransfer.objects.unscoped().count() == 0
    assert AuditEvent.objects.count() == audit_count
    assert_ledger_sound(desk.entity)

    # And once the login is back and the reconcile resolved it, deposits work again
    restore_login(desk, account.login)
    trading_server_reconcile(server_id=desk.server.pk)
    transfer = trading_transfer_create(
        actor=desk.finance,
        account=account,
        direction="deposit",
        amount="100.00",
        idempotency_key="d-2",
    )
    assert transfer.status == "completed"
    assert_ledger_sound(desk.entity)


def test_compliance_sees_the_missing_account_and_finance_gets_the_code_over_http(
    world: Any, desk: Desk
) -> None:
    (account,) = open_accounts(desk, 1)
    wallet = wallet_open(profile=account.profile, currency="USD")
    fund(wallet, "500.00")
    delete_login(desk, account.login)
    trading_server_reconcile(server_id=desk.server.pk)
    compliance, outsider = (
        (world.eu_compliance, world.uk_compliance)
        if desk.kind == "mt5"
        else (world.uk_compliance, world.eu_compliance)
    )

    staff = APIClient()
    staff.force_authenticate(compliance)
    queue = staff.get("/api/v1/control-failures?status=open").json()["results"]
    assert [(row["login"], row["kind"], row["crm_status"]) for row in queue] == [
        (account.login, MISSING, "enabled")
    ]
    other = APIClient()
    other.force_authenticate(outsider)
    assert other.get(f"/api/v1/control-failures/{queue[0]['id']}").status_code == 404

    finance = APIClient()
    finance.force_authenticate(desk.finance)
    response = finance.post(
        f"/api/v1/trading-accounts/{account.pk}/deposit",
        {"amount": "100.00"},
        format="json",
        HTTP_IDEMPOTENCY_KEY="d-1",
    )
    assert (response.status_code, response.json()["code"]) == (409, MISSING)
    assert TradingTransfer.objects.unscoped().count() == 0
    assert_ledger_sound(desk.entity)


def test_the_simulator_deletes_and_restores_a_login_and_refuses_what_it_cannot(
    desk: Desk,
) -> None:
    first, gone, last = open_accounts(desk, 3)
    url, name = desk.server.base_url, desk.server.server_name

    delete_login(desk, gone.login)

    with pytest.raises(LoginNotFound):
        desk.platform.user_get(gone.login)
    listed, cursor = [], None
    while True:  # the listing after a delete has no gap and no repeat, offset paging included
        page = desk.platform.accounts_page(cursor, 1)
        listed += [item.login for item in page.items]
        if page.next_cursor is None:
            break
        cursor = page.next_cursor
    assert gone.login not in listed
    assert {first.login, last.login} <= set(listed)
    assert listed == sorted(set(listed))
    for path, login in (("users/delete", gone.login), ("users/restore", first.login)):
        answer = json_request("POST", f"{url}/admin/{path}", body={"server": name, "login": login})
        assert (answer.status, answer.body["code"]) == (404, "login_not_found")
    restore_login(desk, gone.login)
    assert desk.platform.user_get(gone.login).login == gone.login


# --- an in-process fake: listings the simulator does not produce ------------------------------


def _remote(login: int) -> PlatformAccount:
    zero = Decimal("0.00")
    return PlatformAccount(
        login=login,
        group="g",
        currency="USD",
        leverage=100,
        rights="enabled",
        balance=zero,
        credit=zero,
        equity=zero,
        margin=zero,
        free_margin=zero,
        margin_level=None,
        name="Fake",
        comment="",
    )


class FakePlatform:
    """Holds `held` logins; its listing leaves out `unlisted` (as an MT4 offset page does when
    a lower login went away between two pages) while `user_get` still finds them."""

    kind = "mt5"
    server = "Fake"

    def __init__(self, held: set[int], unlisted: frozenset[int] = frozenset()) -> None:
        self.held, self.unlisted = held, unlisted
        self.asked: list[int] = []

    def accounts_page(self, cursor: str | None, limit: int) -> Page[PlatformAccount]:
        after = int(cursor or 0)
        logins = sorted(x for x in self.held - self.unlisted if x > after)
        items = tuple(_remote(x) for x in logins[:limit])
        more = len(logins) > limit
        return Page(items, str(items[-1].login) if more else None, str(after))

    def user_get(self, login: int) -> PlatformAccount:
        self.asked.append(login)
        if login not in self.held:
            raise LoginNotFound(f"No login {login}.")
        return _remote(login)

    def user_set_rights(self, login: int, rights: str) -> PlatformAccount:
        return _remote(login)


def test_a_login_the_listing_skipped_but_the_server_holds_is_not_marked(
    desk: Desk, monkeypatch: pytest.MonkeyPatch
) -> None:
    accounts = open_accounts(desk, 4)
    logins = [a.login for a in accounts]
    skipped, gone = logins[1], logins[2]
    fake = FakePlatform(held=set(logins) - {gone}, unlisted=frozenset({skipped}))
    monkeypatch.setattr(sync_module, "server_connector", lambda server: fake)

    report = trading_server_reconcile(server_id=desk.server.pk, page_size=1)

    assert (report.completed, report.missing) == (True, 1)
    assert sorted(fake.asked) == [skipped, gone]  # only the unseen ones are asked for
    assert [f.account_id for f in missing_failures()] == [accounts[2].pk]
