"""Canonical forms of match-key inputs: variants of one value collide, bad input is a coded 400."""

from __future__ import annotations

import contextlib
import datetime
from collections.abc import Callable

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from identity.normalize import (
    NormalizationError,
    birth_date_keys,
    email_display,
    name_key,
    name_tokens,
    normalize_country,
    normalize_device,
    normalize_document_number,
    normalize_email,
    normalize_ip,
    normalize_phone,
    normalize_tax_id,
    parse_birth_date,
    phonetic,
    phonetic_key,
    to_latin,
)
from identity.normalize import dates as normalize_dates

# No example database: a run depends on its seed only, never on failures an earlier run saved.
property_settings = settings(database=None, max_examples=300, deadline=None)


def full_width(digits: str) -> str:
    return digits.translate({ord("0") + d: 0xFF10 + d for d in range(10)})


def assert_code(code: str, function: Callable[..., object], *args: object) -> None:
    with pytest.raises(NormalizationError) as excinfo:
        function(*args)
    assert excinfo.value.code == code
    assert str(excinfo.value)


# --- e-mail ------------------------------------------------------------------------------------


def test_gmail_dots_plus_tags_and_googlemail_collide() -> None:
    # Given four spellings of one Gmail mailbox
    spellings = [
        "john.doe@gmail.com",
        "JohnDoe+forex@gmail.com",
        "  j.o.h.n.d.o.e+a+b@GoogleMail.com ",
        "johndoe@googlemail.com",
    ]

    # When they are normalised
    keys = {normalize_email(raw) for raw in spellings}

    # Then they are one key
    assert keys == {"johndoe@gmail.com"}


def test_outlook_plus_tag_is_dropped_but_dots_kept() -> None:
    # Given an Outlook address with a tag, When normalised, Then the tag goes and dots stay
    assert normalize_email("Jane.Roe+broker2@Outlook.com") == "jane.roe@outlook.com"


def test_provider_without_plus_addressing_keeps_the_plus() -> None:
    # Given GMX, which has no plus addressing, the "+" is part of a different mailbox
    assert normalize_email("Jane+Roe@gmx.de") == "jane+roe@gmx.de"
    assert normalize_email("jane.roe@example.com") == "jane.roe@example.com"


def test_idn_domain_becomes_punycode() -> None:
    assert normalize_email("user@bücher.de") == "user@xn--bcher-kva.de"
    assert normalize_email("User@BÜCHER.de") == "user@xn--bcher-kva.de"


def test_email_display_keeps_the_address_as_typed_with_lowercase_domain() -> None:
    # Given an address with case and tags, When displayed, Then only trimming and the domain change
    assert email_display("  John.Doe+FX@GMail.COM ") == "John.Doe+FX@gmail.com"
    assert email_display("User@BÜCHER.de") == "User@bücher.de"


@pytest.mark.parametrize(
    "raw",
    [
        "john.doe.example.com",
        "john@doe@example.com",
        "@example.com",
        "john doe@example.com",
        "john@exa mple.com",
        "john\x00@example.com",
        "a" * 290 + "@example.com",
        "a" * 65 + "@example.com",
        "john@localhost",
        "john@example..com",
        "john@-example.com",
        "john@192.168.0.1",
        "+tag@gmail.com",
        "...@gmail.com",
        "",
        None,
        42,
    ],
)
def test_malformed_email_raises_email_invalid(raw: object) -> None:
    assert_code("email_invalid", normalize_email, raw)
    assert_code("email_invalid", email_display, raw)


# --- phone -------------------------------------------------------------------------------------


def test_phone_written_three_ways_collides() -> None:
    # Given one Cypriot mobile written international, with 00 and national
    written = ["+357 99 123456", "0035799123456", "99 123456"]

    # When normalised with Cyprus as the default region
    keys = {normalize_phone(raw, "CY") for raw in written}

    # Then they are one E.164 number
    assert keys == {"+35799123456"}


def test_phone_with_country_code_needs_no_region() -> None:
    assert normalize_phone("+44 20 7946 0958", None) == "+442079460958"
    assert normalize_phone("+357 99 123456", "cy") == "+35799123456"


@pytest.mark.parametrize(
    ("raw", "region"),
    [
        ("+357 12 3", "CY"),
        ("+357 00 000000", "CY"),
        ("call me maybe", "CY"),
        ("+357 99 HELLO1", "CY"),
        ("99 123456", None),
        ("99 123456", "XX"),
        ("+3579" + "1" * 40, "CY"),
        ("", "CY"),
        (None, "CY"),
    ],
)
def test_invalid_phone_raises_phone_invalid(raw: object, region: str | None) -> None:
    assert_code("phone_invalid", normalize_phone, raw, region)


# --- names -------------------------------------------------------------------------------------


def test_cyrillic_and_latin_spellings_and_order_give_one_name_key() -> None:
    # Given one name in Cyrillic, in Latin, in reverse order and in two parts
    keys = {
        name_key("Иван Петров"),
        name_key("Ivan Petrov"),
        name_key("Petrov Ivan"),
        name_key("Ivan", "Petrov"),
    }

    # Then it is one key
    assert keys == {"ivan petrov"}


def test_titles_suffixes_and_initials_are_dropped() -> None:
    assert name_key("Dr. John Smith") == name_key("John Smith") == "john smith"
    assert name_key("Mr John F. Smith Jr.") == "john smith"
    assert name_tokens("J.", "K.") == ["j", "k"]


def test_accents_are_stripped() -> None:
    assert name_key("José Müller") == name_key("Jose Muller") == "jose muller"


def test_apostrophes_join_and_hyphens_split() -> None:
    assert name_tokens("Se\u00e1n O\u2019Brien-Smith") == ["sean", "obrien", "smith"]


def test_to_latin_transliterates_and_collapses_whitespace() -> None:
    assert to_latin("  Иван   Петров ") == "Ivan Petrov"
    assert to_latin("José\tMüller") == "Jose Muller"


def test_twins_with_the_same_surname_have_different_name_keys() -> None:
    assert name_key("Anna Kowalska") != name_key("Maria Kowalska")
    assert phonetic_key("Anna Kowalska") != phonetic_key("Maria Kowalska")


@pytest.mark.parametrize(
    "variants",
    [
        ("smith", "smyth"),
        ("jon", "john"),
        ("mohammed", "muhammad", "mohamed"),
        ("ivanov", "ivanoff"),
        ("schmidt", "schmitt"),
        ("catherine", "katherine"),
        ("philip", "filip"),
    ],
)
def test_phonetic_spelling_variants_collide(variants: tuple[str, ...]) -> None:
    assert len({phonetic(variant) for variant in variants}) == 1


def test_phonetic_keys_are_exact() -> None:
    assert phonetic("Smith") == "SNAT"
    assert phonetic("Mohammed") == "MAHANAT"
    assert phonetic("Katherine") == "CATARAN"
    assert phonetic_key("Mohamed Ivanoff") == phonetic_key("Ivanov Muhammad") == "IFANAF MAHANAT"


@pytest.mark.parametrize(
    "parts",
    [
        ("",),
        ("   ", "-"),
        ("Dr. Mr.",),
        ("John 2",),
        ("Louis XIV", "Ⅻ"),
        ("🙂",),
        ("x" * 201,),
        ("Jo\ud800hn",),
        ("Jo\x00hn",),
        (None,),
        ("John", 7),
    ],
)
def test_invalid_name_raises_name_invalid(parts: tuple[object, ...]) -> None:
    assert_code("name_invalid", name_tokens, *parts)
    assert_code("name_invalid", name_key, *parts)
    assert_code("name_invalid", phonetic_key, *parts)


def test_invalid_single_token_raises_name_invalid() -> None:
    assert_code("name_invalid", phonetic, "")
    assert_code("name_invalid", phonetic, None)
    assert_code("name_invalid", to_latin, "🙂")
    assert_code("name_invalid", to_latin, None)


# --- birth date --------------------------------------------------------------------------------


def test_ambiguous_birth_date_also_gives_the_swapped_date() -> None:
    assert birth_date_keys("1990-03-04") == ["1990-03-04", "1990-04-03"]
    assert birth_date_keys(datetime.date(1990, 3, 4)) == ["1990-03-04", "1990-04-03"]


def test_unambiguous_birth_date_gives_one_key() -> None:
    assert birth_date_keys("1990-03-13") == ["1990-03-13"]
    assert birth_date_keys("1990-05-05") == ["1990-05-05"]


def test_swapped_date_in_the_future_is_left_out(monkeypatch: pytest.MonkeyPatch) -> None:
    # Given today is 10 March 2024
    monkeypatch.setattr(normalize_dates, "_today", lambda: datetime.date(2024, 3, 10))
    # Then a child born 5 March 2024 cannot have been born 3 May 2024
    assert birth_date_keys("2024-03-05") == ["2024-03-05"]
    # And one born 1 February 2024 may have been born 2 January 2024
    assert birth_date_keys("2024-02-01") == ["2024-02-01", "2024-01-02"]


def test_age_limit_is_120_years(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(normalize_dates, "_today", lambda: datetime.date(2030, 6, 15))
    # Given today is 15 June 2030, someone born 16 June 1909 is still 120, Then accepted
    assert parse_birth_date("1909-06-16") == datetime.date(1909, 6, 16)
    # And someone turning 121 today is refused
    assert_code("birth_date_invalid", parse_birth_date, "1909-06-15")


@pytest.mark.parametrize(
    "value",
    [
        # In the future of the pinned day below (a date taken at collection time would become
        # "today" when the run crosses midnight).
        "2030-06-16",
        datetime.date(2031, 7, 20),
        "1850-01-01",
        "1899-12-31",
        "1990-02-30",
        "19900304",
        "04/03/1990",
        "1990-3-4",
        "١٩٩٠-٠٣-٠٤",
        "",
        None,
        19900304,
    ],
)
def test_invalid_birth_date_raises_birth_date_invalid(value: object, monkeypatch) -> None:
    monkeypatch.setattr(normalize_dates, "_today", lambda: datetime.date(2030, 6, 15))
    assert_code("birth_date_invalid", parse_birth_date, value)
    assert_code("birth_date_invalid", birth_date_keys, value)


# --- documents and tax numbers -----------------------------------------------------------------


def test_document_number_is_compact_upper_alphanumeric() -> None:
    assert normalize_document_number("ab 123-456") == "AB123456"
    assert normalize_document_number(" \u041a1234567 ") == "K1234567"  # Cyrillic Ka


@pytest.mark.parametrize("raw", ["a-1 2", "", "x" * 31, None, "----", "AB12\ud8003456"])
def test_invalid_document_number_raises(raw: object) -> None:
    assert_code("document_number_invalid", normalize_document_number, raw)


def test_valid_tax_ids_are_compacted_and_prefixed_with_the_country() -> None:
    # Examples from python-stdnum's own docstrings
    assert normalize_tax_id("36 574 261 809", "de") == "DE:36574261809"
    assert normalize_tax_id("X-5253868-R", "ES") == "ES:X5253868R"
    assert normalize_tax_id("RCCMNL83S18D969H", "IT") == "IT:RCCMNL83S18D969H"
    assert normalize_tax_id("CY-10259033P ", "CY") == "CY:10259033P"
    assert normalize_tax_id("44051401359", "PL") == "PL:44051401359"
    assert normalize_tax_id(full_width("36574261809"), "DE") == "DE:36574261809"


def test_uk_national_insurance_number_is_accepted() -> None:
    assert normalize_tax_id("ab 12 34 56 c", "GB") == "GB:AB123456C"
    assert_code("tax_id_invalid", normalize_tax_id, "BG 12 34 56 C", "GB")


@pytest.mark.parametrize(
    ("raw", "country"),
    [
        ("36574261890", "DE"),
        ("B64717839", "ES"),
        ("44051401358", "PL"),
        ("CY-10259033Z", "CY"),
        (full_width("36574261890"), "DE"),
        ("36574261809\x00", "DE"),
        ("", "DE"),
        (None, "DE"),
    ],
)
def test_invalid_tax_id_raises_tax_id_invalid(raw: object, country: str) -> None:
    assert_code("tax_id_invalid", normalize_tax_id, raw, country)


def test_same_digits_in_two_countries_do_not_collide() -> None:
    assert normalize_tax_id("36574261809", "DE") != normalize_tax_id("36574261809", "AE")


def test_country_without_validator_falls_back_to_compact_form() -> None:
    assert normalize_tax_id(" 100-2345-678 ", "ae") == "AE:1002345678"
    assert normalize_tax_id("8123456789", "HU") == "HU:8123456789"
    assert_code("tax_id_invalid", normalize_tax_id, "12-3", "AE")


def test_tax_id_with_unknown_country_raises_country_invalid() -> None:
    assert_code("country_invalid", normalize_tax_id, "36574261809", "XX")


# --- network, device, country ------------------------------------------------------------------


def test_ipv4_gives_its_slash_24() -> None:
    assert normalize_ip(" 203.0.113.77 ") == ("203.0.113.77", "203.0.113.0/24")


def test_ipv6_gives_its_slash_64_in_canonical_form() -> None:
    assert normalize_ip("2001:DB8:0:0:1::7") == ("2001:db8::1:0:0:7", "2001:db8::/64")


def test_ipv4_mapped_ipv6_is_treated_as_ipv4() -> None:
    assert normalize_ip("::ffff:203.0.113.77") == ("203.0.113.77", "203.0.113.0/24")


@pytest.mark.parametrize(
    "raw", ["203.0.113", "203.0.113.256", "010.0.0.1", "fe80::1%eth0", "host", "", None, 1]
)
def test_invalid_ip_raises_ip_invalid(raw: object) -> None:
    assert_code("ip_invalid", normalize_ip, raw)


def test_device_fingerprint_is_trimmed_and_lowercased() -> None:
    assert normalize_device("  FP_1a2B-3c:4D.5e ") == "fp_1a2b-3c:4d.5e"
    assert normalize_device("a" * 128) == "a" * 128


@pytest.mark.parametrize("raw", ["short", "a" * 129, "abc def ghi", "abcdefgh/1", "ǅǅǅǅǅǅǅǅ", None])
def test_invalid_device_raises_device_invalid(raw: object) -> None:
    assert_code("device_invalid", normalize_device, raw)


def test_country_is_upper_case_iso_code() -> None:
    assert normalize_country(" cy ") == "CY"


@pytest.mark.parametrize("raw", ["UK", "XX", "CYP", "ß", "", None])
def test_invalid_country_raises_country_invalid(raw: object) -> None:
    assert_code("country_invalid", normalize_country, raw)


# --- properties --------------------------------------------------------------------------------


@property_settings
@given(raw=st.text(max_size=300))
def test_email_and_name_raise_only_normalization_error(raw: str) -> None:
    # Given arbitrary text, When normalised, Then it either succeeds or raises a coded error
    codes: set[str] = set()
    for function in (normalize_email, email_display, name_tokens, phonetic_key):
        try:
            function(raw)
        except NormalizationError as exc:
            codes.add(exc.code)
    assert codes <= {"email_invalid", "name_invalid"}


@property_settings
@given(raw=st.text(max_size=80), country=st.sampled_from(["DE", "GB", "ES", "IT", "US", "AE"]))
def test_other_normalizers_raise_only_normalization_error(raw: str, country: str) -> None:
    calls: list[Callable[[], object]] = [
        lambda: normalize_phone(raw, country),
        lambda: parse_birth_date(raw),
        lambda: normalize_document_number(raw),
        lambda: normalize_tax_id(raw, country),
        lambda: normalize_ip(raw),
        lambda: normalize_device(raw),
        lambda: normalize_country(raw),
    ]
    for call in calls:
        with contextlib.suppress(NormalizationError):
            call()
