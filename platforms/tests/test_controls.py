"""Control enforcement: a client who may no longer trade is disabled on the server right after
the decision commits, and every sync sets a server that disagrees with the CRM back (or flags
it for compliance when it is the server that is stricter)."""

from __future__ import annotations

import uuid
from datetime import timedelta
from typing import Any

import pytest
from django.utils import timezone

from audit.models import AuditEvent
from identity.models import Person
from identity.services import person_aml_block, profile_update
from kyc.models import KycDocument, KycFile
from kyc.services import documents_expiry_sweep
from platforms.models import ControlFailure, TradingAccount
from platforms.services import (
    TradingNotAllowed,
    trading_account_open,
    trading_account_status_set,
    trading_feed_poll,
    trading_server_reconcile,
)

from .conftest import Desk
from .factories import client_of


@pytest.fixture
def account(desk: Desk) -> TradingAccount:
    return trading_account_open(
        actor=desk.retention, profile=client_of(desk.brand), account_type="pro", currency="USD"
    )


def compliance(world: Any, desk: Desk) -> Any:
    return world.eu_compliance if desk.kind == "mt5" else world.uk_compliance


def test_restricting_the_profile_disables_its_accounts_on_the_server_after_commit(
    world: Any,
    desk: Desk,
    account: TradingAccount,
    eager_tasks: None,
    django_capture_on_commit_callbacks: Any,
) -> None:
    # When compliance restricts the client
    with django_capture_on_commit_callbacks(execute=False) as callbacks:
        profile_update(
            actor=compliance(world, desk),
            profile=account.profile,
            status="restricted",
            reason="source of funds unclear",
        )
    # Then nothing reached the server before the commit
    assert desk.platform.user_get(account.login).rights == "enabled"
    for callback in callbacks:
        callback()

    # And right after it, the account is disabled in the CRM and on the server, audited
    assert desk.platform.user_get(account.login).rights == "disabled"
    account.refresh_from_db()
    assert (account.status, account.server_rights) == ("disabled", "disabled")
    assert "source of funds unclear" in account.status_reason
    actions = set(
        AuditEvent.objects.filter(
            object_type="platforms.TradingAccount", object_id=str(account.pk)
        ).values_list("action", flat=True)
    )
    assert {"platforms.account_disabled", "platforms.server_rights_set"} <= actions
    # Enabling it again is refused while the client is restricted.
    with pytest.raises(TradingNotAllowed) as refused:
        trading_account_status_set(
            actor=world.superuser, account=account, status="enabled", reason="try"
        )
    assert refused.value.code == "profile_restricted"


def test_an_aml_block_disables_the_persons_accounts(
    world: Any,
    desk: Desk,
    account: TradingAccount,
    eager_tasks: None,
    django_capture_on_commit_callbacks: Any,
) -> None:
    with django_capture_on_commit_callbacks(execute=True):
        person_aml_block(
            actor=compliance(world, desk),
            person=Person.objects.get(pk=account.profile.person_id),
            reason="adverse media",
            entity=desk.entity,
        )
    assert desk.platform.user_get(account.login).rights == "disabled"
    assert TradingAccount.objects.unscoped().get(pk=account.pk).status == "disabled"


def test_an_account_enabled_on_the_server_while_restricted_in_the_crm_is_disabled_again(
    world: Any,
    desk: Desk,
    account: TradingAccount,
    eager_tasks: None,
    django_capture_on_commit_callbacks: Any,
) -> None:
    with django_capture_on_commit_callbacks(execute=True):
        trading_account_status_set(
            actor=world.superuser, account=account, status="disabled", reason="dormant"
        )
    assert desk.platform.user_get(account.login).rights == "disabled"

    # Someone enables it on the server behind the CRM's back
    desk.platform.user_set_rights(account.login, "enabled")
    report = trading_server_reconcile(server_id=desk.server.pk)

    assert (report.drifts, report.corrected) == (1, 1)
    assert desk.platform.user_get(account.login).rights == "disabled"
    failure = ControlFailure.objects.unscoped().get(account=account)
    assert (failure.kind, failure.crm_status, failure.server_rights, failure.status) == (
        "server_more_permissive",
        "disabled",
        "enabled",
        "open",
    )
    assert failure.corrected_at is not None
    assert AuditEvent.objects.filter(action="platforms.drift_corrected").count() == 1
    # The next sync finds nothing to correct and no second failure.
    assert trading_server_reconcile(server_id=desk.server.pk).drifts == 0
    assert ControlFailure.objects.unscoped().count() == 1


def test_the_event_feed_catches_a_rights_change_between_full_reconciles(
    world: Any,
    desk: Desk,
    account: TradingAccount,
    eager_tasks: None,
    django_capture_on_commit_callbacks: Any,
) -> None:
    trading_feed_poll(server_id=desk.server.pk)
    with django_capture_on_commit_callbacks(execute=True):
        trading_account_status_set(
            actor=world.superuser, account=account, status="read_only", reason="review"
        )
    desk.platform.user_set_rights(account.login, "enabled")

    report = trading_feed_poll(server_id=desk.server.pk)

    assert report.corrected == 1
    assert desk.platform.user_get(account.login).rights == "read_only"
    assert ControlFailure.objects.unscoped().get(account=account).kind == "server_more_permissive"


def test_an_account_the_server_restricts_while_the_crm_allows_it_is_only_flagged(
    desk: Desk, account: TradingAccount
) -> None:
    desk.platform.user_set_rights(account.login, "disabled")

    for _ in range(2):
        report = trading_server_reconcile(server_id=desk.server.pk)
        assert (report.drifts, report.corrected) == (1, 0)

    assert desk.platform.user_get(account.login).rights == "disabled"  # left for a person
    failure = ControlFailure.objects.unscoped().get(account=account)
    assert (failure.kind, failure.seen_count, failure.corrected_at) == (
        "server_less_permissive",
        2,
        None,
    )
    assert TradingAccount.objects.unscoped().get(pk=account.pk).status == "enabled"


def test_a_status_change_still_on_its_way_to_the_server_is_not_a_drift(
    desk: Desk, account: TradingAccount
) -> None:
    TradingAccount.objects.unscoped().filter(pk=account.pk).update(
        status="disabled", status_changed_at=timezone.now()
    )
    assert trading_server_reconcile(server_id=desk.server.pk).drifts == 0
    TradingAccount.objects.unscoped().filter(pk=account.pk).update(
        status_changed_at=timezone.now() - timedelta(hours=1)
    )
    assert trading_server_reconcile(server_id=desk.server.pk).corrected == 1
    assert desk.platform.user_get(account.login).rights == "disabled"


def test_the_sweep_before_a_reconcile_disables_clients_blocked_without_the_hook(
    desk: Desk, account: TradingAccount
) -> None:
    # An expired document flagged by a path that did not call the enforcement hook
    KycFile.objects.unscoped().filter(profile=account.profile).update(reverification_required=True)

    report = trading_server_reconcile(server_id=desk.server.pk)

    assert report.blocked == 1
    assert desk.platform.user_get(account.login).rights == "disabled"
    assert TradingAccount.objects.unscoped().get(pk=account.pk).status == "disabled"


def test_an_expired_identity_document_disables_trading_after_the_expiry_sweep(
    desk: Desk,
    account: TradingAccount,
    eager_tasks: None,
    django_capture_on_commit_callbacks: Any,
) -> None:
    kyc_file = KycFile.objects.unscoped().get(profile=account.profile)
    KycDocument.objects.create(
        entity=desk.entity,
        kyc_file=kyc_file,
        kind="identity",
        doc_type="passport",
        version=1,
        storage_name=uuid.uuid4().hex,
        content_type="image/jpeg",
        size=1,
        sha256="0" * 64,
        expires_on=timezone.localdate() - timedelta(days=1),
        uploaded_by="test",
    )
    with django_capture_on_commit_callbacks(execute=True):
        documents_expiry_sweep()
    assert desk.platform.user_get(account.login).rights == "disabled"
    account.refresh_from_db()
    assert (account.status, account.status_reason) == ("disabled", "Identity document expired")
