"""The demo IB programme loads on top of the demo data, pays its commissions through the
ledger, and a second run adds nothing."""

from __future__ import annotations

import hashlib
from decimal import Decimal
from io import StringIO

import pytest
from django.core.management import call_command
from django.db.models import Sum
from rest_framework.test import APIClient

from audit.models import AuditEvent
from brokercrm.accounts.demo import DEMO_PASSWORD_DEFAULT
from brokercrm.accounts.models import User
from brokercrm.notifications.models import Notification
from ib.models import (
    CommissionLine,
    CommissionRun,
    IbAssignment,
    IbClosure,
    IbLink,
    IbPartner,
    IbProgramme,
    RebatePlan,
    RebatePlanVersion,
    RebateRate,
    ReferralCode,
    ReferralReview,
)
from ib.tasks import commission_batch_run_task
from identity.models import BrandApiKey, ClientProfile
from platforms.models import Deal, TradingAccount
from wallets.models import JournalEntry, LedgerAccount, Posting
from wallets.selectors import ledger_imbalance

COUNTED = [
    IbProgramme,
    RebatePlan,
    RebatePlanVersion,
    RebateRate,
    IbPartner,
    IbLink,
    IbClosure,
    ReferralCode,
    IbAssignment,
    ReferralReview,
    TradingAccount,
    Deal,
    CommissionLine,
    CommissionRun,
    JournalEntry,
    Posting,
    LedgerAccount,
    ClientProfile,
    User,
    AuditEvent,
    Notification,
]


def counts() -> dict[str, int]:
    return {
        model.__name__: (
            model.objects.unscoped() if hasattr(model.objects, "unscoped") else model.objects
        ).count()
        for model in COUNTED
    }


@pytest.fixture
def seeded(db, monkeypatch):
    monkeypatch.delenv("DEMO_PASSWORD", raising=False)
    call_command("seed_demo", quiet_logins=True)
    out = StringIO()
    call_command("seed_ib", stdout=out)
    return out.getvalue()


def paid_by_ib() -> dict[int, Decimal]:
    rows = (
        CommissionLine.objects.unscoped()
        .filter(status=CommissionLine.Status.PAID)
        .values("ib_id")
        .annotate(total=Sum("paid_amount"))
    )
    return {row["ib_id"]: row["total"] for row in rows}


def test_seed_pays_commissions_through_the_ledger(seeded):
    lines = CommissionLine.objects.unscoped()
    assert lines.exists()
    assert set(lines.values_list("status", flat=True)) == {"paid"}
    # Three EU tiers (depth 3), two offshore (depth 2), all three rate bases used.
    assert set(lines.filter(entity__code="EU").values_list("tier", flat=True)) == {0, 1, 2}
    assert set(lines.filter(entity__code="SC").values_list("tier", flat=True)) == {0, 1}
    bases = set(lines.values_list("rate__basis", flat=True))
    assert bases == {"per_lot", "spread_share", "commission_share"}
    # The trade held 30 s (under the 60 s minimum) earns nothing.
    short = Deal.objects.unscoped().filter(entry="out", symbol="EURUSD", volume=5)
    assert short.count() == 5
    assert not lines.filter(deal__in=short).exists()
    # Each IB's wallet holds exactly what its lines were paid.
    paid = paid_by_ib()
    assert len(paid) == 5  # the UK IB's client has no trading server in the demo
    for ib in IbPartner.objects.unscoped().filter(pk__in=paid).select_related("plan"):
        wallet = LedgerAccount.objects.unscoped().get(
            kind=LedgerAccount.Kind.CLIENT_WALLET, profile=ib.profile, currency=ib.plan.currency
        )
        assert wallet.balance == paid[ib.pk], ib.name
    assert ledger_imbalance() == {}


def test_seed_leaves_a_referral_review_for_the_foreign_code(seeded):
    review = ReferralReview.objects.unscoped().get()
    assert (review.entity.code, review.code_text, review.reason) == (
        "SC",
        "georgiou",
        "referral_other_entity",
    )
    assert not IbAssignment.objects.unscoped().filter(profile=review.profile).exists()


def test_seed_twice_adds_nothing(seeded):
    before, paid = counts(), paid_by_ib()
    call_command("seed_ib", stdout=StringIO())
    assert counts() == before
    assert paid_by_ib() == paid
    # The hourly beat job finds nothing left to pay either.
    result = commission_batch_run_task()
    assert (result["lines"], result["payouts"]) == (0, 0)
    assert paid_by_ib() == paid


def test_seeded_ib_reads_its_statement_with_its_client_login(seeded):
    assert "k.nowak@example.pl / brokercrm-demo" in seeded
    brand_key = BrandApiKey.objects.unscoped().get(brand__code="atlas-markets")
    secret = hashlib.sha256(f"{DEMO_PASSWORD_DEFAULT}:atlas-markets".encode()).hexdigest()[:32]
    brand = APIClient()
    brand.credentials(HTTP_AUTHORIZATION=f"Api-Key {brand_key.prefix}.{secret}")
    answer = brand.post(
        "/api/v1/client-tokens",
        {"email": "k.nowak@example.pl", "password": DEMO_PASSWORD_DEFAULT},
        format="json",
    )
    assert answer.status_code == 200, answer.json()
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Token {answer.json()['token']}")
    statement = client.get(
        "/api/v1/me/ib/statement",
        {"date_from": "2000-01-01T00:00:00Z", "date_to": "2100-01-01T00:00:00Z"},
    )
    assert statement.status_code == 200, statement.json()
    ib = IbPartner.objects.unscoped().get(name="Nowak Trading Club")
    assert len(statement.json()["lines"]) == CommissionLine.objects.unscoped().filter(ib=ib).count()
    assert statement.json()["lines"]
    # its referral links and the clients they brought, masked
    links = client.get("/api/v1/me/ib/referral-links")
    assert links.status_code == 200, links.json()
    [nowak_club] = links.json()
    assert (nowak_club["code"], nowak_club["clients"]) == ("nowak-club", 1)
    assert nowak_club["link"].endswith("/register?ref=nowak-club")
    referred = client.get("/api/v1/me/ib/clients")
    assert referred.status_code == 200, referred.json()
    assert [row["email"] for row in referred.json()["results"]] == ["s•••@example.it"]
    # and its notifications: what the demo announced about it
    mine = client.get("/api/v1/me/notifications")
    assert mine.status_code == 200, mine.json()
    assert (
        mine.json()["count"]
        == Notification.objects.unscoped().filter(profile_id=ib.profile_id).count()
    )


def test_seed_tells_the_demo_clients_what_the_demo_announced(seeded):
    from brokercrm.events.models import Event

    kinds = ["kyc.kyc_approved", "kyc.document_requested"]
    announced = Event.objects.filter(type__in=kinds, profile_id__isnull=False)
    told = Notification.objects.unscoped().filter(kind__in=["kyc_approved", "document_requested"])
    assert announced.count() == told.count() == 8
    nowak = ClientProfile.objects.unscoped().get(email="k.nowak@example.pl")
    assert told.filter(profile_id=nowak.pk, entity_id=nowak.entity_id).exists()
    assert f"{Notification.objects.unscoped().count()} client notifications" in seeded
