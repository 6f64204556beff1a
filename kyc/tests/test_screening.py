"""Sanctions and PEP screening (kyc.screening): reading a FollowTheMoney list, and screening
clients against the demo list the project ships. Pure module: no database."""

# Cyrillic, Arabic and Han letters are the test data.
# ruff: noqa: RUF003

from __future__ import annotations

import json
from datetime import date
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from identity.normalize import NormalizationError, name_tokens
from kyc.screening import (
    DEMO_LIST_PATH,
    SCREENING_THRESHOLDS,
    Hit,
    ListEntry,
    ParseReport,
    ScreeningIndex,
    decision_for,
    fold_name,
    load_ftm_file,
    name_similarity,
    name_spellings,
    parse_ftm_lines,
)


def ftm(entity_id: str, schema: str = "Person", **properties: Any) -> str:
    return json.dumps(
        {"id": entity_id, "schema": schema, "properties": properties, "datasets": ["test"]},
        ensure_ascii=False,
    )


@pytest.fixture(scope="module")
def demo_index() -> ScreeningIndex:
    entries, _report = load_ftm_file(DEMO_LIST_PATH)
    return ScreeningIndex.build(entries)


def screen(
    index: ScreeningIndex,
    given_name: str,
    family_name: str,
    birth_date: date | None = None,
    nationality: str | None = None,
) -> list[Hit]:
    return index.screen(
        given_name=given_name,
        family_name=family_name,
        birth_date=birth_date,
        nationality=nationality,
    )


def hit_for(hits: list[Hit], entity_id: str) -> Hit | None:
    return next((hit for hit in hits if hit.entry_id == entity_id), None)


# --- parsing ---------------------------------------------------------------------------------


def test_parse_keeps_a_person_with_every_name_variant_date_and_country() -> None:
    # Given a Person with names, aliases, first/last name, partial and broken dates, and codes
    line = ftm(
        "p-1",
        name=["Петров Иван Сергеевич"],
        alias=["Ivan Petrov", "IVAN PETROV", 42],
        weakAlias=["Vanya", "ivan petrov"],
        firstName=["Иван"],
        lastName=["Петров"],
        birthDate=["1961-02-03", "1961", "1961-02", "not a date", "1961-13-40"],
        nationality=["ru", "suhh"],
        citizenship=["cy"],
        country=["ae"],
        topics=["sanction", "role.pep"],
    )

    # When it is parsed
    entries = list(parse_ftm_lines([line]))

    # Then every usable value is kept once, in the list's own script, and the rest is dropped
    assert entries == [
        ListEntry(
            entity_id="p-1",
            names=("Петров Иван Сергеевич", "Ivan Petrov", "Иван Петров"),
            birth_dates=("1961-02-03", "1961", "1961-02"),
            nationalities=("RU", "CY"),
            topics=("sanction", "role.pep"),
            datasets=("test",),
            is_sanction=True,
            is_pep=True,
            weak_aliases=("Vanya",),
            countries=("AE",),
        )
    ]


def test_parse_skips_and_counts_malformed_lines_and_other_schemas() -> None:
    # Given a valid person among broken lines, a company and a blank line
    lines = [
        ftm("p-1", name=["Anna Example"]),
        "{not json",
        "[1, 2]",
        json.dumps({"schema": "Person", "properties": {"name": ["No Id"]}}),
        ftm("p-2", birthDate=["1970"]),
        ftm("c-1", schema="Company", name=["Example Trading LLC"]),
        "",
        json.dumps({"id": "p-3", "schema": "Person", "properties": ["not", "an", "object"]}),
    ]
    report = ParseReport()

    # When the lines are parsed
    parsed = parse_ftm_lines(lines, report=report)
    entries = list(parsed)

    # Then only the person is kept, and every other non-blank line is counted with its reason
    assert [entry.entity_id for entry in entries] == ["p-1"]
    assert parsed.report is report
    assert (report.lines, report.persons, report.skipped_schema, report.malformed) == (7, 1, 1, 5)
    assert parsed.skipped == report.skipped == 6
    assert report.errors == [
        "line 2: not valid JSON",
        "line 3: not a JSON object",
        "line 4: no id",
        "line 5: person without a name",
        "line 8: properties is not an object",
    ]


def test_parse_reads_bytes_and_counts_undecodable_lines() -> None:
    lines = [ftm("p-1", name=["Anna Example"]).encode(), b"\xff\xfe"]

    parsed = parse_ftm_lines(lines)

    assert [entry.names for entry in parsed] == [("Anna Example",)]
    assert (parsed.report.malformed, parsed.report.errors) == (1, ["line 2: not UTF-8"])


@pytest.mark.parametrize(
    ("topics", "is_sanction", "is_pep"),
    [
        (["sanction"], True, False),
        (["sanction.linked"], True, False),
        (["role.pep"], False, True),
        (["role.pep.intl", "role.pep.frmr"], False, True),
        (["role.rca"], False, False),
        (["crime", "poi"], False, False),
    ],
)
def test_topics_set_the_sanction_and_pep_flags(
    topics: list[str], is_sanction: bool, is_pep: bool
) -> None:
    (entry,) = parse_ftm_lines([ftm("p-1", name=["Anna Example"], topics=topics)])

    assert (entry.is_sanction, entry.is_pep) == (is_sanction, is_pep)


def test_a_list_entry_rebuilt_from_stored_columns_keeps_flags_its_topics_imply() -> None:
    # Given an entry rebuilt from JSON columns (lists), with the flags forgotten
    entry = ListEntry(entity_id="p-1", names=["Anna Example"], topics=["role.pep"])

    # Then the value is still immutable and the flag follows the topics
    assert entry.names == ("Anna Example",)
    assert (entry.is_sanction, entry.is_pep) == (False, True)


def test_the_demo_list_parses_cleanly() -> None:
    entries, report = load_ftm_file(DEMO_LIST_PATH)

    assert (report.persons, report.skipped_schema, report.malformed) == (62, 2, 0)
    assert len({entry.entity_id for entry in entries}) == 62
    assert sum(entry.is_sanction for entry in entries) >= 30
    assert sum(entry.is_pep for entry in entries) >= 20


# --- screening: listed persons are found ---------------------------------------------------


@pytest.mark.parametrize(
    ("given_name", "family_name"),
    [
        ("Timofey", "Gavrilin"),  # the list's Latin alias
        ("Timofei", "Gavrilin"),  # a Russian passport's spelling
        ("Тимофей", "Гаврилин"),  # Cyrillic
        ("Gavrilin", "Timofey"),  # given and family name swapped
        ("ГАВРИЛИН", "тимофей"),
    ],
)
def test_a_sanctioned_cyrillic_named_person_is_a_hit_in_any_script_and_order(
    demo_index: ScreeningIndex, given_name: str, family_name: str
) -> None:
    # Given "Гаврилин Тимофей Аркадьевич", sanctioned, born 1966-04-18, Russian
    # When he is screened with his own birth date and nationality
    hits = screen(demo_index, given_name, family_name, date(1966, 4, 18), "RU")

    # Then he is the first hit, with the evidence spelled out
    assert hits[0].entry_id == "demo-p-001"
    assert hits[0].decision == "hit"
    assert hits[0].score == 100.0
    assert (hits[0].is_sanction, hits[0].is_pep) == (True, False)
    assert hits[0].reasons == ("name 100", "birth date matches", "nationality matches")


def test_a_cyrillic_only_listing_is_found_by_its_latin_transliterations(
    demo_index: ScreeningIndex,
) -> None:
    # Given "Чернецов Аристарх Ильич" (no Latin alias on the list), born 1955
    for given_name, family_name in (("Aristarkh", "Chernetsov"), ("Aristarh", "Chernetsov")):
        # When the client types a Latin spelling without the patronymic
        hits = screen(demo_index, given_name, family_name, date(1955, 3, 1), "RU")

        # Then it is a hit, and the left-out patronymic cost a few points of name score
        hit = hit_for(hits, "demo-p-009")
        assert hit is not None, (given_name, family_name)
        assert hit.decision == "hit"
        assert hit.matched_name == "Чернецов Аристарх Ильич"
        assert "birth year matches" in hit.reasons


def test_a_ukrainian_passport_spelling_finds_the_cyrillic_listing(
    demo_index: ScreeningIndex,
) -> None:
    # Given "Гнатюк Тарас Ярославович": Г is H in Ukrainian passports, G in Russian spelling
    hits = screen(demo_index, "Taras", "Hnatiuk", date(1969, 8, 24), "UA")

    hit = hit_for(hits, "demo-p-013")
    assert hit is not None
    assert hit.decision == "hit"
    assert hit.is_sanction is True  # sanction.counter is a sanctions topic too


@pytest.mark.parametrize(
    ("given_name", "family_name"),
    [("Timofey", "Gavrillin"), ("Timofey", "Gavrilni"), ("Tmofey", "Gavrilin")],
)
def test_a_one_letter_misspelling_is_still_a_hit(
    demo_index: ScreeningIndex, given_name: str, family_name: str
) -> None:
    hits = screen(demo_index, given_name, family_name, date(1966, 4, 18), "RU")

    assert hits[0].entry_id == "demo-p-001"
    assert hits[0].decision == "hit"
    assert hits[0].name_score < 100.0


def test_arabic_transliteration_variants_are_a_hit(demo_index: ScreeningIndex) -> None:
    # Given "Khalid Abdelaziz Al-Nuaimani" (alias "Khaled Abdel Aziz al-Nuaymani")
    hits = screen(demo_index, "Khaled Abdelaziz", "Nuaymani", date(1972, 2, 15), "SY")

    assert hits[0].entry_id == "demo-p-015"
    assert hits[0].decision == "hit"


@pytest.mark.parametrize(
    ("given_name", "family_name"),
    [("明浩", "周"), ("Ming Hao", "Zhou"), ("Minghao", "ZHOU")],
)
def test_a_chinese_name_is_found_in_characters_and_in_pinyin_written_apart_or_joined(
    demo_index: ScreeningIndex, given_name: str, family_name: str
) -> None:
    hits = screen(demo_index, given_name, family_name, date(1969, 1, 23), "CN")

    assert hits[0].entry_id == "demo-p-027"
    assert hits[0].decision == "hit"


def test_a_day_and_month_swap_still_counts_as_the_birth_date(demo_index: ScreeningIndex) -> None:
    # Given Hamza Idris Benyoucef, born 1990-04-02
    hits = screen(demo_index, "Hamza", "Benyoucef", date(1990, 2, 4), "DZ")

    hit = hit_for(hits, "demo-p-022")
    assert hit is not None
    assert "birth date matches with day and month swapped" in hit.reasons


def test_a_pep_is_flagged_as_pep_and_not_as_sanctioned(demo_index: ScreeningIndex) -> None:
    # Given Vadim Prokhorenko, listed with topic role.pep only
    hits = screen(demo_index, "Vadim", "Prokhorenko", date(1959, 12, 1), "RU")

    assert hits[0].entry_id == "demo-p-006"
    assert (hits[0].decision, hits[0].is_pep, hits[0].is_sanction) == ("hit", True, False)


def test_a_relative_or_close_associate_is_neither_pep_nor_sanctioned(
    demo_index: ScreeningIndex,
) -> None:
    hits = screen(demo_index, "Elena", "Gavrilina", date(1968, 10, 27), "RU")

    assert hits[0].entry_id == "demo-p-048"
    assert (hits[0].is_pep, hits[0].is_sanction) == (False, False)


def test_a_weak_alias_alone_is_at_most_a_possible_match(demo_index: ScreeningIndex) -> None:
    # Given "Abu Faris", a weak alias of demo-p-015
    hits = screen(demo_index, "Abu", "Faris", date(1972, 2, 15), "SY")

    hit = hit_for(hits, "demo-p-015")
    assert hit is not None
    assert hit.decision == "possible"
    assert hit.score == SCREENING_THRESHOLDS["hit"] - 1
    assert "weak alias: at most possible" in hit.reasons


# --- screening: other people are not hits ----------------------------------------------------


@pytest.mark.parametrize(
    ("given_name", "family_name", "entity_id"),
    [
        ("John", "Smith", "demo-p-032"),
        ("Ali", "Hassan", "demo-p-016"),
        ("Maria", "Garcia", "demo-p-033"),
        ("Wei", "Wang", "demo-p-029"),
        ("Ivan", "Ivanov", "demo-p-053"),
    ],
)
def test_a_common_name_with_another_birth_date_and_nationality_is_not_a_hit(
    demo_index: ScreeningIndex, given_name: str, family_name: str, entity_id: str
) -> None:
    # Given a listed person with a common name, a specific birth date and a nationality
    # When someone else with that name, born in 1993 in Germany, is screened
    hits = screen(demo_index, given_name, family_name, date(1993, 6, 2), "DE")

    # Then nothing comes back: the birth year says it is a different person
    assert hits == []


def test_a_common_name_born_the_same_year_elsewhere_is_only_possible(
    demo_index: ScreeningIndex,
) -> None:
    # Given John Smith, listed born 1971-04-12, British
    # When a German John Smith born later in 1971 is screened
    hits = screen(demo_index, "John", "Smith", date(1971, 7, 2), "DE")

    # Then he is worth a look, no more
    assert [(hit.entry_id, hit.decision) for hit in hits] == [("demo-p-032", "possible")]
    assert hits[0].reasons == (
        "name 100",
        "birth date differs in the same year",
        "nationality differs",
    )


@pytest.mark.parametrize(
    ("given_name", "family_name", "birth_date", "nationality", "entity_id"),
    [
        ("John", "Smith", date(1971, 4, 12), "GB", "demo-p-032"),
        ("Ali", "Hasan", date(1968, 9, 21), "IQ", "demo-p-016"),
        ("Ivan", "Ivanov", date(1963, 6, 6), "RU", "demo-p-053"),
    ],
)
def test_the_listed_person_behind_a_common_name_is_a_hit(
    demo_index: ScreeningIndex,
    given_name: str,
    family_name: str,
    birth_date: date,
    nationality: str,
    entity_id: str,
) -> None:
    hits = screen(demo_index, given_name, family_name, birth_date, nationality)

    assert (hits[0].entry_id, hits[0].decision) == (entity_id, "hit")


def test_a_listed_person_with_a_conflicting_birth_year_is_clear(
    demo_index: ScreeningIndex,
) -> None:
    # Same name as demo-p-001, born fourteen years later: a different person
    assert screen(demo_index, "Timofey", "Gavrilin", date(1980, 4, 18), "RU") == []


@pytest.mark.parametrize(
    ("given_name", "family_name"),
    [("Timofey", "Ivanov"), ("Ostap", "Kovalenko"), ("Khalid", "Mansour"), ("Angelina", "Petrova")],
)
def test_an_unlisted_look_alike_sharing_a_given_name_is_clear(
    demo_index: ScreeningIndex, given_name: str, family_name: str
) -> None:
    assert screen(demo_index, given_name, family_name, date(1985, 5, 5), "RU") == []


def test_hits_come_best_first_and_respect_the_limit(demo_index: ScreeningIndex) -> None:
    hits = demo_index.screen(
        given_name="Ali", family_name="Hassan", birth_date=None, nationality=None, limit=1
    )

    assert len(hits) == 1
    assert hits[0].entry_id == "demo-p-016"


def test_names_without_letters_find_nothing(demo_index: ScreeningIndex) -> None:
    assert screen(demo_index, "1234", "!!!") == []
    assert screen(demo_index, "", "") == []


def test_an_empty_index_finds_nothing() -> None:
    index = ScreeningIndex.build([])

    assert len(index) == 0
    assert screen(index, "John", "Smith") == []


def test_a_repeated_entity_id_keeps_its_first_entry() -> None:
    index = ScreeningIndex.build(
        [
            ListEntry(entity_id="p-1", names=("Anna Example",), topics=("sanction",)),
            ListEntry(entity_id="p-1", names=("Bertha Other",), topics=("role.pep",)),
        ]
    )

    assert (len(index), index.duplicates_skipped) == (1, 1)
    assert [hit.entry_id for hit in screen(index, "Anna", "Example")] == ["p-1"]
    assert screen(index, "Bertha", "Other") == []


def test_a_listed_name_with_digits_is_kept_with_the_words_that_survive() -> None:
    index = ScreeningIndex.build([ListEntry(entity_id="p-1", names=("Abu Bakr 2 Rahimi",))])

    hits = screen(index, "Abu Bakr", "Rahimi")

    assert [(hit.entry_id, hit.matched_name) for hit in hits] == [("p-1", "Abu Bakr 2 Rahimi")]


# --- scoring building blocks -----------------------------------------------------------------


def test_decisions_follow_the_thresholds() -> None:
    assert decision_for(SCREENING_THRESHOLDS["hit"]) == "hit"
    assert decision_for(SCREENING_THRESHOLDS["hit"] - 0.1) == "possible"
    assert decision_for(SCREENING_THRESHOLDS["possible"]) == "possible"
    assert decision_for(SCREENING_THRESHOLDS["possible"] - 0.1) == "clear"


def test_name_similarity_forgives_order_typos_and_a_missing_patronymic_not_another_name() -> None:
    assert name_similarity("ivan petrov", "petrov ivan") == 100.0
    assert name_similarity("ivan petrov", "petrov ivan sergeevich") == 94.0
    assert name_similarity("ivan petrov", "ivan petorv") == 90.0
    assert name_similarity("xiu ying liang", "liang xiuying") == 100.0
    assert name_similarity("omar el sayed", "omar al sayed") == 100.0
    assert name_similarity("ivan petrov", "ivan smirnov") < 50.0


def test_cyrillic_names_are_spelled_in_each_romanisation() -> None:
    assert name_spellings("Юрій", "Гнатюк") == [
        ["iurii", "gnatiuk"],  # unidecode, as Russian passports
        ["yuriy", "gnatyuk"],  # BGN/PCGN
        ["yurii", "hnatiuk"],  # Ukrainian national system
    ]
    assert name_spellings("Fyodor", "Smith") == [["fyodor", "smith"]]


# --- robustness ------------------------------------------------------------------------------


@settings(max_examples=300, deadline=None)
@given(
    given_name=st.text(max_size=60),
    family_name=st.text(max_size=60),
    birth_date=st.one_of(st.none(), st.dates()),
    nationality=st.one_of(st.none(), st.text(max_size=4)),
)
def test_screen_never_raises_on_any_unicode_name(
    demo_index: ScreeningIndex,
    given_name: str,
    family_name: str,
    birth_date: date | None,
    nationality: str | None,
) -> None:
    hits = demo_index.screen(
        given_name=given_name,
        family_name=family_name,
        birth_date=birth_date,
        nationality=nationality,
        limit=3,
    )

    assert len(hits) <= 3
    assert all(hit.decision in {"hit", "possible"} for hit in hits)
    assert [hit.score for hit in hits] == sorted((hit.score for hit in hits), reverse=True)
    assert all(0.0 <= hit.score <= 100.0 for hit in hits)


@settings(max_examples=300, deadline=None)
@given(st.lists(st.text(max_size=40), min_size=1, max_size=3))
def test_fold_name_agrees_with_the_identity_normalisation_where_that_accepts_the_name(
    parts: list[str],
) -> None:
    try:
        expected = name_tokens(*parts)
    except NormalizationError:
        return
    assert fold_name(*parts) == expected


@settings(max_examples=300, deadline=None)
@given(st.lists(st.text(alphabet=st.characters(max_codepoint=127), max_size=40), max_size=3))
def test_fold_name_fast_path_for_ascii_agrees_with_the_identity_normalisation(
    parts: list[str],
) -> None:
    try:
        expected = name_tokens(*parts)
    except NormalizationError:
        expected = None
    folded = fold_name(*parts)
    if expected is not None:
        assert folded == expected
    elif not any(ch.isdigit() or not ch.isprintable() for part in parts for ch in part):
        assert folded == []


@settings(max_examples=200, deadline=None)
@given(lines=st.lists(st.text(max_size=200), max_size=5))
def test_parsing_never_raises_on_any_text(lines: list[str]) -> None:
    report = ParseReport()

    entries = list(parse_ftm_lines(lines, report=report))

    assert entries == []
    assert report.lines == report.skipped == sum(1 for line in lines if line.strip())
