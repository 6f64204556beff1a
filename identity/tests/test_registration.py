"""Registration through the match engine: the cases the identity layer exists for."""

from __future__ import annotations

import pytest
from django.db import connection

from audit.models import AuditEvent
from audit.selectors import audit_chain_verify
from brokercrm.errors import ValidationFailed
from entities.selectors import OnboardingRefused
from identity.models import (
    ClientProfile,
    DuplicateCase,
    IdentityDocument,
    MatchDecision,
    MatchKey,
    Person,
)
from identity.services import DocumentInput, person_aml_block

from .factories import register


@pytest.fixture
def uk_person(world):
    """Someone already a client of the UK entity."""
    return register(
        world.uk_brand,
        residence_country="GB",
        nationality="GB",
        phone="+44 7911 123456",
        email="ivan.p@example.co.uk",
        ip="198.51.100.7",
        device_fingerprint="dev-uk-0001",
    )


def test_first_registration_creates_person_profile_and_keys(world):
    result = register(world.eu_brand)
    assert result.outcome == "new"
    profile = result.profile
    assert (profile.entity, profile.brand, profile.status) == (
        world.eu,
        world.eu_brand,
        "applicant",
    )
    assert profile.phone == "+4915123456789"
    assert profile.routing_ruleset == "EU/onboarding/*/v1"
    assert result.person.given_name == "Ivan"
    kinds = sorted(MatchKey.objects.filter(profile=profile).values_list("kind", flat=True))
    assert kinds == sorted(
        ["name_dob", "phon_dob", "fam_dob", "email", "phone", "doc", "device", "ip", "subnet"]
    )
    decision = result.decision
    assert (decision.outcome, decision.ruleset, decision.entity) == (
        "new",
        "EU/onboarding/*/v1",
        world.eu,
    )
    event = AuditEvent.objects.get(action="identity.registration_new")
    assert event.after["ruleset"] == "EU/onboarding/*/v1"
    assert event.actor_label == "brand:eu-brand"


def test_no_plaintext_document_number_in_the_database(world):
    register(world.eu_brand, tax_id="65929970489", tax_id_country="DE")
    with connection.cursor() as cursor:
        cursor.execute("SELECT number FROM identity_identitydocument")
        (stored,) = cursor.fetchone()
        cursor.execute("SELECT number FROM identity_taxidentifier")
        (stored_tax,) = cursor.fetchone()
    assert "C01X00T47" not in stored
    assert "65929970489" not in stored_tax
    document = IdentityDocument.objects.unscoped().get()
    assert document.number == "C01X00T47"


def test_reregistration_in_another_entity_with_new_email_and_phone_written_differently(world):
    first = register(world.eu_brand)
    second = register(
        world.uk_brand,
        residence_country="GB",
        email="ivan.new@example.org",
        phone="0049 151 2345 6789",
        document=None,
        ip="198.51.100.99",
        device_fingerprint="dev-other-01",
    )
    assert second.outcome == "auto_link"
    assert second.person == first.person
    assert second.profile.entity == world.uk
    assert ClientProfile.objects.unscoped().filter(person=first.person).count() == 2
    assert second.decision.explanation["candidates"][0]["fields"]["phone"]["points"] > 0


def test_same_person_through_another_entitys_brand(world, uk_person):
    again = register(world.eu_brand, email="ivan.p@example.co.uk", phone="+44 7911 123456")
    assert again.outcome == "auto_link"
    assert again.person == uk_person.person


def test_cyrillic_name_and_its_transliteration_with_the_same_passport(world):
    latin = register(world.uk_brand, residence_country="GB", email="a@example.com", phone="")
    cyrillic = register(
        world.eu_brand,
        given_name="Иван",
        family_name="Петров",
        email="b@example.com",
        phone="",
        ip="192.0.2.1",
        device_fingerprint="dev-cyr-0001",
    )
    assert cyrillic.outcome == "auto_link"
    assert cyrillic.person == latin.person
    assert cyrillic.profile.given_name == "Иван"
    assert cyrillic.profile.given_name_latin == "Ivan"


def test_surname_typo_with_the_same_birth_date_and_phone(world):
    first = register(world.uk_brand, residence_country="GB", email="one@example.com", document=None)
    typo = register(
        world.eu_brand, family_name="Petorv", email="two@example.com", document=None, ip="192.0.2.2"
    )
    assert typo.outcome == "auto_link"
    assert typo.person == first.person


def test_day_and_month_swapped_goes_to_review_with_the_evidence(world):
    first = register(world.uk_brand, residence_country="GB", birth_date="1985-07-04", document=None)
    swapped = register(world.eu_brand, birth_date="1985-04-07", document=None)
    assert swapped.outcome == "review"
    assert swapped.profile.status == "pending"
    case = DuplicateCase.objects.unscoped().get()
    assert (case.entity, case.candidate_id, case.new_person_id) == (
        world.eu,
        first.person.pk,
        swapped.person.pk,
    )
    fields = case.explanation["candidates"][0]["fields"]
    assert fields["birth_date"]["detail"] == "day and month swapped"


def test_gmail_dot_and_plus_variant_links(world):
    first = register(
        world.uk_brand,
        residence_country="GB",
        email="ivan.petrov@gmail.com",
        phone="",
        document=None,
    )
    variant = register(
        world.eu_brand,
        email="IvanPetrov+trading@googlemail.com",
        phone="",
        document=None,
        ip="192.0.2.3",
    )
    assert variant.outcome == "auto_link"
    assert variant.person == first.person


def test_aml_rejection_in_one_entity_blocks_registration_in_another(world, uk_person):
    person_aml_block(
        actor=world.uk_compliance,
        person=uk_person.person,
        reason="AML: source of funds",
        entity=world.uk,
    )
    profiles_before = ClientProfile.objects.unscoped().count()
    attempt = register(
        world.eu_brand,
        email="totally.new@example.net",
        phone="+49 160 9876543",
        document=DocumentInput("passport", "C01X00T47", "DE"),
        ip="192.0.2.99",
        device_fingerprint="dev-new-9999",
    )
    assert attempt.outcome == "block"
    assert attempt.profile is None
    assert ClientProfile.objects.unscoped().count() == profiles_before
    decision = MatchDecision.objects.unscoped().get(outcome="block")
    assert (decision.entity, decision.candidate_id) == (world.eu, uk_person.person.pk)
    assert decision.explanation["candidates"][0]["fields"]["document"]["detail"] == "same number"
    assert (
        AuditEvent.objects.filter(action="identity.registration_block", entity=world.eu).count()
        == 1
    )


def test_household_sharing_phone_and_ip_is_reviewed_never_linked(world):
    register(
        world.eu_brand,
        email="anna@example.com",
        given_name="Anna",
        family_name="Schmidt",
        birth_date="1970-02-02",
        document=DocumentInput("national_id", "L01X00T47", "DE"),
    )
    partner = register(
        world.eu_brand,
        email="peter@example.com",
        given_name="Peter",
        family_name="Meyer",
        birth_date="1968-11-30",
        document=DocumentInput("national_id", "T22000129", "DE"),
    )
    assert partner.outcome == "review"
    assert Person.objects.count() == 2


def test_twins_are_never_auto_linked(world):
    anna = register(
        world.eu_brand,
        given_name="Anna",
        family_name="Kowalska",
        birth_date="1992-05-20",
        email="anna.k@example.com",
        phone="+49 151 11111111",
        document=DocumentInput("national_id", "ABC123456", "DE"),
    )
    maria = register(
        world.eu_brand,
        given_name="Maria",
        family_name="Kowalska",
        birth_date="1992-05-20",
        email="maria.k@example.com",
        phone="+49 151 22222222",
        document=DocumentInput("national_id", "XYZ987654", "DE"),
    )
    assert maria.outcome in ("new", "review")
    assert maria.person != anna.person


def test_second_profile_in_the_same_entity_is_refused(world):
    register(world.eu_brand)
    again = register(world.eu_brand, email="ivan.petrov+2@example.com")
    assert again.outcome == "duplicate"
    assert again.profile is None
    assert ClientProfile.objects.unscoped().count() == 1


@pytest.mark.parametrize(
    ("overrides", "code"),
    [
        ({"email": "not-an-email"}, "email_invalid"),
        ({"phone": "12"}, "phone_invalid"),
        ({"birth_date": "2090-01-01"}, "birth_date_invalid"),
        ({"birth_date": "1850-01-01"}, "birth_date_invalid"),
        ({"residence_country": "ZZ"}, "country_invalid"),
        ({"given_name": ""}, "name_invalid"),
        ({"document": DocumentInput("passport", "x", "DE")}, "document_number_invalid"),
        ({"tax_id": "123", "tax_id_country": "DE"}, "tax_id_invalid"),
        ({"birth_date": "2015-01-01"}, "applicant_too_young"),
    ],
)
def test_bad_input_is_refused_and_nothing_is_written(world, overrides, code):
    with pytest.raises(ValidationFailed) as refused:
        register(world.eu_brand, **overrides)
    assert refused.value.code == code
    assert Person.objects.count() == 0
    assert MatchDecision.objects.unscoped().count() == 0


def test_restricted_country_is_refused_by_routing(world):
    with pytest.raises(OnboardingRefused) as refused:
        register(world.eu_brand, residence_country="US", phone="+1 202 555 0143")
    assert refused.value.code == "country_restricted"
    assert Person.objects.count() == 0


def test_every_registration_keeps_the_audit_chain_intact(world, uk_person):
    register(world.eu_brand)
    assert audit_chain_verify().ok


def test_shared_device_raises_review_and_shared_ip_alone_does_not(world):
    register(
        world.eu_brand,
        email="first@example.com",
        phone="",
        document=None,
        device_fingerprint="shared-laptop-01",
        ip="203.0.113.50",
    )
    other_device = register(
        world.eu_brand,
        given_name="Hans",
        family_name="Zimmer",
        birth_date="1960-01-01",
        email="hans@example.com",
        phone="",
        document=None,
        device_fingerprint="another-laptop",
        ip="203.0.113.50",
    )
    assert other_device.outcome == "new"
    same_device = register(
        world.eu_brand,
        given_name="Eva",
        family_name="Braun",
        birth_date="1966-06-06",
        email="eva@example.com",
        phone="",
        document=None,
        device_fingerprint="shared-laptop-01",
        ip="198.51.100.1",
    )
    assert same_device.outcome == "review"


def test_one_shared_word_does_not_make_two_names_agree(world):
    from identity.matching import _token_similarity

    assert _token_similarity(["hamid", "hamidi"], ["talal", "hamidi"]) < 0.6
    assert _token_similarity(["anna", "anna"], ["anna", "smith"]) == 0.5
    assert _token_similarity(["maria", "de", "la", "cruz"], ["maria", "cruz"]) == 1.0
