"""Tests of kyc.mrz: check digits, TD3/TD1 parsing, country codes and the profile comparison."""

from __future__ import annotations

import dataclasses
import datetime

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from brokercrm.errors import ApplicationError
from brokercrm.reference import COUNTRIES
from kyc import mrz as mrz_module
from kyc import mrz_parse
from kyc.mrz import (
    KycInputError,
    MrzError,
    MrzResult,
    check_digit,
    compare_with_profile,
    mrz_country_alpha2,
    parse_mrz,
)
from kyc.specimens import SPECIMEN_TD1, SPECIMEN_TD3, td1_lines, td3_lines

TD3_TEXT = "\n".join(SPECIMEN_TD3)
TD1_TEXT = "\n".join(SPECIMEN_TD1)
MRZ_ALPHABET = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZ<"


def _replace(lines: list[str], row: int, column: int, char: str) -> str:
    changed = list(lines)
    line = changed[row]
    assert line[column] != char, "the corruption must change something"
    changed[row] = line[:column] + char + line[column + 1 :]
    return "\n".join(changed)


def _failed(result: MrzResult) -> set[str]:
    return {name for name, ok in result.checks.items() if not ok}


# --- check digits ------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("field", "digit"),
    [
        ("L898902C3", "6"),  # the ICAO specimen's document number
        ("740812", "2"),
        ("120415", "9"),
        ("ZE184226B<<<<<", "1"),
        ("D23145890", "7"),
        ("<<<<<<<<<", "0"),
        ("", "0"),
        ("A", "0"),  # 10 x 7 = 70
        ("Z", "5"),  # 35 x 7 = 245
    ],
)
def test_check_digit_of_known_fields(field: str, digit: str) -> None:
    assert check_digit(field) == digit


@pytest.mark.parametrize("field", ["l898902c3", "L898 902", "L898-902", "É", "\x00"])
def test_check_digit_refuses_characters_outside_the_mrz_alphabet(field: str) -> None:
    with pytest.raises(MrzError) as caught:
        check_digit(field)
    assert caught.value.code == "mrz_format"


def test_check_digit_refuses_non_text() -> None:
    with pytest.raises(MrzError) as caught:
        check_digit(123)  # type: ignore[arg-type]
    assert caught.value.code == "mrz_format"


# --- the ICAO specimens ------------------------------------------------------------------------


def test_td3_specimen_parses_with_every_check_true() -> None:
    result = parse_mrz(TD3_TEXT)

    assert result == MrzResult(
        format="TD3",
        document_type="P",
        issuing_country="UTO",
        surname="ERIKSSON",
        given_names="ANNA MARIA",
        document_number="L898902C3",
        nationality="UTO",
        birth_date=datetime.date(1974, 8, 12),
        sex="F",
        expiry_date=datetime.date(2012, 4, 15),
        optional_data="ZE184226B",
        optional_data_2="",
        checks={
            "document_number": True,
            "birth_date": True,
            "expiry_date": True,
            "optional": True,
            "composite": True,
        },
        lines=tuple(SPECIMEN_TD3),
    )
    assert result.valid is True


def test_td1_specimen_parses_with_every_check_true() -> None:
    result = parse_mrz(TD1_TEXT)

    assert result == MrzResult(
        format="TD1",
        document_type="I",
        issuing_country="UTO",
        surname="ERIKSSON",
        given_names="ANNA MARIA",
        document_number="D23145890",
        nationality="UTO",
        birth_date=datetime.date(1974, 8, 12),
        sex="F",
        expiry_date=datetime.date(2012, 4, 15),
        optional_data="",
        optional_data_2="",
        checks={
            "document_number": True,
            "birth_date": True,
            "expiry_date": True,
            "composite": True,
        },
        lines=tuple(SPECIMEN_TD1),
    )
    assert result.valid is True


def test_result_is_frozen() -> None:
    result = parse_mrz(TD3_TEXT)
    with pytest.raises(dataclasses.FrozenInstanceError):
        result.surname = "SMITH"  # type: ignore[misc]


@pytest.mark.parametrize(
    "text",
    [
        "  \n\n" + TD3_TEXT + "\n\n   ",
        TD3_TEXT.lower(),
        "\r\n".join(SPECIMEN_TD3),
        "\n".join(f"\t {line} " for line in SPECIMEN_TD3),
        SPECIMEN_TD3[0] + "\n\n\n" + SPECIMEN_TD3[1],
    ],
)
def test_surrounding_whitespace_blank_lines_and_lower_case_are_tolerated(text: str) -> None:
    assert parse_mrz(text) == parse_mrz(TD3_TEXT)


def test_personal_number_of_fillers_has_no_optional_check() -> None:
    # Given a passport without a personal number (its check digit is "<")
    lines = td3_lines(
        surname="SMITH",
        given_names="JOHN",
        document_number="123456789",
        birth_date=datetime.date(1980, 1, 2),
        expiry_date=datetime.date(2030, 3, 4),
        sex="M",
        nationality="GBR",
        issuing_country="GBR",
    )
    result = parse_mrz("\n".join(lines))

    assert "optional" not in result.checks
    assert result.valid is True
    assert result.optional_data == ""


def test_name_without_given_names_and_with_inner_fillers() -> None:
    lines = td3_lines(
        surname="O CONNOR",
        given_names="",
        document_number="X1",
        birth_date=datetime.date(1990, 5, 6),
        expiry_date=datetime.date(2031, 7, 8),
        sex="<",
    )
    result = parse_mrz("\n".join(lines))

    assert (result.surname, result.given_names, result.sex) == ("O CONNOR", "", "X")
    assert result.document_number == "X1"


def test_td1_long_document_number_continues_in_optional_data() -> None:
    # 9303 part 5: a 12-character number puts "<" in the check digit position and carries the
    # last three characters, then its check digit, in the optional data.
    number = "D23145890123"
    line1 = "I<UTO" + number[:9] + "<" + number[9:] + check_digit(number) + "<" * 11
    line2 = "7408122F1204159UTO" + "<" * 11
    composite = line1[5:30] + line2[0:7] + line2[8:15] + line2[18:29]
    text = "\n".join([line1, line2 + check_digit(composite), SPECIMEN_TD1[2]])

    result = parse_mrz(text)

    assert result.document_number == number
    assert result.optional_data == ""
    assert result.valid is True


def test_german_issuing_country_is_printed_with_fillers() -> None:
    lines = td1_lines(
        surname="MUSTERMANN",
        given_names="ERIKA",
        document_number="T22000129",
        birth_date=datetime.date(1964, 8, 12),
        expiry_date=datetime.date(2027, 10, 31),
        nationality="D",
        issuing_country="D",
    )
    result = parse_mrz("\n".join(lines))

    assert (result.issuing_country, result.nationality) == ("D", "D")
    assert mrz_country_alpha2(result.issuing_country) == "DE"
    assert result.valid is True


# --- one corrupted check at a time -------------------------------------------------------------


@pytest.mark.parametrize(
    ("row", "column", "char", "failed"),
    [
        # check digits themselves
        (1, 9, "5", {"document_number", "composite"}),
        (1, 19, "3", {"birth_date", "composite"}),
        (1, 27, "8", {"expiry_date", "composite"}),
        (1, 42, "2", {"optional", "composite"}),
        (1, 43, "1", {"composite"}),
        # the data they protect
        (1, 3, "9", {"document_number", "composite"}),
        (1, 18, "3", {"birth_date", "composite"}),
        (1, 26, "6", {"expiry_date", "composite"}),
        (1, 30, "F", {"optional", "composite"}),
    ],
)
def test_td3_corruption_fails_exactly_its_check(
    row: int, column: int, char: str, failed: set[str]
) -> None:
    result = parse_mrz(_replace(SPECIMEN_TD3, row, column, char))

    assert _failed(result) == failed
    assert result.valid is False


@pytest.mark.parametrize(
    ("row", "column", "char", "failed"),
    [
        (0, 14, "8", {"document_number", "composite"}),
        (1, 6, "3", {"birth_date", "composite"}),
        (1, 14, "8", {"expiry_date", "composite"}),
        (1, 29, "7", {"composite"}),
        (0, 6, "4", {"document_number", "composite"}),
        (1, 5, "3", {"birth_date", "composite"}),
        (1, 13, "6", {"expiry_date", "composite"}),
        # optional data 2 has no check of its own, only the composite covers it
        (1, 20, "X", {"composite"}),
    ],
)
def test_td1_corruption_fails_exactly_its_check(
    row: int, column: int, char: str, failed: set[str]
) -> None:
    result = parse_mrz(_replace(SPECIMEN_TD1, row, column, char))

    assert _failed(result) == failed


def test_name_line_has_no_check_digit() -> None:
    # The names are not covered by any check digit: a misread name still parses as valid.
    # This is why the profile comparison matters.
    result = parse_mrz(_replace(SPECIMEN_TD3, 0, 6, "X"))

    assert result.surname == "EXIKSSON"
    assert result.valid is True


DOCUMENT_NUMBER_DIGITS = [i for i, ch in enumerate(SPECIMEN_TD3[1][:9]) if ch.isdigit()]


@given(
    position=st.sampled_from(DOCUMENT_NUMBER_DIGITS),
    digit=st.sampled_from("0123456789"),
)
def test_changing_any_digit_of_the_document_number_fails_its_check(
    position: int, digit: str
) -> None:
    original = SPECIMEN_TD3[1][position]
    if digit == original:
        digit = str((int(digit) + 1) % 10)

    result = parse_mrz(_replace(SPECIMEN_TD3, 1, position, digit))

    # Weights 7, 3 and 1 are all prime to 10, so any single-digit change moves the sum mod 10.
    assert result.checks["document_number"] is False
    assert result.checks["composite"] is False


@given(
    number=st.text(alphabet="0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZ", min_size=1, max_size=9),
    birth=st.dates(datetime.date(1931, 1, 1), datetime.date(2020, 12, 31)),
    expiry=st.dates(datetime.date(2000, 1, 1), datetime.date(2079, 12, 31)),
    personal=st.text(alphabet="0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZ", max_size=14),
)
@settings(max_examples=60)
def test_generated_passports_round_trip(
    number: str, birth: datetime.date, expiry: datetime.date, personal: str
) -> None:
    lines = td3_lines(
        surname="DOE",
        given_names="JANE",
        document_number=number,
        birth_date=birth,
        expiry_date=expiry,
        personal_number=personal,
    )
    result = parse_mrz("\n".join(lines))

    assert result.valid is True
    assert (result.document_number, result.birth_date, result.expiry_date) == (
        number,
        birth,
        expiry,
    )
    assert result.optional_data == personal


# --- centuries ---------------------------------------------------------------------------------


def test_birth_year_above_this_year_is_in_the_1900s(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(mrz_parse, "_today", lambda: datetime.date(2026, 5, 1))

    def birth(yy: str) -> datetime.date:
        lines = [
            SPECIMEN_TD3[0],
            "L898902C36UTO" + yy + "0101" + check_digit(yy + "0101") + SPECIMEN_TD3[1][20:],
        ]
        return parse_mrz("\n".join(lines)).birth_date

    assert birth("26") == datetime.date(2026, 1, 1)
    assert birth("27") == datetime.date(1927, 1, 1)
    assert birth("00") == datetime.date(2000, 1, 1)
    assert birth("99") == datetime.date(1999, 1, 1)


@pytest.mark.parametrize(
    ("yy", "year"), [("00", 2000), ("35", 2035), ("79", 2079), ("80", 1980), ("99", 1999)]
)
def test_expiry_years_00_to_79_are_2000s_and_80_to_99_are_1900s(yy: str, year: int) -> None:
    line2 = SPECIMEN_TD3[1][:21] + yy + "0415" + SPECIMEN_TD3[1][27:]
    result = parse_mrz(SPECIMEN_TD3[0] + "\n" + line2)

    assert result.expiry_date == datetime.date(year, 4, 15)


# --- bad input ---------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "text",
    [
        "",
        "   \n  ",
        "hello world",
        SPECIMEN_TD3[0],  # one line
        SPECIMEN_TD3[0][:-1] + "\n" + SPECIMEN_TD3[1],  # 43 characters
        SPECIMEN_TD3[0] + "<\n" + SPECIMEN_TD3[1],  # 45 characters
        TD3_TEXT + "\n" + SPECIMEN_TD3[1],  # three passport lines
        "\n".join(SPECIMEN_TD1[:2]),  # two ID-card lines
        "\n".join(line[:35] for line in SPECIMEN_TD3),  # 2 x 35: no format
        TD3_TEXT.replace("ERIKSSON", "ERIK SON"),  # a space inside a line
        TD3_TEXT.replace("ERIKSSON", "ÉRIKSSON"),
        TD3_TEXT.replace("F1204159", "Q1204159"),  # sex must be M, F, X or "<"
        "<" * 10_001,
    ],
)
def test_malformed_mrz_is_refused_with_mrz_format(text: str) -> None:
    with pytest.raises(MrzError) as caught:
        parse_mrz(text)
    assert caught.value.code == "mrz_format"


@pytest.mark.parametrize("value", [None, b"P<UTO", 42, ["P<UTO"]])
def test_non_text_is_refused_with_mrz_format(value: object) -> None:
    with pytest.raises(MrzError) as caught:
        parse_mrz(value)  # type: ignore[arg-type]
    assert caught.value.code == "mrz_format"


@pytest.mark.parametrize(
    ("old", "new"),
    [
        ("7408122", "7413122"),  # month 13
        ("7408122", "7402302"),  # 30 February
        ("7408122", "74<<<<2"),  # unknown day and month
        ("1204159", "1200009"),  # day 0
        ("1204159", "12O4159"),  # a letter in a date
    ],
)
def test_impossible_dates_are_refused_with_mrz_date(old: str, new: str) -> None:
    with pytest.raises(MrzError) as caught:
        parse_mrz(TD3_TEXT.replace(old, new))
    assert caught.value.code == "mrz_date"


def test_errors_are_application_errors_and_value_errors() -> None:
    with pytest.raises(MrzError) as caught:
        parse_mrz("nope")
    error = caught.value
    assert isinstance(error, KycInputError)
    assert isinstance(error, ApplicationError)
    assert isinstance(error, ValueError)
    assert error.as_dict() == {"code": "mrz_format", "detail": error.message}
    assert error.status == 400


@given(st.text(max_size=300))
@settings(max_examples=300)
def test_parse_mrz_raises_only_mrz_errors_on_any_text(text: str) -> None:
    code = None
    try:
        parse_mrz(text)
    except MrzError as error:
        code = error.code
    assert code in {None, "mrz_format", "mrz_date"}


@given(
    st.one_of(
        st.lists(st.text(alphabet=MRZ_ALPHABET, min_size=44, max_size=44), min_size=2, max_size=2),
        st.lists(st.text(alphabet=MRZ_ALPHABET, min_size=30, max_size=30), min_size=3, max_size=3),
    )
)
@settings(max_examples=300)
def test_parse_mrz_on_random_well_shaped_lines(lines: list[str]) -> None:
    # Right shape, random content: either a result or a coded error, never a crash.
    code, checks = None, set()
    try:
        checks = set(parse_mrz("\n".join(lines)).checks)
    except MrzError as error:
        code = error.code
    assert code in {"mrz_format", "mrz_date"} or checks >= {
        "document_number",
        "birth_date",
        "expiry_date",
        "composite",
    }


@given(st.text(max_size=50))
def test_check_digit_is_a_digit_or_a_coded_error(text: str) -> None:
    answer = None
    try:
        answer = check_digit(text)
    except MrzError as error:
        answer = error.code
    assert answer in {*"0123456789", "mrz_format"}


# --- countries ---------------------------------------------------------------------------------


def test_every_reference_country_has_an_mrz_code() -> None:
    reachable = {mrz_country_alpha2(code) for code in mrz_module._ALPHA3_TO_ALPHA2}
    assert set(COUNTRIES) <= reachable


@pytest.mark.parametrize(
    ("code", "alpha2"),
    [
        ("DEU", "DE"),
        ("D", "DE"),
        ("D<<", "DE"),
        ("deu", "DE"),
        (" CYP ", "CY"),
        ("GBR", "GB"),
        ("GBD", "GB"),
        ("GBN", "GB"),
        ("GBO", "GB"),
        ("GBP", "GB"),
        ("GBS", "GB"),
        ("UTO", None),
        ("XXA", None),
        ("UNO", None),
        ("RKS", None),
        ("ZZZ", None),
        ("", None),
        ("<<<", None),
    ],
)
def test_mrz_country_alpha2(code: str, alpha2: str | None) -> None:
    assert mrz_country_alpha2(code) == alpha2


@given(st.text(max_size=20))
def test_mrz_country_alpha2_answers_any_text(text: str) -> None:
    assert mrz_country_alpha2(text) in {*COUNTRIES, None}


def test_mrz_country_alpha2_refuses_non_text() -> None:
    with pytest.raises(MrzError):
        mrz_country_alpha2(None)  # type: ignore[arg-type]


# --- comparison with the profile ---------------------------------------------------------------

BIRTH = datetime.date(1974, 8, 12)


def test_matching_profile_is_ok() -> None:
    comparison = compare_with_profile(
        parse_mrz(TD3_TEXT),
        given_name="Anna Maria",
        family_name="Eriksson",
        birth_date=BIRTH,
        document_number="L898902C3",
    )

    assert comparison.ok is True
    assert comparison.reasons == []
    assert comparison.name_similarity == 100.0
    assert (comparison.name_match, comparison.birth_date_match) == (True, True)
    assert comparison.document_number_match is True
    assert comparison.checks_valid is True


def test_diacritics_case_punctuation_and_typed_document_number_still_match() -> None:
    comparison = compare_with_profile(
        parse_mrz(TD1_TEXT),
        given_name="Ánna-María",
        family_name="  eriksson ",
        birth_date=datetime.datetime(1974, 8, 12, 15, 30),  # noqa: DTZ001 - a naive profile value
        document_number="d 231-458 90",
    )

    assert comparison.ok is True
    assert comparison.document_number_match is True


def test_transliteration_variant_is_within_the_threshold() -> None:
    lines = td3_lines(
        surname="MUELLER",
        given_names="HANS",
        document_number="C01X00T47",
        birth_date=datetime.date(1980, 1, 1),
        expiry_date=datetime.date(2030, 1, 1),
        sex="M",
        nationality="D",
        issuing_country="D",
    )
    comparison = compare_with_profile(
        parse_mrz("\n".join(lines)),
        given_name="Hans",
        family_name="Müller",
        birth_date=datetime.date(1980, 1, 1),
        document_number=None,
    )

    assert comparison.name_match is True
    assert comparison.document_number_match is None
    assert comparison.ok is True


def test_mismatching_profile_gives_one_reason_per_field() -> None:
    comparison = compare_with_profile(
        parse_mrz(TD3_TEXT),
        given_name="Maria",
        family_name="Svensson",
        birth_date=datetime.date(1974, 12, 8),
        document_number="L898902C4",
    )

    assert comparison.ok is False
    assert comparison.name_match is False
    assert comparison.name_similarity < 85
    assert comparison.birth_date_match is False
    assert comparison.document_number_match is False
    assert len(comparison.reasons) == 3
    assert "1974-08-12" in comparison.reasons[1]
    assert "1974-12-08" in comparison.reasons[1]
    assert "L898902C4" in comparison.reasons[2]


def test_missing_middle_name_is_left_to_a_person() -> None:
    comparison = compare_with_profile(
        parse_mrz(TD3_TEXT),
        given_name="Anna",
        family_name="Eriksson",
        birth_date=BIRTH,
        document_number="",
    )

    assert comparison.name_match is False
    assert comparison.document_number_match is None
    assert len(comparison.reasons) == 1


def test_mrz_with_failed_check_digits_is_never_ok() -> None:
    comparison = compare_with_profile(
        parse_mrz(_replace(SPECIMEN_TD3, 1, 43, "1")),
        given_name="Anna Maria",
        family_name="Eriksson",
        birth_date=BIRTH,
        document_number="L898902C3",
    )

    assert comparison.checks_valid is False
    assert comparison.ok is False
    assert comparison.reasons == [
        "The MRZ check digits do not agree (composite): it was misread or altered; "
        "ask for a sharper image."
    ]


@pytest.mark.parametrize(
    "profile",
    [
        {"given_name": None},
        {"family_name": 7},
        {"birth_date": "1974-08-12"},
        {"document_number": 898902},
        {"given_name": "A" * 20_000},
    ],
)
def test_bad_profile_values_are_refused_with_profile_invalid(profile: dict[str, object]) -> None:
    arguments: dict[str, object] = {
        "given_name": "Anna",
        "family_name": "Eriksson",
        "birth_date": BIRTH,
        "document_number": None,
        **profile,
    }
    with pytest.raises(MrzError) as caught:
        compare_with_profile(parse_mrz(TD3_TEXT), **arguments)  # type: ignore[arg-type]
    assert caught.value.code == "profile_invalid"


def test_comparison_needs_a_parsed_mrz() -> None:
    with pytest.raises(MrzError):
        compare_with_profile(
            TD3_TEXT,  # type: ignore[arg-type]
            given_name="Anna",
            family_name="Eriksson",
            birth_date=BIRTH,
            document_number=None,
        )


@given(given_name=st.text(max_size=60), family_name=st.text(max_size=60))
def test_comparison_answers_any_names(given_name: str, family_name: str) -> None:
    comparison = compare_with_profile(
        parse_mrz(TD3_TEXT),
        given_name=given_name,
        family_name=family_name,
        birth_date=BIRTH,
        document_number=None,
    )
    assert 0 <= comparison.name_similarity <= 100
    assert comparison.ok == (comparison.name_match and comparison.birth_date_match)
