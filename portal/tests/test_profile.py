"""Profile and security in the portal: my details, contact details and language, the password,
and my signed-in sessions."""

from __future__ import annotations

import pytest
from django.core import mail
from django.test import Client

from audit.selectors import audit_events_visible_to
from brokercrm.accounts.models import ClientToken, User
from brokercrm.accounts.tests.factories import CLIENT_PASSWORD, client_login
from identity.selectors import profile_get
from identity.tests.factories import register
from portal.tests.pages import another_client
from portal.tests.test_sign_in import EMAIL, sign_in

pytestmark = pytest.mark.django_db

PROFILE = "/b/eu-brand/client/profile/"
CONTACT = "/b/eu-brand/client/profile/contact/"
PASSWORD = "/b/eu-brand/client/profile/password/"
SESSIONS_END = "/b/eu-brand/client/profile/sessions/end/"
NEW_PASSWORD = "amber-walrus-morning-77"


def ivan(world):
    """Ivan Petrov, an EU client with a login (he signs in with `signed_in_browser`)."""
    profile = register(world.eu_brand, email=EMAIL).profile
    client_login(profile)
    return profile


@pytest.fixture
def eu_client(portal_world):
    return ivan(portal_world)


def audit_rows():
    return audit_events_visible_to(User.objects.get(username="root"))


def profile_values(profile) -> dict:
    row = profile_get(profile)
    return {field.attname: getattr(row, field.attname) for field in row._meta.concrete_fields}


def signed_in_browser(password: str = CLIENT_PASSWORD) -> Client:
    browser = Client()
    response = sign_in(browser, "eu-brand", password=password)
    assert response.status_code == 302, response.content
    return browser


def contact_form(profile, **changes):
    values = {
        "email": profile.email,
        "phone": profile.phone,
        "address_line1": profile.address_line1,
        "address_line2": profile.address_line2,
        "city": profile.city,
        "postcode": profile.postcode,
        "language": profile.language,
        **changes,
    }
    return {f"contact-{name}": value for name, value in values.items()}


def password_form(current: str, new: str, again: str | None = None):
    return {
        "password-current_password": current,
        "password-new_password": new,
        "password-new_password_again": new if again is None else again,
    }


def signed_in(browser: Client) -> bool:
    return browser.get(PROFILE).status_code == 200


def test_the_page_shows_my_details_and_marks_this_session(portal_world, eu_client):
    other = signed_in_browser()  # another device
    browser = signed_in_browser()
    response = browser.get(PROFILE)
    assert response.status_code == 200
    text = response.content.decode()
    for shown in ("Ivan", "Petrov", EMAIL, "Not confirmed yet", "+4915123456789", "Berlin"):
        assert shown in text
    assert text.count("<strong>This session</strong>") == 1
    assert text.count("Another device or browser") == 1
    assert "Log out everywhere else" in text
    assert 'aria-current="page">Profile and security' in text
    assert signed_in(other)


def test_the_page_asks_to_sign_in(portal_world, eu_client):
    response = Client().get(PROFILE)
    assert (response.status_code, response["Location"]) == (
        302,
        "/b/eu-brand/login/?next=%2Fb%2Feu-brand%2Fclient%2Fprofile%2F",
    )


def test_contact_details_and_language_are_saved(portal_world, eu_client):
    browser = signed_in_browser()
    response = browser.post(
        CONTACT, contact_form(eu_client, city="Hamburg", postcode="20095", language="es")
    )
    assert (response.status_code, response["Location"]) == (302, "/b/eu-brand/client/profile/")
    profile = profile_get(eu_client)
    assert (profile.city, profile.postcode, profile.language) == ("Hamburg", "20095", "es")
    event = audit_rows().filter(action="identity.profile_updated").latest("pk")
    # only what changed is written (the audit log masks the postcode)
    assert event.after == {"city": "Hamburg", "postcode": "•••••", "language": "es"}
    page = browser.get(PROFILE)
    assert page["Content-Language"] == "es"  # the page follows the new language


def test_a_new_email_must_be_confirmed_again(portal_world, eu_client):
    browser = signed_in_browser()
    mail.outbox.clear()
    response = browser.post(CONTACT, contact_form(eu_client, email="ivan.new@example.com"))
    assert response.status_code == 302
    profile = profile_get(eu_client)
    assert (profile.email, profile.email_verified) == ("ivan.new@example.com", False)
    page = browser.get(PROFILE).content.decode()
    assert "We sent a link to ivan.new@example.com: open it to confirm the new address." in page
    assert "Not confirmed yet" in page


@pytest.mark.parametrize(
    ("changes", "message"),
    [
        ({"phone": "call me maybe"}, "The phone number contains letters."),
        ({"phone": "+49 1234"}, "This phone number does not exist."),
        ({"phone": "+49 1"}, "This is not a phone number."),
        ({"email": "not-an-address"}, "Enter a valid email address."),
        ({"language": "xx"}, "Select a valid choice. xx is not one of the available choices."),
    ],
)
def test_a_bad_contact_detail_shows_the_error_and_changes_nothing(
    portal_world, eu_client, changes, message
):
    browser = signed_in_browser()
    before = profile_values(eu_client)
    events = audit_rows().filter(action="identity.profile_updated").count()
    response = browser.post(CONTACT, contact_form(eu_client, city="Hamburg", **changes))
    assert response.status_code == 200
    text = response.content.decode()
    assert message in text
    assert 'value="Hamburg"' in text  # what the client typed stays on the form
    assert profile_values(eu_client) == before
    assert audit_rows().filter(action="identity.profile_updated").count() == events


def test_the_email_of_another_login_is_refused(portal_world, eu_client):
    another_client(portal_world.eu_brand)
    browser = signed_in_browser()
    response = browser.post(CONTACT, contact_form(eu_client, email="olga.sidorova@example.com"))
    assert response.status_code == 200
    assert 'class="field has-error"' in response.content.decode()
    assert profile_get(eu_client).email == EMAIL


def test_a_wrong_current_password_changes_nothing(portal_world, eu_client):
    browser = signed_in_browser()
    response = browser.post(PASSWORD, password_form("not-my-password", NEW_PASSWORD))
    assert response.status_code == 200
    assert "The current password is wrong." in response.content.decode()
    assert User.objects.get(profile=eu_client).check_password(CLIENT_PASSWORD)
    assert not audit_rows().filter(action="access.client_password_changed").exists()


@pytest.mark.parametrize(
    ("new", "again", "message"),
    [
        ("short1", None, "This password is too short. It must contain at least 10 characters."),
        ("1234567890123", None, "This password is entirely numeric."),
        (NEW_PASSWORD, "amber-walrus-morning-78", "The two new passwords differ."),
    ],
)
def test_a_weak_or_mistyped_new_password_is_refused(portal_world, eu_client, new, again, message):
    browser = signed_in_browser()
    response = browser.post(PASSWORD, password_form(CLIENT_PASSWORD, new, again))
    assert response.status_code == 200
    assert message in response.content.decode()
    assert User.objects.get(profile=eu_client).check_password(CLIENT_PASSWORD)


def test_a_password_change_keeps_this_session_and_ends_the_others(portal_world, eu_client):
    laptop = signed_in_browser()
    browser = signed_in_browser()
    response = browser.post(PASSWORD, password_form(CLIENT_PASSWORD, NEW_PASSWORD))
    assert (response.status_code, response["Location"]) == (302, "/b/eu-brand/client/profile/")
    assert "You stay signed in here" in browser.get(PROFILE).content.decode()
    assert signed_in(browser)
    assert not signed_in(laptop)
    assert ClientToken.objects.filter(user__profile=eu_client).count() == 1
    event = audit_rows().get(action="access.client_password_changed")
    assert event.after == {"sessions_ended": 1}
    # the new password signs in; the old one no longer does
    assert signed_in(signed_in_browser(NEW_PASSWORD))
    assert sign_in(Client(), "eu-brand").status_code == 200


def test_log_out_everywhere_else_keeps_this_session(portal_world, eu_client):
    laptop = signed_in_browser()
    browser = signed_in_browser()
    response = browser.post(SESSIONS_END, {"scope": "others"})
    assert (response.status_code, response["Location"]) == (302, "/b/eu-brand/client/profile/")
    assert signed_in(browser)
    assert not signed_in(laptop)
    event = audit_rows().get(action="access.client_logged_out_elsewhere")
    assert (event.actor_id, event.after) == (
        User.objects.get(profile=eu_client).pk,
        {"sessions_ended": 1},
    )
    assert "Log out everywhere else" not in browser.get(PROFILE).content.decode()


def test_log_out_everywhere_ends_this_session_too(portal_world, eu_client):
    laptop = signed_in_browser()
    browser = signed_in_browser()
    response = browser.post(SESSIONS_END, {"scope": "all"})
    assert (response.status_code, response["Location"]) == (302, "/b/eu-brand/login/")
    assert not signed_in(browser)
    assert not signed_in(laptop)
    assert not ClientToken.objects.filter(user__profile=eu_client).exists()
    event = audit_rows().get(action="access.client_logged_out_everywhere")
    assert event.after == {"sessions_ended": 2}


def test_sessions_are_ended_by_post_only(portal_world, eu_client):
    browser = signed_in_browser()
    assert browser.get(SESSIONS_END).status_code == 405
    assert signed_in(browser)
