"""Duplicate review decisions, merges and unmerges."""

from __future__ import annotations

import pytest

from audit.models import AuditEvent
from brokercrm.errors import Conflict, PermissionDenied, ValidationFailed
from identity.models import (
    ClientProfile,
    DistinctPair,
    DuplicateCase,
    MatchKey,
    Person,
    PersonMerge,
)
from identity.services import duplicate_case_decide, person_merge, person_unmerge

from .factories import register


@pytest.fixture
def held(world):
    """A UK client, and a swapped-birth-date registration in the EU held for review."""
    original = register(
        world.uk_brand, residence_country="GB", birth_date="1985-07-04", document=None
    )
    swapped = register(world.eu_brand, birth_date="1985-04-07", document=None)
    assert swapped.outcome == "review"
    return original, swapped, DuplicateCase.objects.unscoped().get()


def _state() -> dict:
    return {
        "persons": sorted(
            Person.objects.values_list("pk", "status", "merged_into_id", "aml_blocked", "pep")
        ),
        "profiles": sorted(
            ClientProfile.objects.unscoped().values_list("pk", "person_id", "status")
        ),
        "keys": sorted(MatchKey.objects.values_list("pk", "person_id")),
    }


def test_link_merges_into_the_candidate_and_unmerge_restores_everything(world, held):
    original, swapped, case = held
    Person.objects.filter(pk=swapped.person.pk).update(pep=True)  # a flag only the new person had
    before = _state()
    duplicate_case_decide(
        actor=world.eu_compliance, case=case, decision="link", reason="same passport photo"
    )
    survivor = Person.objects.get(pk=original.person.pk)
    merged = Person.objects.get(pk=swapped.person.pk)
    assert (merged.status, merged.merged_into_id) == ("merged", survivor.pk)
    assert survivor.pep is True  # flags are unioned
    assert set(ClientProfile.objects.unscoped().values_list("person_id", flat=True)) == {
        survivor.pk
    }
    assert set(MatchKey.objects.values_list("person_id", flat=True)) == {survivor.pk}
    assert ClientProfile.objects.unscoped().get(pk=swapped.profile.pk).status == "applicant"
    case.refresh_from_db()
    assert (case.status, case.decided_by) == ("linked", world.eu_compliance)

    person_unmerge(actor=world.eu_compliance, merge=PersonMerge.objects.get(), reason="wrong call")
    after = _state()
    # Everything as before the decision, except the held profile waits for review again.
    assert after["persons"] == before["persons"]
    assert after["keys"] == before["keys"]
    assert after["profiles"] == before["profiles"]
    case.refresh_from_db()
    assert case.status == "open"
    assert [
        e.action
        for e in AuditEvent.objects.filter(action__startswith="identity.person_").order_by("seq")
    ] == [
        "identity.person_merged",
        "identity.person_unmerged",
    ]
    with pytest.raises(Conflict):
        person_unmerge(actor=world.eu_compliance, merge=PersonMerge.objects.get(), reason="again")


def test_distinct_decision_is_remembered(world, held):
    _, swapped, case = held
    duplicate_case_decide(
        actor=world.eu_compliance, case=case, decision="distinct", reason="different people"
    )
    assert DistinctPair.objects.count() == 1
    assert ClientProfile.objects.unscoped().get(pk=swapped.profile.pk).status == "applicant"
    # The same pair is not raised again when the new person registers with another entity:
    # the registration links to its own person, and the declared-distinct one is dropped.
    again = register(
        world.uk_brand,
        residence_country="GB",
        birth_date="1985-04-07",
        document=None,
        email="ivan.petrov@example.com",
        phone="+49 151 23456789",
    )
    assert again.outcome == "auto_link"
    assert again.person == swapped.person
    assert DuplicateCase.objects.unscoped().count() == 1


def test_block_closes_the_registration_and_blocks_the_person(world, held):
    _, swapped, case = held
    duplicate_case_decide(
        actor=world.eu_compliance, case=case, decision="block", reason="fraud ring"
    )
    profile = ClientProfile.objects.unscoped().get(pk=swapped.profile.pk)
    assert profile.status == "closed"
    assert Person.objects.get(pk=swapped.person.pk).aml_blocked is True


def test_decisions_need_the_review_permission_in_that_entity(world, held):
    _, _, case = held
    for actor in (world.uk_compliance, world.eu_support):
        with pytest.raises(PermissionDenied):
            duplicate_case_decide(actor=actor, case=case, decision="link", reason="x")
    case.refresh_from_db()
    assert case.status == "open"
    # Group compliance decides cases of every entity.
    duplicate_case_decide(
        actor=world.group_compliance, case=case, decision="distinct", reason="checked"
    )


def test_decided_cases_and_bad_decisions(world, held):
    _, _, case = held
    with pytest.raises(ValidationFailed) as bad:
        duplicate_case_decide(actor=world.eu_compliance, case=case, decision="shrug", reason="x")
    assert bad.value.code == "decision_invalid"
    with pytest.raises(ValidationFailed) as bad:
        duplicate_case_decide(actor=world.eu_compliance, case=case, decision="link", reason="  ")
    assert bad.value.code == "reason_required"
    duplicate_case_decide(actor=world.eu_compliance, case=case, decision="distinct", reason="ok")
    with pytest.raises(Conflict):
        duplicate_case_decide(actor=world.eu_compliance, case=case, decision="link", reason="late")


def test_merge_refuses_two_profiles_in_one_entity(world):
    first = register(world.eu_brand)
    other = register(
        world.eu_brand,
        given_name="Olga",
        family_name="Ivanova",
        birth_date="1990-01-02",
        email="olga@example.com",
        phone="+49 151 99999999",
        document=None,
        ip="192.0.2.50",
        device_fingerprint="dev-olga-0001",
    )
    with pytest.raises(Conflict) as refused:
        person_merge(actor=None, survivor=first.person, merged=other.person)
    assert refused.value.code == "merge_same_entity"
    assert Person.objects.filter(status="merged").count() == 0


def test_aml_flag_survives_a_merge(world):
    from identity.services import person_aml_block

    uk = register(
        world.uk_brand, residence_country="GB", email="x1@example.com", phone="", document=None
    )
    eu = register(
        world.eu_brand,
        given_name="Iwan",
        email="x2@example.com",
        phone="",
        document=None,
        birth_date="1985-07-15",
        ip="192.0.2.77",
    )
    person_aml_block(actor=world.uk_compliance, person=uk.person, reason="AML", entity=world.uk)
    person_merge(actor=None, survivor=eu.person, merged=uk.person)
    assert Person.objects.get(pk=eu.person.pk).aml_blocked is True
