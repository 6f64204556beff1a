from __future__ import annotations

import pytest
from django.core.management import call_command

from brokercrm.gate import SYSTEM
from entities.models import Brand
from entities.selectors import OnboardingRefused, onboarding_entity_for


@pytest.fixture
def demo(db):
    call_command("seed_demo", quiet_logins=True)
    return {brand.code: brand for brand in Brand.objects.unscoped().select_related("entity")}


ROUTES = [
    ("atlas-markets", "DE", "EU"),
    ("atlas-markets", "CY", "EU"),
    ("atlas-markets", "NO", "EU"),  # EEA, not EU
    ("atlas-markets", "GB", "UK"),
    ("atlas-markets", "JE", "UK"),
    ("atlas-markets", "AE", "SC"),
    ("atlas-markets", "BR", "SC"),
    ("atlas-uk", "GB", "UK"),
    ("atlasfx-global", "ZA", "SC"),
    ("atlasfx-global", "MY", "SC"),
]

REFUSALS = [
    ("atlas-markets", "US", "country_restricted"),  # no US residents anywhere
    ("atlas-uk", "US", "country_restricted"),
    ("atlasfx-global", "US", "country_restricted"),
    ("atlasfx-global", "GB", "country_restricted"),  # no UK residents offshore
    ("atlasfx-global", "DE", "country_restricted"),  # nor EEA residents
    ("atlas-markets", "KP", "country_restricted"),
    ("atlas-uk", "FR", "country_not_served"),  # the UK entity onboards the UK area only
    ("atlas-markets", "XX", "country_unknown"),
    ("atlas-markets", "", "country_unknown"),
]


def test_routing_matrix(demo):
    # One demo load for the whole matrix: brand x country -> entity, or a refusal code.
    for brand, country, entity in ROUTES:
        decision = onboarding_entity_for(brand=demo[brand], country=country)
        assert (brand, country, decision.entity.code) == (brand, country, entity)
        assert decision.ruleset.reference == f"{entity}/onboarding/*/v1"
        assert decision.explanation["entity"] == entity
    for brand, country, code in REFUSALS:
        with pytest.raises(OnboardingRefused) as refused:
            onboarding_entity_for(brand=demo[brand], country=country)
        assert (brand, country, refused.value.code) == (brand, country, code)


def test_lower_case_country_is_accepted(demo):
    assert onboarding_entity_for(brand=demo["atlas-markets"], country="de ").entity.code == "EU"


def test_inactive_brand_and_suspended_entity_refuse(demo):
    from entities.services import brand_update, entity_update

    brand_update(actor=SYSTEM, brand=demo["atlas-uk"], status=Brand.Status.INACTIVE)
    with pytest.raises(OnboardingRefused) as refused:
        onboarding_entity_for(brand=demo["atlas-uk"], country="GB")
    assert refused.value.code == "brand_inactive"
    entity_update(actor=SYSTEM, entity=demo["atlasfx-global"].entity, status="suspended")
    with pytest.raises(OnboardingRefused) as refused:
        onboarding_entity_for(brand=demo["atlasfx-global"], country="ZA")
    assert refused.value.code == "entity_not_onboarding"


def test_seed_demo_is_idempotent(demo, capsys):
    from audit.models import AuditEvent
    from brokercrm.accounts.models import RoleGrant, User
    from entities.models import CountryRoute, Desk, LegalEntity, RuleSet

    def counts():
        return (
            LegalEntity.objects.count(),
            Brand.objects.unscoped().count(),
            CountryRoute.objects.unscoped().count(),
            Desk.objects.unscoped().count(),
            RuleSet.objects.unscoped().count(),
            User.objects.count(),
            RoleGrant.objects.count(),
            AuditEvent.objects.count(),
        )

    from identity.models import ClientProfile, DuplicateCase, MatchDecision, Person

    outcomes = sorted(MatchDecision.objects.unscoped().values_list("outcome", flat=True))
    # Two registrations linked to a person another entity knows (Camille in the UK, Lukas
    # offshore), ten new people, one held for review.
    assert outcomes == ["auto_link"] * 2 + ["new"] * 10 + ["review"]
    assert (Person.objects.count(), ClientProfile.objects.unscoped().count()) == (11, 13)
    case = DuplicateCase.objects.unscoped().select_related("entity").get()
    assert case.entity.code == "EU"
    first = counts()
    # Rule sets include each entity's work-queue deadlines (sla).
    assert first[:7] == (3, 3, 37, 8, 23, 25, 24)
    call_command("seed_demo")
    assert counts() == first
    assert "compliance.eu" in capsys.readouterr().out


def test_demo_logins_work(demo, client):
    assert client.login(username="compliance.eu", password="brokercrm-demo")
    page = client.get("/admin/entities/brand/")
    assert page.status_code == 200
    assert b"atlasmarkets.eu" in page.content
    assert b"atlasmarkets.co.uk" not in page.content
    uk_brand = Brand.objects.unscoped().get(code="atlas-uk")
    assert client.get(f"/admin/entities/brand/{uk_brand.pk}/change/").status_code == 404
    assert client.get(f"/api/v1/brands/{uk_brand.pk}").status_code == 404
