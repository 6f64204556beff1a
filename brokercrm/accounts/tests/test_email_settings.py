"""EMAIL_URL is read into Django's e-mail settings; without it, mail goes to var/mail/."""

from __future__ import annotations

import pytest
from django.conf import settings
from django.core.exceptions import ImproperlyConfigured

from brokercrm.settings import _email_settings


def test_no_url_writes_mail_as_files_under_var():
    assert _email_settings("") == {
        "EMAIL_BACKEND": "django.core.mail.backends.filebased.EmailBackend",
        "EMAIL_FILE_PATH": str(settings.VAR_DIR / "mail"),
    }


def test_smtp_with_starttls_and_a_quoted_password():
    parsed = _email_settings("smtp://mailer:p%40ss%2Fword@mail.example.com:587?tls=1&timeout=10")
    assert parsed == {
        "EMAIL_BACKEND": "django.core.mail.backends.smtp.EmailBackend",
        "EMAIL_HOST": "mail.example.com",
        "EMAIL_PORT": 587,
        "EMAIL_HOST_USER": "mailer",
        "EMAIL_HOST_PASSWORD": "p@ss/word",
        "EMAIL_USE_TLS": True,
        "EMAIL_USE_SSL": False,
        "EMAIL_TIMEOUT": 10,
    }


def test_implicit_tls_and_submission():
    ssl = _email_settings("smtp://u:p@mail.example.com:465?ssl=1")
    assert (ssl["EMAIL_USE_SSL"], ssl["EMAIL_USE_TLS"], ssl["EMAIL_PORT"]) == (True, False, 465)
    submission = _email_settings("submission://u:p@mail.example.com")
    assert (submission["EMAIL_USE_TLS"], submission["EMAIL_PORT"]) == (True, 587)


def test_a_server_without_credentials():
    parsed = _email_settings("smtp://relay.internal")
    assert (parsed["EMAIL_HOST"], parsed["EMAIL_PORT"]) == ("relay.internal", 25)
    assert (parsed["EMAIL_HOST_USER"], parsed["EMAIL_HOST_PASSWORD"]) == ("", "")
    assert parsed["EMAIL_TIMEOUT"] is None


@pytest.mark.parametrize("url", ["console://", "file:///tmp/mail", "mailto:x@example.com", "smtp"])
def test_other_schemes_are_refused(url):
    with pytest.raises(ImproperlyConfigured, match="EMAIL_URL"):
        _email_settings(url)


def test_tests_use_the_in_memory_outbox():
    assert settings.EMAIL_BACKEND == "django.core.mail.backends.locmem.EmailBackend"
    assert settings.DEFAULT_FROM_EMAIL
