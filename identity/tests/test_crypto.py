"""Encryption at rest, key rotation, blind indexes and the encrypted model field.

None of these tests touches the database: the field is exercised through its conversion
methods and through queries that are built but never run.
"""

from __future__ import annotations

import hashlib
import hmac
from typing import Any

import pytest
from cryptography.fernet import Fernet
from django.core.exceptions import FieldError, ImproperlyConfigured
from django.core.management import call_command
from django.core.management.base import CommandError
from django.db import connection, models
from django.db.models.lookups import IsNull
from django.test.utils import isolate_apps
from django.utils.translation import gettext_lazy
from hypothesis import HealthCheck, given
from hypothesis import settings as hypothesis_settings
from hypothesis import strategies as st

from identity import crypto
from identity.fields import CipherText, EncryptedTextField, masked
from identity.management.commands.rotate_field_keys import (
    Command as RotateCommand,
)
from identity.management.commands.rotate_field_keys import (
    _ModelReport,
    encrypted_fields_by_model,
)

BLIND_KEY = "test-blind-index-key-of-at-least-32-chars"
OTHER_BLIND_KEY = "another-blind-index-key-of-32-chars-or-more"


def new_key() -> str:
    return Fernet.generate_key().decode()


@pytest.fixture
def key(settings: Any) -> str:
    """One fresh encryption key, and a blind index key, for the test."""
    fresh = new_key()
    settings.FIELD_ENCRYPTION_KEY = fresh
    settings.BLIND_INDEX_KEY = BLIND_KEY
    return fresh


# --- encrypt / decrypt -----------------------------------------------------------------


@pytest.mark.parametrize("plaintext", ["AB1234567", "", "Ünïcødé 123 ✓", "x" * 5000])
def test_decrypt_returns_what_was_encrypted(key: str, plaintext: str) -> None:
    token = crypto.encrypt(plaintext)

    assert crypto.decrypt(token) == plaintext


@given(plaintext=st.text())
@hypothesis_settings(suppress_health_check=[HealthCheck.function_scoped_fixture], max_examples=50)
def test_round_trip_holds_for_any_text(key: str, plaintext: str) -> None:
    assert crypto.decrypt(crypto.encrypt(plaintext)) == plaintext


def test_each_encryption_gives_a_new_token_without_the_plaintext(key: str) -> None:
    plaintext = "PASSPORT-X1234567"

    tokens = {crypto.encrypt(plaintext) for _ in range(20)}

    assert len(tokens) == 20
    for token in tokens:
        assert plaintext not in token
        assert "X1234567" not in token


def test_encrypt_refuses_non_text(key: str) -> None:
    with pytest.raises(TypeError, match="takes str"):
        crypto.encrypt(b"bytes")  # type: ignore[arg-type]


def test_keys_may_be_listed_with_spaces_or_as_a_list(settings: Any) -> None:
    newest, older = new_key(), new_key()
    settings.FIELD_ENCRYPTION_KEY = older
    old_token = crypto.encrypt("AB123")

    settings.FIELD_ENCRYPTION_KEY = f" {newest} , {older} ,"
    assert crypto.decrypt(old_token) == "AB123"
    settings.FIELD_ENCRYPTION_KEY = [newest, older]
    assert crypto.decrypt(old_token) == "AB123"


def test_a_changed_setting_takes_effect_at_once(settings: Any) -> None:
    settings.FIELD_ENCRYPTION_KEY = new_key()
    token = crypto.encrypt("AB123")

    settings.FIELD_ENCRYPTION_KEY = new_key()

    with pytest.raises(crypto.DecryptionError):
        crypto.decrypt(token)


# --- tampering and foreign tokens ------------------------------------------------------


def _flip_one_character(token: str, position: int) -> str:
    replacement = "A" if token[position] != "A" else "B"
    return token[:position] + replacement + token[position + 1 :]


@pytest.mark.parametrize("position", [10, 40, -10])
def test_tampered_token_is_refused(key: str, position: int) -> None:
    token = crypto.encrypt("AB1234567")

    with pytest.raises(crypto.DecryptionError) as caught:
        crypto.decrypt(_flip_one_character(token, position))

    assert caught.value.code == "decryption_failed"
    assert isinstance(caught.value, ValueError)
    assert "FIELD_ENCRYPTION_KEY" in str(caught.value)


@pytest.mark.parametrize("garbage", ["", "not a token", "gAAAAA", "pässport"])
def test_values_that_are_not_tokens_are_refused(key: str, garbage: str) -> None:
    with pytest.raises(crypto.DecryptionError):
        crypto.decrypt(garbage)


def test_token_from_a_key_no_longer_configured_is_refused(settings: Any) -> None:
    settings.FIELD_ENCRYPTION_KEY = new_key()
    foreign = crypto.encrypt("AB123")
    settings.FIELD_ENCRYPTION_KEY = f"{new_key()},{new_key()}"

    with pytest.raises(crypto.DecryptionError):
        crypto.decrypt(foreign)
    # Not "needs rotation": no key can read it, so rotating it is impossible.
    with pytest.raises(crypto.DecryptionError):
        crypto.needs_rotation(foreign)
    with pytest.raises(crypto.DecryptionError):
        crypto.rotate(foreign)


# --- rotation --------------------------------------------------------------------------


def test_old_token_still_decrypts_and_rotation_moves_it_to_the_newest_key(settings: Any) -> None:
    old_key, newest_key = new_key(), new_key()
    settings.FIELD_ENCRYPTION_KEY = old_key
    old_token = crypto.encrypt("AB1234567")

    settings.FIELD_ENCRYPTION_KEY = f"{newest_key},{old_key}"

    assert crypto.decrypt(old_token) == "AB1234567"
    assert crypto.needs_rotation(old_token) is True

    rotated = crypto.rotate(old_token)

    assert rotated != old_token
    assert crypto.needs_rotation(rotated) is False
    assert Fernet(newest_key).decrypt(rotated.encode()) == b"AB1234567"
    # Once every row is rotated the old key can go, and the data stays readable.
    settings.FIELD_ENCRYPTION_KEY = newest_key
    assert crypto.decrypt(rotated) == "AB1234567"


def test_new_tokens_are_written_under_the_newest_key(settings: Any) -> None:
    newest_key, old_key = new_key(), new_key()
    settings.FIELD_ENCRYPTION_KEY = f"{newest_key},{old_key}"

    token = crypto.encrypt("AB123")

    assert crypto.needs_rotation(token) is False
    assert Fernet(newest_key).decrypt(token.encode()) == b"AB123"


def test_with_one_key_nothing_needs_rotation(key: str) -> None:
    assert crypto.needs_rotation(crypto.encrypt("AB123")) is False


# --- key configuration -----------------------------------------------------------------


@pytest.mark.parametrize("value", ["", "  ", ",", None])
def test_missing_encryption_key_is_a_configuration_error(settings: Any, value: Any) -> None:
    settings.FIELD_ENCRYPTION_KEY = value

    with pytest.raises(crypto.KeyConfigurationError, match="FIELD_ENCRYPTION_KEY is not set"):
        crypto.encrypt("AB123")


def test_missing_setting_attribute_is_a_configuration_error(settings: Any) -> None:
    del settings.FIELD_ENCRYPTION_KEY

    with pytest.raises(crypto.KeyConfigurationError, match="FIELD_ENCRYPTION_KEY"):
        crypto.decrypt("gAAAA")


@pytest.mark.parametrize(
    "bad_key",
    [
        "not-a-fernet-key",
        # Valid base64, but of 16 bytes instead of 32.
        "MDEyMzQ1Njc4OWFiY2RlZg==",
    ],
)
def test_malformed_encryption_key_is_named_without_echoing_it(settings: Any, bad_key: str) -> None:
    settings.FIELD_ENCRYPTION_KEY = f"{new_key()},{bad_key}"

    with pytest.raises(crypto.KeyConfigurationError) as caught:
        crypto.encrypt("AB123")

    message = str(caught.value)
    assert "FIELD_ENCRYPTION_KEY entry 2 of 2 is not a valid Fernet key" in message
    assert "Fernet.generate_key()" in message
    assert bad_key not in message
    assert isinstance(caught.value, ImproperlyConfigured)


@pytest.mark.parametrize("value", ["", None, "x" * 31])
def test_missing_or_short_blind_index_key_is_a_configuration_error(
    settings: Any, value: Any
) -> None:
    settings.BLIND_INDEX_KEY = value

    with pytest.raises(crypto.KeyConfigurationError, match="BLIND_INDEX_KEY") as caught:
        crypto.blind_index("doc", "AB123")

    assert "at least 32 characters" in str(caught.value)


def test_validate_keys_accepts_a_good_configuration(key: str) -> None:
    crypto.validate_keys()


def test_validate_keys_refuses_an_encryption_key_reused_as_index_key(settings: Any) -> None:
    shared = new_key()
    settings.FIELD_ENCRYPTION_KEY = shared
    settings.BLIND_INDEX_KEY = shared

    with pytest.raises(crypto.KeyConfigurationError, match="must not be one of"):
        crypto.validate_keys()


def test_validate_keys_reports_a_missing_index_key(key: str, settings: Any) -> None:
    settings.BLIND_INDEX_KEY = ""

    with pytest.raises(crypto.KeyConfigurationError, match="BLIND_INDEX_KEY is not set"):
        crypto.validate_keys()


# --- blind indexes ---------------------------------------------------------------------


def test_blind_index_is_keyed_hmac_of_kind_and_value_truncated_to_16_bytes(key: str) -> None:
    expected = hmac.new(BLIND_KEY.encode(), b"doc\x1fAB1234567", hashlib.sha256).digest()[:16]

    assert crypto.blind_index("doc", "AB1234567") == expected
    assert crypto.blind_index_hex("doc", "AB1234567") == expected.hex()
    assert len(crypto.blind_index_hex("doc", "AB1234567")) == 32


def test_blind_index_is_deterministic(key: str) -> None:
    assert crypto.blind_index("tax", "DE123456789") == crypto.blind_index("tax", "DE123456789")


def test_blind_index_differs_per_kind_and_per_value(key: str) -> None:
    digests = {
        crypto.blind_index("doc", "AB123"),
        crypto.blind_index("tax", "AB123"),
        crypto.blind_index("email", "AB123"),
        crypto.blind_index("doc", "AB124"),
        # The separator keeps the kind/value boundary: "do" + "c..." is not "doc" + "...".
        crypto.blind_index("do", "cAB123"),
    }

    assert len(digests) == 5


def test_blind_index_differs_per_key(settings: Any, key: str) -> None:
    first = crypto.blind_index("doc", "AB123")

    settings.BLIND_INDEX_KEY = OTHER_BLIND_KEY

    assert crypto.blind_index("doc", "AB123") != first


def test_blind_index_survives_encryption_key_rotation(settings: Any, key: str) -> None:
    before = crypto.blind_index("doc", "AB123")

    settings.FIELD_ENCRYPTION_KEY = f"{new_key()},{key}"

    assert crypto.blind_index("doc", "AB123") == before


@pytest.mark.parametrize("kind", ["", "doc\x1f"])
def test_blind_index_refuses_an_ambiguous_kind(key: str, kind: str) -> None:
    with pytest.raises(ValueError, match="kind"):
        crypto.blind_index(kind, "AB123")


def test_blind_index_treats_a_choices_member_as_its_value(key: str) -> None:
    class Kind(models.TextChoices):
        DOCUMENT = "doc"

    assert crypto.blind_index(Kind.DOCUMENT, "AB123") == crypto.blind_index("doc", "AB123")


@pytest.mark.parametrize("value", [None, 123, b"AB123"])
def test_blind_index_refuses_a_value_that_is_not_text(key: str, value: Any) -> None:
    with pytest.raises(TypeError, match="must be str"):
        crypto.blind_index("doc", value)


@given(value=st.text())
@hypothesis_settings(suppress_health_check=[HealthCheck.function_scoped_fixture], max_examples=50)
def test_blind_index_is_16_bytes_for_any_value(key: str, value: str) -> None:
    digest = crypto.blind_index("name_dob", value)

    assert len(digest) == 16
    assert digest == crypto.blind_index("name_dob", value)


# --- EncryptedTextField ----------------------------------------------------------------


def test_field_encrypts_on_the_way_in_and_decrypts_on_the_way_out(key: str) -> None:
    field = EncryptedTextField()

    stored = field.get_prep_value("AB1234567")

    assert stored is not None
    assert "AB1234567" not in stored
    assert crypto.decrypt(stored) == "AB1234567"
    assert field.from_db_value(stored, None, connection) == "AB1234567"  # type: ignore[arg-type]


def test_field_save_path_encrypts(key: str) -> None:
    field = EncryptedTextField()

    stored = field.get_db_prep_save("AB1234567", connection)

    assert crypto.decrypt(stored) == "AB1234567"


def test_field_keeps_none_as_none(key: str) -> None:
    field = EncryptedTextField(null=True)

    assert field.get_prep_value(None) is None
    assert field.from_db_value(None, None, connection) is None  # type: ignore[arg-type]


def test_field_saving_twice_never_encrypts_a_token(key: str) -> None:
    # The instance keeps the plaintext; each save encrypts that plaintext once.
    field = EncryptedTextField()
    on_instance = "AB1234567"

    first = field.get_prep_value(on_instance)
    second = field.get_prep_value(on_instance)

    assert first != second
    assert crypto.decrypt(first) == crypto.decrypt(second) == "AB1234567"


def test_field_coerces_lazy_strings_and_numbers_before_encrypting(key: str) -> None:
    field = EncryptedTextField()

    assert crypto.decrypt(field.get_prep_value(gettext_lazy("AB123"))) == "AB123"
    assert crypto.decrypt(field.get_prep_value(1234567)) == "1234567"


def test_ciphertext_passes_through_unchanged(key: str) -> None:
    field = EncryptedTextField()
    token = crypto.encrypt("AB1234567")

    stored = field.get_prep_value(CipherText(token))

    assert stored == token
    assert type(stored) is str
    assert field.to_python(CipherText(token)) == token


@pytest.mark.parametrize("not_a_token", ["AB1234567", "", "gAAAAA", "ä"])
def test_ciphertext_refuses_a_plaintext(not_a_token: str) -> None:
    with pytest.raises(ValueError, match="Fernet token"):
        CipherText(not_a_token)


@pytest.mark.parametrize("lookup", ["exact", "iexact", "in", "contains", "startswith", "gt"])
def test_field_refuses_lookups_and_points_to_the_blind_index(lookup: str) -> None:
    field = EncryptedTextField()
    field.set_attributes_from_name("document_number")

    with pytest.raises(FieldError, match="blind index") as caught:
        field.get_lookup(lookup)

    assert "document_number" in str(caught.value)
    assert f"'{lookup}'" in str(caught.value)


def test_field_refuses_transforms() -> None:
    with pytest.raises(FieldError, match="blind index"):
        EncryptedTextField().get_transform("lower")


def test_field_allows_isnull() -> None:
    assert EncryptedTextField().get_lookup("isnull") is IsNull


@isolate_apps("identity")
def test_queries_on_the_field_are_refused_when_built() -> None:
    class Holder(models.Model):
        document_number = EncryptedTextField(null=True)

        class Meta:
            app_label = "identity"

        def __str__(self) -> str:
            return f"Holder {self.pk}"

    with pytest.raises(FieldError, match="blind index"):
        Holder._base_manager.filter(document_number="AB123")
    with pytest.raises(FieldError, match="blind index"):
        Holder._base_manager.filter(document_number__icontains="AB")
    with pytest.raises(FieldError, match="blind index"):
        Holder._base_manager.filter(document_number__lower="ab")
    # Building an isnull filter succeeds (it is not run).
    query = Holder._base_manager.filter(document_number__isnull=True).query
    assert isinstance(query.where.children[0], IsNull)


@isolate_apps("identity")
def test_unique_or_indexed_encrypted_fields_fail_the_system_check() -> None:
    class Holder(models.Model):
        unique_number = EncryptedTextField(unique=True)
        indexed_number = EncryptedTextField(db_index=True)
        plain_number = EncryptedTextField()

        class Meta:
            app_label = "identity"

        def __str__(self) -> str:
            return f"Holder {self.pk}"

    def ids(name: str) -> list[str]:
        return [m.id for m in Holder._meta.get_field(name).check()]

    assert ids("unique_number") == ["identity.E001"]
    assert ids("indexed_number") == ["identity.W001"]
    assert ids("plain_number") == []


def test_field_deconstructs_for_migrations() -> None:
    field = EncryptedTextField(null=True, blank=True)
    field.set_attributes_from_name("tax_number")

    name, path, args, kwargs = field.deconstruct()

    assert (name, path, args) == ("tax_number", "identity.fields.EncryptedTextField", [])
    assert kwargs == {"null": True, "blank": True}
    rebuilt = EncryptedTextField(*args, **kwargs)
    assert (rebuilt.null, rebuilt.blank) == (True, True)


# --- masked ----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("AB1234567", "••••••567"),
        ("1234567", "••••567"),
        ("123456", "••••456"),
        # Short values: at least 4 bullets, and never more than half the value shown.
        ("12345", "••••45"),
        ("AB", "••••B"),
        ("A", "••••"),
        ("", ""),
    ],
)
def test_masked_shows_at_most_the_last_three_characters(value: str, expected: str) -> None:
    assert masked(value) == expected


# --- rotate_field_keys (what runs without tables) --------------------------------------


def test_rotation_command_help_runs(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as caught:
        call_command("rotate_field_keys", "--help")

    assert caught.value.code == 0
    out = capsys.readouterr().out
    assert "--batch-size" in out
    assert "--dry-run" in out


@pytest.mark.parametrize("size", ["0", "-5", "many"])
def test_rotation_command_refuses_a_bad_batch_size(size: str) -> None:
    parser = RotateCommand().create_parser("manage.py", "rotate_field_keys")

    with pytest.raises(CommandError, match="batch-size"):
        parser.parse_args(["--batch-size", size])


def test_rotation_command_stops_before_any_query_when_keys_are_wrong(settings: Any) -> None:
    settings.FIELD_ENCRYPTION_KEY = ""
    settings.BLIND_INDEX_KEY = BLIND_KEY

    with pytest.raises(CommandError, match="FIELD_ENCRYPTION_KEY is not set"):
        call_command("rotate_field_keys")


def test_rotation_command_finds_only_encrypted_fields() -> None:
    for model, fields in encrypted_fields_by_model():
        assert not model._meta.proxy
        assert fields
        assert all(isinstance(f, EncryptedTextField) for f in fields)


def test_rotation_rewrites_old_tokens_only(settings: Any) -> None:
    old_key, newest_key = new_key(), new_key()
    settings.FIELD_ENCRYPTION_KEY = old_key
    settings.BLIND_INDEX_KEY = BLIND_KEY
    old_token = crypto.encrypt("AB123")
    settings.FIELD_ENCRYPTION_KEY = new_key()
    foreign_token = crypto.encrypt("ZZ999")
    settings.FIELD_ENCRYPTION_KEY = f"{newest_key},{old_key}"
    current_token = crypto.encrypt("CD456")
    fields = [EncryptedTextField(name=n) for n in ("old", "current", "empty", "foreign")]
    report = _ModelReport(label="identity.Holder", field_names=[f.name for f in fields])

    changes = RotateCommand._rotated_tokens(
        report, 7, fields, [old_token, current_token, None, foreign_token]
    )

    assert list(changes) == ["old"]
    assert isinstance(changes["old"], CipherText)
    assert Fernet(newest_key).decrypt(changes["old"].encode()) == b"AB123"
    assert report.unreadable == [(7, "foreign")]
    # Run again on the rotated value: nothing left to do.
    again = RotateCommand._rotated_tokens(report, 7, fields[:1], [changes["old"]])
    assert again == {}
