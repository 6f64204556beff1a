"""The client 360's tabs from each app: one person with a profile in the EU and one in the UK;
each tab shows what the viewer may see of the profiles they may see, and nothing else."""

from __future__ import annotations

import datetime as dt
import hashlib
import itertools
import re
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

import pytest
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from audit.models import AuditEvent
from brokercrm.accounts.tests.factories import UserFactory, grant
from brokercrm.gate import SYSTEM
from ib.models import CommissionLine, IbAssignment, RebatePlanVersion
from ib.services import ib_partner_create
from ib.tests.factories import account_of, at, deal, ib_of, plan_of
from identity.models import ClientProfile
from kyc.audit_actions import DOCUMENT_READ
from kyc.models import KycCheck, KycDocument, KycFile
from payments.models import Deposit, PaymentMethod
from platforms.models import TradingAccount, TradingEvent
from platforms.tests.factories import client_of
from wallets.models import LedgerAccount
from wallets.tests.factories import fund

# A one-pixel PNG: what a scanned page looks like to the preview.
PNG = bytes.fromhex(
    "89504e470d0a1a0a0000000d4948445200000001000000010806000000"
    "1f15c4890000000d49444154789c6360000002000154a24f5d0000000049454e44ae426082"
)
_numbers = itertools.count(1)


@dataclass
class TwoProfiles:
    person_id: int
    eu: ClientProfile
    uk: ClientProfile
    eu_account: TradingAccount
    uk_account: TradingAccount


def _page(user: Any, person_id: int, tab: str) -> Any:
    client = Client()
    client.force_login(user)
    return client.get(f"{reverse('admin:client', args=[person_id])}?tab={tab}")


def _text(response: Any) -> str:
    assert response.status_code == 200
    return response.content.decode()


def _document(profile: ClientProfile, storage: Any, marker: str) -> KycDocument:
    kyc_file = KycFile.objects.unscoped().get(profile=profile)
    name = f"doc-{marker}-{next(_numbers)}"
    (storage / name).write_bytes(PNG)
    return KycDocument.objects.unscoped().create(
        entity_id=profile.entity_id,
        kyc_file=kyc_file,
        kind=KycDocument.Kind.IDENTITY,
        doc_type=f"passport-{marker}",
        version=KycDocument.objects.unscoped().filter(kyc_file=kyc_file).count() + 1,
        storage_name=name,
        content_type="image/png",
        size=len(PNG),
        sha256=hashlib.sha256(PNG).hexdigest(),
        expires_on=dt.date(2031, 5, 1),
        uploaded_by="staff",
    )


def _check(profile: ClientProfile, marker: str) -> KycCheck:
    kyc_file = KycFile.objects.unscoped().get(profile=profile)
    return KycCheck.objects.unscoped().create(
        entity_id=profile.entity_id,
        kyc_file=kyc_file,
        kind=KycCheck.Kind.SANCTIONS,
        provider="screening",
        input_fingerprint=f"{marker}-{next(_numbers)}",
        result=KycCheck.Result.PASS,
        evidence={"matched_list": f"list-{marker}", "candidates": 0},
    )


def _deposit(profile: ClientProfile, amount: str, currency: str) -> Deposit:
    method, _ = PaymentMethod.objects.get_or_create(
        code="card", defaults={"name": "Card", "kind": PaymentMethod.Kind.CARD}
    )
    return Deposit.objects.unscoped().create(
        entity_id=profile.entity_id,
        profile=profile,
        wallet=LedgerAccount.objects.unscoped().get(profile=profile, currency=currency),
        amount=Decimal(amount),
        currency=currency,
        method=method,
        status=Deposit.Status.CREDITED,
        idempotency_key=f"panel-{next(_numbers)}",
        request_hash="panel",
        created_by="test",
    )


def _event(account: TradingAccount, kind: str, marker: str) -> TradingEvent:
    return TradingEvent.objects.unscoped().create(
        entity_id=account.entity_id,
        server=account.server,
        seq=next(_numbers),
        kind=kind,
        login=account.login,
        account=account,
        payload={"margin_level": f"48.{next(_numbers)}", "note": marker},
        time=at(3, 10),
    )


@pytest.fixture
def storage(settings: Any, tmp_path: Any) -> Any:
    settings.KYC_STORAGE_DIR = tmp_path / "kyc-documents"
    settings.KYC_STORAGE_DIR.mkdir()
    return settings.KYC_STORAGE_DIR


@pytest.fixture
def two(world: Any, storage: Any) -> TwoProfiles:
    """One person, an active client in both entities, with a little of everything in each."""
    eu = client_of(world.eu_brand)
    uk = client_of(world.uk_brand)
    ClientProfile.objects.unscoped().filter(pk=uk.pk).update(person_id=eu.person_id)
    uk.refresh_from_db()
    KycFile.objects.unscoped().filter(profile=eu).update(
        risk_breakdown={"country": {"points": 2, "value": "DE"}},
        kyc_ruleset="EU kyc v7",
        decision_reason="eu-decision-reason",
        decided_at=at(2),
    )
    KycFile.objects.unscoped().filter(profile=uk).update(
        kyc_ruleset="UK kyc v3", decision_reason="uk-decision-reason", decided_at=at(2)
    )
    for profile, marker in ((eu, "eu"), (uk, "uk")):
        _document(profile, storage, marker)
        _check(profile, marker)
    fund(LedgerAccount.objects.unscoped().get(profile=eu, currency="EUR"), "20")
    fund(LedgerAccount.objects.unscoped().get(profile=uk, currency="GBP"), "7.5")
    _deposit(eu, "20", "EUR")
    _deposit(uk, "7.5", "GBP")
    eu_account, uk_account = account_of(eu), account_of(uk)
    deal(eu_account, entry="in", time=at(3), position=1, symbol="EURUSD")
    deal(uk_account, entry="in", time=at(3), position=2, symbol="GBPJPY")
    _event(eu_account, TradingEvent.Kind.MARGIN_CALL, "eu-margin")
    _event(uk_account, TradingEvent.Kind.STOP_OUT, "uk-stop")
    return TwoProfiles(eu.person_id, eu, uk, eu_account, uk_account)


def test_tabs_are_registered_in_order(db: Any) -> None:
    from brokercrm.backoffice import registry

    keys = [(panel.key, panel.label) for panel in registry.panels()]
    assert keys[:5] == [
        ("kyc", "KYC"),
        ("wallets", "Wallets"),
        ("payments", "Deposits & withdrawals"),
        ("trading", "Trading"),
        ("ib", "IB"),
    ]


def test_kyc_tab_shows_the_eu_file_only(world: Any, two: TwoProfiles) -> None:
    page = _text(_page(world.eu_compliance, two.person_id, "kyc"))
    eu_file = KycFile.objects.unscoped().get(profile=two.eu)
    eu_document = KycDocument.objects.unscoped().get(kyc_file=eu_file)
    assert "EU kyc v7" in page
    assert "eu-decision-reason" in page
    assert "passport-eu" in page
    assert "list-eu" in page
    # The breakdown and the evidence are tables, never JSON.
    assert '<table class="bo-kv">' in page
    assert "{&quot;" not in page
    assert '{"' not in page
    assert reverse("admin:kyc_kycfile_change", args=[eu_file.pk]) in page
    preview = reverse("admin:kyc_kycdocument_file", args=[eu_document.pk])
    assert f'src="{preview}"' in page
    for uk_text in ("UK kyc v3", "uk-decision-reason", "passport-uk", "list-uk"):
        assert uk_text not in page


def test_document_preview_is_scoped_and_audited(world: Any, two: TwoProfiles) -> None:
    eu_document = KycDocument.objects.unscoped().get(kyc_file__profile=two.eu)
    uk_document = KycDocument.objects.unscoped().get(kyc_file__profile=two.uk)
    client = Client()
    client.force_login(world.eu_compliance)
    shown = client.get(reverse("admin:kyc_kycdocument_file", args=[eu_document.pk]))
    assert shown.status_code == 200
    assert shown.content == PNG
    assert shown["Content-Type"] == "image/png"
    assert shown["Content-Disposition"].startswith("inline")
    assert AuditEvent.objects.filter(action=DOCUMENT_READ, object_id=str(eu_document.pk))
    foreign = client.get(reverse("admin:kyc_kycdocument_file", args=[uk_document.pk]))
    assert foreign.status_code == 404
    support = Client()
    support.force_login(world.eu_support)
    refused = support.get(reverse("admin:kyc_kycdocument_file", args=[eu_document.pk]))
    assert refused.status_code in (302, 403, 404)
    assert refused.status_code != 200


def test_support_sees_no_kyc_documents(world: Any, two: TwoProfiles) -> None:
    response = _page(world.eu_support, two.person_id, "kyc")
    page = _text(response)
    # Support's role holds no KYC permission: the tab has nothing it may see.
    assert response.context["panel_html"] == ""
    assert "Nothing here you may see" in page
    assert "passport-eu" not in page
    assert "kyc-documents" not in page
    assert "/admin/kyc/kycdocument/" not in page


def test_wallets_tab_shows_eu_balances_and_statement(world: Any, two: TwoProfiles) -> None:
    page = _text(_page(world.eu_compliance, two.person_id, "wallets"))
    assert "20.00 EUR" in page
    assert "GBP" not in page
    assert "7.50" not in page
    assert "20.00000000" not in page
    eu_wallet = LedgerAccount.objects.unscoped().get(profile=two.eu, currency="EUR")
    assert reverse("admin:wallets_ledgeraccount_change", args=[eu_wallet.pk]) in page


def test_payments_tab_shows_eu_deposits(world: Any, two: TwoProfiles) -> None:
    page = _text(_page(world.eu_compliance, two.person_id, "payments"))
    eu_deposit = Deposit.objects.unscoped().get(profile=two.eu)
    uk_deposit = Deposit.objects.unscoped().get(profile=two.uk)
    assert reverse("admin:payments_deposit_change", args=[eu_deposit.pk]) in page
    assert reverse("admin:payments_deposit_change", args=[uk_deposit.pk]) not in page
    assert "20.00 EUR" in page
    assert "GBP" not in page


def test_trading_tab_shows_eu_accounts_deals_and_events(world: Any, two: TwoProfiles) -> None:
    page = _text(_page(world.eu_compliance, two.person_id, "trading"))
    assert str(two.eu_account.login) in page
    assert "EURUSD" in page
    assert "eu-margin" in page
    assert str(two.uk_account.login) not in page
    assert "GBPJPY" not in page
    assert "uk-stop" not in page
    assert "Stop-out" not in page
    assert reverse("admin:platforms_tradingaccount_change", args=[two.eu_account.pk]) in page


def test_trading_tab_for_support_shows_accounts_only(world: Any, two: TwoProfiles) -> None:
    page = _text(_page(world.eu_support, two.person_id, "trading"))
    assert str(two.eu_account.login) in page
    # Support may view trading accounts but not deals or the servers' events.
    assert "EURUSD" not in page
    assert "eu-margin" not in page


def test_ib_tab_shows_eu_attribution_and_commissions(world: Any, two: TwoProfiles) -> None:
    eu_referrer = ib_of(world.eu_brand, name="Eu Referrer")
    uk_referrer = ib_of(world.uk_brand, name="Uk Referrer")
    for profile, referrer in ((two.eu, eu_referrer), (two.uk, uk_referrer)):
        IbAssignment.objects.unscoped().create(
            entity_id=profile.entity_id,
            profile=profile,
            ib=referrer,
            valid_from=at(1),
            source=IbAssignment.Source.MANAGER,
        )
    eu_plan, uk_plan = plan_of(world.eu), plan_of(world.uk)
    eu_partner = ib_partner_create(actor=SYSTEM, profile=two.eu, name="Eu Partner", plan=eu_plan)
    uk_partner = ib_partner_create(actor=SYSTEM, profile=two.uk, name="Uk Partner", plan=uk_plan)
    for partner, plan, amount in ((eu_partner, eu_plan, "12.5"), (uk_partner, uk_plan, "99")):
        version = RebatePlanVersion.objects.unscoped().get(plan=plan)
        referred = account_of(
            client_of(world.eu_brand if partner is eu_partner else world.uk_brand)
        )
        for position in range(2):
            CommissionLine.objects.unscoped().create(
                entity_id=partner.entity_id,
                deal=deal(referred, entry="out", time=at(4), position=100 + position),
                ib=partner,
                tier=1,
                kind=CommissionLine.Kind.COMMISSION,
                deal_time=at(4),
                lots=Decimal("1"),
                amount=Decimal(amount),
                currency="USD",
                plan_version=version,
                status=CommissionLine.Status.COMPUTED,
            )
    ib_manager = UserFactory(username="eu.ib")
    grant(ib_manager, "ib_manager", entity=world.eu)
    page = _text(_page(ib_manager, two.person_id, "ib"))
    assert "Eu Referrer" in page
    assert "Eu Partner" in page
    assert "25.00 USD" in page  # the total of the two lines
    assert "12.50 USD" in page
    for uk_text in ("Uk Referrer", "Uk Partner", "99.00", "198.00"):
        assert uk_text not in page
    # Compliance holds no IB permission: the tab has nothing it may see.
    refused = _page(world.eu_compliance, two.person_id, "ib")
    assert refused.context["panel_html"] == ""
    assert "Nothing here you may see" in _text(refused)


def test_group_compliance_sees_both_entities(world: Any, two: TwoProfiles) -> None:
    page = _text(_page(world.group_compliance, two.person_id, "kyc"))
    assert "passport-eu" in page
    assert "passport-uk" in page
    trading = _text(_page(world.group_compliance, two.person_id, "trading"))
    assert str(two.eu_account.login) in trading
    assert str(two.uk_account.login) in trading


def _queries(user: Any, person_id: int, tab: str) -> int:
    with CaptureQueriesContext(connection) as captured:
        assert _page(user, person_id, tab).status_code == 200
    return len(captured.captured_queries)


def _more_rows(two: TwoProfiles, storage: Any, n: int) -> None:
    for _ in range(n):
        _document(two.eu, storage, "eu")
        _check(two.eu, "eu")
        fund(LedgerAccount.objects.unscoped().get(profile=two.eu, currency="EUR"), "1")
        _deposit(two.eu, "1", "EUR")
        deal(two.eu_account, entry="in", time=at(5), position=next(_numbers))
        _event(two.eu_account, TradingEvent.Kind.MARGIN_CALL, "eu-more")


@pytest.mark.parametrize("tab", ["kyc", "wallets", "payments", "trading"])
def test_queries_do_not_grow_with_rows(
    world: Any, two: TwoProfiles, storage: Any, tab: str, django_assert_max_num_queries: Any
) -> None:
    _more_rows(two, storage, 2)  # three of each
    few = _queries(world.eu_compliance, two.person_id, tab)
    _more_rows(two, storage, 17)  # twenty of each
    with django_assert_max_num_queries(few):
        assert _page(world.eu_compliance, two.person_id, tab).status_code == 200


def test_long_lists_are_capped(world: Any, two: TwoProfiles, storage: Any) -> None:
    for _ in range(52):
        _deposit(two.eu, "1", "EUR")
    page = _text(_page(world.eu_compliance, two.person_id, "payments"))
    assert "Showing the 50 newest deposits of 53." in page
    assert len(re.findall(r"/admin/payments/deposit/\d+/change/", page)) == 50


def test_login_search_finds_the_person(world: Any, two: TwoProfiles) -> None:
    client = Client()
    client.force_login(world.eu_compliance)
    found = client.get(reverse("admin:clients"), {"q": str(two.eu_account.login)})
    assert found.status_code == 302
    assert found["Location"] == reverse("admin:client", args=[two.person_id])
    foreign = client.get(reverse("admin:clients"), {"q": str(two.uk_account.login)})
    assert foreign.status_code == 200
    assert foreign.context["found"] == []
    assert client.get(reverse("admin:clients"), {"q": "12ab"}).context["found"] == []
