"""The KYC work queues on the back office's My work page: who sees which files, the items'
titles, due times under the SLA rules, and fetches that do not grow with the rows."""

from __future__ import annotations

import datetime
import hashlib
from datetime import timedelta

import pytest
import time_machine
from django.urls import reverse

from brokercrm.backoffice import registry
from brokercrm.backoffice.work import queues_for
from brokercrm.gate import SYSTEM
from brokercrm.scoping import scope_for
from entities.services import ruleset_publish
from identity.models import ClientProfile
from identity.tests.factories import register
from kyc.models import KycCheck, KycDocument, KycFile

MOMENT = datetime.datetime(2027, 3, 31, 9, 30, tzinfo=datetime.UTC)
TODAY = MOMENT.date()


@pytest.fixture(autouse=True)
def _fixed_clock():
    with time_machine.travel(MOMENT, tick=True):
        yield


def _fetch(user, key, limit=50):
    queue = registry.queue(key)
    return queue.fetch(scope_for(user, queue.perm), limit)


def _item(user, key, object_id):
    queue = registry.queue(key)
    return queue.item(scope_for(user, queue.perm), object_id)


def _letters(n):
    return f"{chr(97 + n % 26)}{chr(97 + n // 26 % 26)}"


def _file(world, n, *, uk=False, status="in_review", **fields):
    """A client's KYC file where the checks left it (the row, as the check run writes it)."""
    brand = world.uk_brand if uk else world.eu_brand
    profile = register(
        brand,
        given_name="Elena",
        family_name=f"Filer{_letters(n)}",
        birth_date="1982-05-06",
        residence_country="GB" if uk else "DE",
        email=f"file{n}@example.org",
        phone="",
        document=None,
        ip=f"198.51.100.{n % 250 + 1}",
        device_fingerprint=f"dev-kyc-queue-{n:04d}",
    ).profile
    values = {
        "status": status,
        "submitted_at": MOMENT - timedelta(hours=2),
        "risk_level": "medium",
        "risk_score": 40,
        "kyc_ruleset": f"{'UK' if uk else 'EU'}/kyc/*/v1",
        **fields,
    }
    KycFile.objects.unscoped().filter(profile=profile).update(**values)
    return KycFile.objects.unscoped().select_related("profile").get(profile=profile)


def _check(kyc_file, kind="sanctions", result="review", name="Timofey Gavrilin"):
    return KycCheck.objects.unscoped().create(
        entity_id=kyc_file.entity_id,
        kyc_file=kyc_file,
        kind=kind,
        provider="local-list",
        input_fingerprint=hashlib.sha256(f"{kyc_file.pk}{kind}{result}".encode()).hexdigest(),
        result=result,
        evidence={
            "list_version": 1,
            "hits": [{"entry": "demo-p-001", "name": name, "score": 0.91, "decision": "review"}],
        },
    )


def _identity_document(kyc_file, expires_on, version=1):
    return KycDocument.objects.unscoped().create(
        entity_id=kyc_file.entity_id,
        kyc_file=kyc_file,
        kind="identity",
        doc_type="passport",
        version=version,
        storage_name=hashlib.sha256(f"{kyc_file.pk}:{version}".encode()).hexdigest(),
        content_type="image/png",
        size=1000,
        sha256="0" * 64,
        expires_on=expires_on,
        uploaded_by="client",
    )


def _keys(fetched):
    return [item.object_id for item in fetched.items]


def test_files_in_review_per_persona(world):
    eu = _file(world, 1)
    uk = _file(world, 2, uk=True)
    mine = _fetch(world.eu_compliance, "kyc.review")
    assert (mine.count, _keys(mine)) == (1, [str(eu.pk)])
    item = mine.items[0]
    assert item.title == "Elena Filerba: KYC review"
    assert item.detail == "risk medium (40) · EU/kyc/*/v1"
    assert item.url == reverse("admin:kyc_kycfile_decide", args=[eu.pk])
    assert (item.entity_id, item.person_id) == (world.eu.pk, eu.profile.person_id)
    assert item.opened_at == MOMENT - timedelta(hours=2)
    assert _keys(_fetch(world.uk_compliance, "kyc.review")) == [str(uk.pk)]
    # Group compliance decides across entities, as oversight.
    assert set(_keys(_fetch(world.group_compliance, "kyc.review"))) == {str(eu.pk), str(uk.pk)}
    for user in (world.eu_support, world.eu_desk_sales, world.eu_admin):
        assert not [queue for queue in queues_for(user) if queue.key.startswith("kyc.")]


def test_an_item_of_another_entity_or_no_longer_open_is_none(world):
    eu = _file(world, 1)
    uk = _file(world, 2, uk=True)
    assert _item(world.eu_compliance, "kyc.review", str(eu.pk)).object_id == str(eu.pk)
    assert _item(world.eu_compliance, "kyc.review", str(uk.pk)) is None
    assert _item(world.eu_compliance, "kyc.review", "x1") is None
    assert _item(world.eu_compliance, "kyc.escalated", str(eu.pk)) is None
    KycFile.objects.unscoped().filter(pk=eu.pk).update(status="approved")
    assert _item(world.eu_compliance, "kyc.review", str(eu.pk)) is None
    assert _fetch(world.eu_compliance, "kyc.review").count == 0


def test_high_risk_and_second_approval_come_first(world):
    plain = _file(world, 1)
    risky = _file(world, 2, risk_level="high", risk_score=80, first_approver=world.eu_compliance)
    items = _fetch(world.eu_compliance, "kyc.review").items
    assert _keys(_fetch(world.eu_compliance, "kyc.review")) == [str(risky.pk), str(plain.pk)]
    assert items[0].priority == registry.PRIORITY_HIGH
    assert items[0].title.endswith("KYC second approval")
    assert "first approval given" in items[0].detail
    assert items[1].priority == registry.PRIORITY_NORMAL


def test_escalated_and_edd_files_are_each_in_one_queue(world):
    sanctioned = _file(
        world,
        1,
        status="escalated",
        edd_triggers=[{"code": "sanctions_hit", "detail": "sanctions screening hit"}],
    )
    rules_only = _file(
        world,
        2,
        status="escalated",
        risk_level="high",
        risk_score=75,
        edd_triggers=[
            {"code": "expected_deposit_above", "detail": "declared expected deposit 250000"}
        ],
    )
    escalated = _fetch(world.eu_compliance, "kyc.escalated")
    edd = _fetch(world.eu_compliance, "kyc.edd")
    assert _keys(escalated) == [str(sanctioned.pk)]
    assert _keys(edd) == [str(rules_only.pk)]
    assert escalated.items[0].priority == registry.PRIORITY_CRITICAL
    assert "sanctions screening hit" in escalated.items[0].detail
    assert edd.items[0].title == "Elena Filerca: enhanced due diligence"
    assert edd.items[0].priority == registry.PRIORITY_HIGH
    assert "declared expected deposit 250000" in edd.items[0].detail
    assert _item(world.eu_compliance, "kyc.edd", str(sanctioned.pk)) is None
    assert _fetch(world.uk_compliance, "kyc.escalated").count == 0
    assert _fetch(world.group_compliance, "kyc.edd").count == 1


def test_each_screening_check_to_review_is_an_item(world):
    kyc_file = _file(world, 1, status="escalated")
    sanctions = _check(kyc_file, result="fail")
    pep = _check(kyc_file, kind="pep", result="review", name="Vadim Prokhorenko")
    _check(_file(world, 2, uk=True), result="review")
    decided = _file(world, 3, status="rejected")
    _check(decided, result="fail")
    fetched = _fetch(world.eu_compliance, "kyc.screening_hit")
    assert _keys(fetched) == [str(sanctions.pk), str(pep.pk)]
    first, second = fetched.items
    assert first.title == "Elena Filerba: sanctions screening hit"
    assert first.priority == registry.PRIORITY_CRITICAL
    assert "best match Timofey Gavrilin (score 0.91)" in first.detail
    assert first.url == reverse("admin:kyc_kycfile_decide", args=[kyc_file.pk])
    assert second.title == "Elena Filerba: possible PEP match"
    assert second.priority == registry.PRIORITY_HIGH
    assert _fetch(world.group_compliance, "kyc.screening_hit").count == 3


def test_identity_documents_of_active_clients_expiring_within_30_days(world):
    soon = _file(world, 1, status="approved")
    ClientProfile.objects.unscoped().filter(pk=soon.profile_id).update(status="active")
    expiring = _identity_document(soon, TODAY + timedelta(days=5))
    later = _file(world, 2, status="approved")
    ClientProfile.objects.unscoped().filter(pk=later.profile_id).update(status="active")
    _identity_document(later, TODAY + timedelta(days=45))
    renewed = _file(world, 3, status="approved")
    ClientProfile.objects.unscoped().filter(pk=renewed.profile_id).update(status="active")
    _identity_document(renewed, TODAY + timedelta(days=10))
    _identity_document(renewed, TODAY + timedelta(days=3000), version=2)
    applicant = _file(world, 4, status="in_review")
    _identity_document(applicant, TODAY + timedelta(days=10))
    fetched = _fetch(world.eu_compliance, "kyc.document_expiring")
    assert _keys(fetched) == [str(expiring.pk)]
    item = fetched.items[0]
    assert item.title == "Elena Filerba: passport expires on 2027-04-05"
    assert item.detail.startswith("expires in 5 days")
    assert item.priority == registry.PRIORITY_HIGH
    assert item.url == reverse("admin:kyc_kycdocument_change", args=[expiring.pk])
    assert _fetch(world.uk_compliance, "kyc.document_expiring").count == 0


def test_due_time_follows_the_published_sla_rules(world):
    eu = _file(world, 1)
    _file(world, 2, uk=True)
    ruleset_publish(
        actor=SYSTEM,
        entity=world.eu,
        kind="sla",
        document={"default_hours": 48, "hours": {"kyc.review": 4}},
    )
    items = {item.entity_id: item for item in _fetch(world.group_compliance, "kyc.review").items}
    assert items[world.eu.pk].due_at == eu.submitted_at + timedelta(hours=4)
    # The UK published none: the product's default for the queue (24 hours).
    assert items[world.uk.pk].due_at == MOMENT - timedelta(hours=2) + timedelta(hours=24)
    assert items[world.eu.pk].due_at < MOMENT + timedelta(hours=3)


@pytest.mark.parametrize(
    "key", ["kyc.review", "kyc.escalated", "kyc.screening_hit", "kyc.document_expiring"]
)
def test_fetch_takes_the_same_queries_for_5_or_30_rows(world, key, django_assert_max_num_queries):
    def add(first, count):
        for n in range(first, first + count):
            status = {"kyc.escalated": "escalated", "kyc.document_expiring": "approved"}.get(
                key, "in_review"
            )
            kyc_file = _file(world, n, status=status)
            if key == "kyc.screening_hit":
                _check(kyc_file)
            if key == "kyc.document_expiring":
                ClientProfile.objects.unscoped().filter(pk=kyc_file.profile_id).update(
                    status="active"
                )
                _identity_document(kyc_file, TODAY + timedelta(days=n % 20 + 1))

    queue = registry.queue(key)
    scope = scope_for(world.eu_compliance, queue.perm)
    add(0, 5)
    with django_assert_max_num_queries(4):
        assert len(queue.fetch(scope, 50).items) == 5
    add(5, 25)
    with django_assert_max_num_queries(4):
        fetched = queue.fetch(scope, 50)
    assert (fetched.count, len(fetched.items)) == (30, 30)
    with django_assert_max_num_queries(1):
        assert queue.fetch(scope, 0).count == 30


def test_my_work_shows_the_kyc_items_of_the_entity(client, world):
    _file(world, 1)
    _file(world, 2, uk=True)
    _check(_file(world, 3, status="escalated"), result="fail")
    client.force_login(world.eu_compliance)
    page = client.get("/admin/work/")
    assert page.status_code == 200
    text = page.content.decode()
    assert "Elena Filerba: KYC review" in text
    assert "Elena Filerda: sanctions screening hit" in text
    assert "Elena Filerca" not in text  # the UK's file
    only_review = client.get("/admin/work/", {"queue": "kyc.review"})
    assert "Elena Filerda" not in only_review.content.decode()
