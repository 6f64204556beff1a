"""Opening an account in the portal: three steps kept in the session (back, forth and reload
resume), the country checked at its step against the brand's routes and the entity's rules,
then the registration's outcome in words that never say what matched."""

from __future__ import annotations

from typing import Any

import pytest
from django.core import mail
from django.test import Client

from audit.selectors import audit_events_visible_to
from brokercrm.accounts.models import ClientToken, User
from brokercrm.events.models import Event
from identity.tests.factories import register
from kyc.selectors import client_kyc_file

pytestmark = pytest.mark.django_db

PASSWORD = "Lantern-Orchid-42"
START = "/b/eu-brand/register/"
ACCOUNT = {"email": "ivan.petrov@example.com", "password": PASSWORD}
PERSONAL = {
    "given_name": "Ivan",
    "family_name": "Petrov",
    "birth_date": "1985-07-14",
    "nationality": "DE",
    "phone": "+49 151 23456789",
}
RESIDENCE = {
    "residence_country": "DE",
    "address_line1": "Hauptstrasse 1",
    "address_line2": "",
    "city": "Berlin",
    "postcode": "10115",
}


def registrations(world: Any) -> list[tuple[str, str]]:
    """The registrations recorded, as (outcome, entity code), oldest first."""
    rows = (
        audit_events_visible_to(world.superuser)
        .filter(action__startswith="identity.registration_")
        .order_by("pk")
    )
    return [(row.after["outcome"], row.after["routing"]["entity"]) for row in rows]


def clients(**filters: Any) -> Any:
    """The client logins (each with its profile) the portal opened."""
    return User.objects.filter(kind="client", **filters)


def step_url(step: str, brand: str = "eu-brand") -> str:
    return f"/b/{brand}/register/{step}/"


def through_the_wizard(
    browser: Client,
    brand: str = "eu-brand",
    account: dict[str, Any] | None = None,
    personal: dict[str, Any] | None = None,
    residence: dict[str, Any] | None = None,
):
    first = browser.post(step_url("account", brand), {**ACCOUNT, **(account or {})})
    assert (first.status_code, first["Location"]) == (302, step_url("personal", brand))
    second = browser.post(step_url("personal", brand), {**PERSONAL, **(personal or {})})
    assert (second.status_code, second["Location"]) == (302, step_url("residence", brand))
    return browser.post(step_url("residence", brand), {**RESIDENCE, **(residence or {})})


def test_a_new_client_registers_in_three_steps_and_is_signed_in(
    portal_world, django_capture_on_commit_callbacks
):
    browser = Client()
    entry = browser.get(START + "?ref=partner-7")
    assert (entry.status_code, entry["Location"]) == (302, step_url("account"))
    page = browser.get(step_url("account"))
    text = page.content.decode()
    assert page.status_code == 200
    assert "Step 1 of 3" in text
    assert 'autocomplete="new-password"' in text
    with django_capture_on_commit_callbacks(execute=True):
        done = through_the_wizard(browser)
    assert (done.status_code, done["Location"]) == (302, "/b/eu-brand/client/verification/")
    profile = clients().get().profile
    assert (profile.entity, profile.brand, profile.given_name, profile.family_name) == (
        portal_world.eu,
        portal_world.eu_brand,
        "Ivan",
        "Petrov",
    )
    assert (profile.residence_country, profile.city, profile.postcode, profile.language) == (
        "DE",
        "Berlin",
        "10115",
        "en",
    )
    assert str(profile.birth_date) == "1985-07-14"
    assert registrations(portal_world) == [("new", "EU")]
    assert ClientToken.objects.filter(user__profile=profile).count() == 1
    assert clients(profile=profile).get().check_password(PASSWORD)
    kyc_file = client_kyc_file(entity_id=profile.entity_id, profile_id=profile.pk)
    assert kyc_file.status == "draft"
    # Signed in: the verification page is the client's, and the wizard's answers are gone.
    page = browser.get("/b/eu-brand/client/verification/")
    assert page.status_code == 200
    assert "Your account is open" in page.content.decode()
    assert "portal_register" not in browser.session
    assert [m.to for m in mail.outbox] == [["ivan.petrov@example.com"]]


def test_the_referral_code_from_the_link_reaches_the_registration(portal_world):
    browser = Client()
    browser.get(START + "?ref=partner-7")
    through_the_wizard(browser)
    audit = audit_events_visible_to(portal_world.superuser).get(action="identity.registration_new")
    assert audit.after["referral_code"] == "partner-7"


def test_back_forth_and_reload_resume_without_personal_data_in_urls(portal_world):
    browser = Client()
    browser.post(step_url("account"), ACCOUNT)
    browser.post(step_url("personal"), PERSONAL)
    # A later step cannot be skipped to from a new session.
    assert Client().get(step_url("residence"))["Location"] == step_url("account")
    # Reloading the entry resumes at the first step not answered.
    assert browser.get(START)["Location"] == step_url("residence")
    # Going back shows the answers given (never the password).
    back = browser.get(step_url("personal")).content.decode()
    assert 'value="Petrov"' in back
    assert 'value="1985-07-14"' in back
    account = browser.get(step_url("account")).content.decode()
    assert 'value="ivan.petrov@example.com"' in account
    assert PASSWORD not in account
    assert "Leave it empty to keep the password you chose." in account
    # Changing the e-mail without retyping the password keeps the password.
    changed = browser.post(step_url("account"), {"email": "ivan.p@example.com", "password": ""})
    assert changed["Location"] == step_url("personal")
    assert PASSWORD not in str(dict(browser.session))  # kept encrypted
    done = browser.post(step_url("residence"), RESIDENCE)
    assert done["Location"] == "/b/eu-brand/client/verification/"
    login = clients().get()
    assert login.profile.email == "ivan.p@example.com"
    assert login.check_password(PASSWORD)
    for response in (done,):
        assert "Petrov" not in response["Location"]


def test_a_refused_country_shows_the_entitys_message_and_writes_nothing(portal_world):
    browser = Client()
    refused = through_the_wizard(browser, residence={"residence_country": "US"})
    assert refused.status_code == 200
    text = refused.content.decode()
    message = f"{portal_world.eu.legal_name} does not accept residents of United States of America."
    assert message in text
    assert "Step 3 of 3" in text
    assert not clients().exists()
    assert registrations(portal_world) == []
    assert not Event.objects.filter(type__startswith="identity.").exists()
    # The answers stay: a served country goes through.
    done = browser.post(step_url("residence"), {**RESIDENCE, "residence_country": "FR"})
    assert done["Location"] == "/b/eu-brand/client/verification/"
    assert clients().get().profile.residence_country == "FR"


def test_an_existing_person_through_the_other_entity_is_held_for_review_neutrally(portal_world):
    register(portal_world.uk_brand, residence_country="GB", birth_date="1985-07-04", document=None)
    browser = Client()
    done = through_the_wizard(browser, personal={"birth_date": "1985-04-07"})
    assert (done.status_code, done["Location"]) == (302, "/b/eu-brand/register/done/")
    page = browser.get("/b/eu-brand/register/done/")
    text = page.content.decode()
    assert page.status_code == 200
    assert "We are checking your details" in text
    for revealing in ("UK", "1985-07-04", "match", "already", "duplicate"):
        assert revealing not in text
    held = clients(profile__entity=portal_world.eu).get().profile
    assert held.status == "pending"
    assert registrations(portal_world) == [("new", "UK"), ("review", "EU")]
    # Signed in all the same: the verification page opens.
    assert browser.get("/b/eu-brand/client/verification/").status_code == 200


def test_a_second_registration_in_the_same_entity_is_sent_to_log_in(portal_world):
    register(portal_world.eu_brand, email="ivan.first@example.com")
    browser = Client()
    done = through_the_wizard(browser)
    assert done["Location"] == "/b/eu-brand/register/done/"
    text = browser.get("/b/eu-brand/register/done/").content.decode()
    assert "You already have an account with us: log in or reset your password." in text
    assert 'href="/b/eu-brand/login/"' in text
    assert 'href="/b/eu-brand/password-reset/"' in text
    assert "ivan.first" not in text
    assert not clients().exists()  # the first registration opened no login
    assert registrations(portal_world) == [("new", "EU"), ("duplicate", "EU")]
    assert not ClientToken.objects.exists()
    # Not signed in.
    assert browser.get("/b/eu-brand/client/verification/").status_code == 302


def test_a_blocked_registration_is_asked_to_contact_support_and_nothing_more(portal_world):
    from identity.services import person_aml_block

    known = register(portal_world.uk_brand, residence_country="GB", email="a@example.com")
    person_aml_block(
        actor=portal_world.uk_compliance,
        person=known.person,
        reason="AML: source of funds",
        entity=portal_world.uk,
    )
    browser = Client()
    done = through_the_wizard(browser)
    assert done["Location"] == "/b/eu-brand/register/done/"
    text = browser.get("/b/eu-brand/register/done/").content.decode()
    assert "We cannot open an account online. Please contact support." in text
    for revealing in ("AML", "UK", "already", "log in"):
        assert revealing not in text
    assert registrations(portal_world) == [("new", "UK"), ("block", "EU")]
    assert not clients().exists()
    assert not ClientToken.objects.exists()


@pytest.mark.parametrize(
    ("step", "values", "field_error"),
    [
        ("account", {"email": "ivan.petrov@example.com", "password": "1234567890"}, "password"),
        ("account", {"email": "not-an-address", "password": PASSWORD}, "email"),
        ("account", {"email": "", "password": ""}, "email"),
        ("personal", {**PERSONAL, "birth_date": "14.07.85"}, "birth_date"),
        ("personal", {**PERSONAL, "birth_date": "2999-01-01"}, "birth_date"),
        ("personal", {**PERSONAL, "given_name": ""}, "given_name"),
        ("personal", {**PERSONAL, "nationality": "XX"}, "nationality"),
        ("residence", {**RESIDENCE, "city": ""}, "city"),
    ],
)
def test_bad_inputs_reshow_the_step_with_errors(portal_world, step, values, field_error):
    browser = Client()
    if step != "account":
        browser.post(step_url("account"), ACCOUNT)
    if step == "residence":
        browser.post(step_url("personal"), PERSONAL)
    response = browser.post(step_url(step), values)
    assert response.status_code == 200
    text = response.content.decode()
    assert f'id="id_{field_error}_error"' in text
    assert step not in browser.session.get("portal_register", {})
    assert not clients().exists()
    assert registrations(portal_world) == []


def test_an_applicant_too_young_is_shown_the_personal_step_again(portal_world):
    from django.utils import timezone

    young = timezone.localdate().replace(year=timezone.localdate().year - 16, day=1)
    browser = Client()
    response = through_the_wizard(browser, personal={"birth_date": young.isoformat()})
    assert response.status_code == 200
    text = response.content.decode()
    assert "Step 2 of 3" in text
    assert "Applicants must be at least 18 years old." in text
    assert not clients().exists()
    assert registrations(portal_world) == []


def test_a_signed_in_client_is_not_shown_the_wizard(portal_world):
    browser = Client()
    through_the_wizard(browser)
    assert browser.get(START)["Location"] == "/b/eu-brand/client/verification/"
    assert Client().get("/b/eu-brand/register/nowhere/").status_code == 404
