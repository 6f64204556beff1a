from __future__ import annotations

from cryptography.fernet import Fernet
from django.core.management import call_command
from django.db import connection

from identity.models import IdentityDocument

from .factories import register


def _raw_token() -> str:
    with connection.cursor() as cursor:
        cursor.execute("SELECT number FROM identity_identitydocument")
        return cursor.fetchone()[0]


def test_rotation_reencrypts_every_row_and_matching_still_works(world, settings, capsys):
    old_key = Fernet.generate_key().decode()
    settings.FIELD_ENCRYPTION_KEY = old_key
    register(world.eu_brand)
    token_before = _raw_token()
    new_key = Fernet.generate_key().decode()
    settings.FIELD_ENCRYPTION_KEY = f"{new_key},{old_key}"
    call_command("rotate_field_keys")
    assert "rotated" in capsys.readouterr().out
    token_after = _raw_token()
    assert token_after != token_before
    # Only the new key is needed from now on.
    settings.FIELD_ENCRYPTION_KEY = new_key
    assert IdentityDocument.objects.unscoped().get().number == "C01X00T47"
    # The blind index did not change, so the same passport is still found.
    again = register(world.uk_brand, residence_country="GB", email="other@example.com", phone="")
    assert again.outcome == "auto_link"
    call_command("rotate_field_keys")
    assert _raw_token() == token_after  # nothing left to rotate
