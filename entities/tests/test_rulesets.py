from __future__ import annotations

from datetime import timedelta

import pytest
from django.db import DatabaseError, transaction
from django.utils import timezone

from audit.models import AuditEvent
from brokercrm.errors import PermissionDenied, ValidationFailed
from brokercrm.gate import SYSTEM
from entities.models import RuleSet
from entities.selectors import RuleSetMissing, ruleset_effective
from entities.services import ruleset_publish

KYC = {
    "identity_documents": ["passport", "national_id"],
    "proof_of_address_max_age_days": 90,
    "source_of_funds_threshold": "15000.00",
    "liveness_required": True,
    "auto_approve_max_risk": "low",
}


def test_versions_increase_and_decisions_cite_them(world):
    first = ruleset_publish(actor=world.eu_admin, entity=world.eu, kind="kyc", document=KYC)
    second = ruleset_publish(
        actor=world.eu_admin,
        entity=world.eu,
        kind="kyc",
        document={**KYC, "liveness_required": False},
    )
    assert (first.version, second.version) == (1, 2)
    assert first.reference == "EU/kyc/*/v1"
    assert first.document["source_of_funds_threshold"] == "15000"
    assert ruleset_effective(entity=world.eu, kind="kyc") == second
    event = AuditEvent.objects.get(action="entities.ruleset_published", object_id=str(second.pk))
    assert event.after["reference"] == "EU/kyc/*/v2"
    assert event.actor == world.eu_admin


def test_future_version_applies_from_its_date(world):
    now = timezone.now()
    current = ruleset_publish(
        actor=SYSTEM, entity=world.eu, kind="cooling_off", document={"first_withdrawal_hours": 24}
    )
    future = ruleset_publish(
        actor=SYSTEM,
        entity=world.eu,
        kind="cooling_off",
        document={"first_withdrawal_hours": 48},
        effective_from=now + timedelta(days=7),
    )
    assert ruleset_effective(entity=world.eu, kind="cooling_off") == current
    assert (
        ruleset_effective(entity=world.eu, kind="cooling_off", at=now + timedelta(days=8)) == future
    )


def test_country_rules_override_the_entity_default(world):
    default = ruleset_publish(actor=SYSTEM, entity=world.eu, kind="kyc", document=KYC)
    german = ruleset_publish(
        actor=SYSTEM,
        entity=world.eu,
        kind="kyc",
        country="de",
        document={**KYC, "identity_documents": ["national_id"]},
    )
    assert german.reference == "EU/kyc/DE/v1"
    assert ruleset_effective(entity=world.eu, kind="kyc", country="DE") == german
    assert ruleset_effective(entity=world.eu, kind="kyc", country="FR") == default


def test_missing_rules_are_an_explicit_error(world):
    with pytest.raises(RuleSetMissing) as missing:
        ruleset_effective(entity=world.uk, kind="withdrawal")
    assert missing.value.code == "ruleset_missing"


@pytest.mark.parametrize(
    ("kind", "document", "code"),
    [
        ("kyc", {**KYC, "surprise": 1}, "ruleset_invalid"),
        ("kyc", {**KYC, "identity_documents": ["library_card"]}, "ruleset_invalid"),
        ("kyc", {**KYC, "proof_of_address_max_age_days": -1}, "ruleset_invalid"),
        ("kyc", ["not", "an", "object"], "ruleset_invalid"),
        ("onboarding", {"allowed_countries": ["ZZ"]}, "ruleset_invalid"),
        (
            "onboarding",
            {"allowed_countries": ["DE"], "restricted_countries": ["DE"]},
            "ruleset_invalid",
        ),
        ("wallet", {"currencies": ["JPY"]}, "currency_not_offered"),
        (
            "withdrawal",
            {"currency": "EUR", "auto_approve_limit": "5000", "finance_approval_limit": "100"},
            "ruleset_invalid",
        ),
        ("horoscope", {}, "ruleset_kind_unknown"),
    ],
)
def test_invalid_documents_are_refused_and_nothing_is_stored(world, kind, document, code):
    before = RuleSet.objects.unscoped().count()
    with pytest.raises(ValidationFailed) as refused:
        ruleset_publish(actor=world.eu_admin, entity=world.eu, kind=kind, document=document)
    assert refused.value.code == code
    assert RuleSet.objects.unscoped().count() == before


def test_entity_wide_kinds_cannot_be_per_country_and_dates_cannot_be_past(world):
    with pytest.raises(ValidationFailed) as refused:
        ruleset_publish(
            actor=SYSTEM,
            entity=world.eu,
            kind="wallet",
            country="DE",
            document={"currencies": ["EUR"]},
        )
    assert refused.value.code == "ruleset_entity_wide"
    with pytest.raises(ValidationFailed) as refused:
        ruleset_publish(
            actor=SYSTEM,
            entity=world.eu,
            kind="cooling_off",
            document={"first_withdrawal_hours": 1},
            effective_from=timezone.now() - timedelta(days=1),
        )
    assert refused.value.code == "ruleset_backdated"


def test_only_the_entitys_admin_may_publish(world):
    with pytest.raises(PermissionDenied):
        ruleset_publish(actor=world.uk_admin, entity=world.eu, kind="kyc", document=KYC)
    with pytest.raises(PermissionDenied):
        ruleset_publish(actor=world.group_compliance, entity=world.eu, kind="kyc", document=KYC)
    assert not RuleSet.objects.unscoped().filter(kind="kyc").exists()


def test_database_refuses_to_edit_or_delete_a_published_version(world):
    ruleset = world.eu_onboarding
    with pytest.raises(DatabaseError, match="immutable"), transaction.atomic():
        RuleSet.objects.unscoped().filter(pk=ruleset.pk).update(
            document={"allowed_countries": ["*"]}
        )
    with pytest.raises(DatabaseError, match="immutable"), transaction.atomic():
        ruleset.delete()
    ruleset.refresh_from_db()
    assert ruleset.document["allowed_countries"] == ["CY", "DE", "FR"]


def test_missing_rules_are_named_by_entity_code_when_given_an_id(world):
    """Services pass entity ids as often as rows: the refusal still names the entity."""
    from entities.selectors import RuleSetMissing, ruleset_effective

    with pytest.raises(RuleSetMissing) as missing:
        ruleset_effective(entity=world.uk.pk, kind="wallet")
    assert missing.value.code == "ruleset_missing"
    assert str(missing.value.detail).startswith("UK has no wallet rules in force")
