"""The demo shows clients at every account step: verified and consented, one document short,
and one who has done nothing yet."""

from __future__ import annotations

from entities import demo as entities_demo
from identity import demo as identity_demo
from identity.models import ClientProfile, Consent
from identity.selectors import profile_consents_missing, profile_email_verified


def _profile(email: str) -> ClientProfile:
    return ClientProfile.objects.unscoped().filter(email=email).order_by("pk").first()


def test_demo_clients_stand_where_the_demo_says(db):
    demo = entities_demo.seed()
    identity_demo.seed_clients(brands=demo.brands)
    lukas = _profile("lukas.becker@example.de")
    assert (profile_email_verified(lukas), profile_consents_missing(lukas)) == (True, [])
    assert lukas.agreement_version == "EU/client_agreement/v1"
    amelia = _profile("amelia.jones@example.co.uk")
    assert (profile_email_verified(amelia), profile_consents_missing(amelia)) == (
        True,
        ["privacy_notice"],
    )
    andreas = _profile("andreas.g@example.com.cy")
    assert (profile_email_verified(andreas), profile_consents_missing(andreas)) == (
        False,
        ["client_agreement", "risk_disclosure", "privacy_notice"],
    )
    # every entity has its three documents
    for profile in (lukas, amelia, _profile("omar.haddad@example.ae")):
        assert len(identity_demo.legal_documents_current(profile.entity_id)) == 3
    # a second run adds nothing
    count = Consent.objects.unscoped().count()
    identity_demo.seed_clients(brands=entities_demo.seed().brands)
    assert Consent.objects.unscoped().count() == count
