"""FollowTheMoney lists read into `ListEntry` values: one JSON object per line, the persons kept,
other schemas and malformed lines counted in a `ParseReport`."""

from __future__ import annotations

import json
import re
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path
from typing import Final

DEMO_LIST_PATH: Final[Path] = Path(__file__).resolve().parents[1] / "data" / "sanctions_demo.jsonl"

# Parse errors kept verbatim in the report; the rest are only counted.
MAX_REPORTED_ERRORS: Final = 20
# Longer values are dropped, so one absurd record cannot slow every query.
_MAX_VALUE_LENGTH: Final = 500


def _is_sanction_topic(topic: str) -> bool:
    return topic == "sanction" or topic.startswith("sanction.")


def _is_pep_topic(topic: str) -> bool:
    # "role.pep", "role.pep.intl", "role.pep.frmr"...; "role.rca" (relatives and close
    # associates) is not a PEP itself.
    return topic.startswith("role.") and "pep" in topic


@dataclass(frozen=True, slots=True)
class ListEntry:
    """A listed natural person as screening needs it.

    `is_sanction` and `is_pep` are also derived from `topics`, so an entry rebuilt from stored
    fields can never lose the flag its topics imply. `weak_aliases` (FtM weakAlias: nicknames,
    "Abu X") are matched but can only ever produce a "possible".
    """

    entity_id: str
    names: tuple[str, ...]
    birth_dates: tuple[str, ...] = ()
    nationalities: tuple[str, ...] = ()
    topics: tuple[str, ...] = ()
    datasets: tuple[str, ...] = ()
    is_sanction: bool = False
    is_pep: bool = False
    weak_aliases: tuple[str, ...] = ()
    countries: tuple[str, ...] = ()

    def __post_init__(self) -> None:
        # Entries rebuilt from JSON columns arrive with lists; tuples keep the value hashable.
        for name in (
            "names",
            "birth_dates",
            "nationalities",
            "topics",
            "datasets",
            "weak_aliases",
            "countries",
        ):
            value = getattr(self, name)
            if not isinstance(value, tuple):
                object.__setattr__(self, name, tuple(value))
        object.__setattr__(
            self, "is_sanction", bool(self.is_sanction) or any(map(_is_sanction_topic, self.topics))
        )
        object.__setattr__(
            self, "is_pep", bool(self.is_pep) or any(map(_is_pep_topic, self.topics))
        )


@dataclass
class ParseReport:
    """What a parse read: persons kept, other schemas skipped, malformed lines skipped."""

    lines: int = 0
    persons: int = 0
    skipped_schema: int = 0
    malformed: int = 0
    errors: list[str] = field(default_factory=list)

    @property
    def skipped(self) -> int:
        """Non-blank lines that did not become an entry."""
        return self.skipped_schema + self.malformed


class _Malformed(ValueError):
    pass


_PARTIAL_DATE = re.compile(r"([0-9]{4})(?:-([0-9]{2})(?:-([0-9]{2}))?)?(?:T.*)?", re.ASCII)
_MIN_LIST_YEAR = 1850
_MAX_LIST_YEAR = 2100


def _partial_date(value: str) -> str | None:
    """FtM dates are ISO prefixes ("1961", "1961-02", "1961-02-03"); keep the valid prefix."""
    match = _PARTIAL_DATE.fullmatch(value.strip())
    if match is None:
        return None
    year_text, month_text, day_text = match.groups()
    if not _MIN_LIST_YEAR <= int(year_text) <= _MAX_LIST_YEAR:
        return None
    if month_text is None or not 1 <= int(month_text) <= 12:
        return year_text
    if day_text is None:
        return f"{year_text}-{month_text}"
    try:
        date(int(year_text), int(month_text), int(day_text))
    except ValueError:
        return f"{year_text}-{month_text}"
    return f"{year_text}-{month_text}-{day_text}"


def _country(value: object) -> str | None:
    # FtM writes countries in lower case and has a few non-ISO codes ("suhh" for the USSR,
    # "ge-ab"); only two-letter codes can be compared with a client's nationality.
    if not isinstance(value, str):
        return None
    code = value.strip().upper()
    if len(code) == 2 and code.isascii() and code.isalpha():
        return code
    return None


def _strings(properties: dict[str, object], key: str) -> list[str]:
    raw = properties.get(key)
    if isinstance(raw, str):
        raw = [raw]
    if not isinstance(raw, list):
        return []
    values: list[str] = []
    for value in raw:
        # Nested entities (OpenSanctions "targets.nested") and numbers are not names or codes.
        if isinstance(value, str):
            text = " ".join(value.split())
            if text and len(text) <= _MAX_VALUE_LENGTH:
                values.append(text)
    return values


def _unique_names(names: Iterable[str], exclude: Iterable[str] = ()) -> tuple[str, ...]:
    # "IVAN PETROV" and "Ivan Petrov" fold to the same tokens: keep the first spelling only.
    seen = {name.casefold() for name in exclude}
    kept: list[str] = []
    for name in names:
        key = name.casefold()
        if key not in seen:
            seen.add(key)
            kept.append(name)
    return tuple(kept)


def _unique(values: Iterable[str]) -> tuple[str, ...]:
    return tuple(dict.fromkeys(values))


def _entry_from_entity(entity: object) -> ListEntry | None:
    """The person in one decoded line, None for another schema; _Malformed when unusable."""
    if not isinstance(entity, dict):
        raise _Malformed("not a JSON object")
    schema = entity.get("schema")
    if not isinstance(schema, str):
        raise _Malformed("no schema")
    if schema != "Person":
        return None
    entity_id = entity.get("id")
    if not isinstance(entity_id, str) or not entity_id.strip():
        raise _Malformed("no id")
    properties = entity.get("properties", {})
    if not isinstance(properties, dict):
        raise _Malformed("properties is not an object")

    names = _strings(properties, "name") + _strings(properties, "alias")
    names += _strings(properties, "previousName")
    # Lists often give "name" with a patronymic or middle name; first + last is how the person
    # signs a registration form.
    first_names = _strings(properties, "firstName")[:3]
    last_names = _strings(properties, "lastName")[:3]
    names += [f"{first} {last}" for first in first_names for last in last_names]
    unique_names = _unique_names(names)
    weak_aliases = _unique_names(_strings(properties, "weakAlias"), exclude=unique_names)
    if not unique_names and not weak_aliases:
        raise _Malformed("person without a name")

    birth_dates = (_partial_date(value) for value in _strings(properties, "birthDate"))
    nationalities = (
        _country(value)
        for value in _strings(properties, "nationality") + _strings(properties, "citizenship")
    )
    countries = (_country(value) for value in _strings(properties, "country"))
    topics = _strings(properties, "topics")
    top_level_topics = entity.get("topics")
    if isinstance(top_level_topics, list):
        topics += [topic for topic in top_level_topics if isinstance(topic, str)]
    datasets = entity.get("datasets")
    return ListEntry(
        entity_id=entity_id.strip(),
        names=unique_names,
        birth_dates=_unique(value for value in birth_dates if value),
        nationalities=_unique(value for value in nationalities if value),
        topics=_unique(topics),
        datasets=_unique(
            value
            for value in (datasets if isinstance(datasets, list) else [])
            if isinstance(value, str)
        ),
        weak_aliases=weak_aliases,
        countries=_unique(value for value in countries if value),
    )


class FtmParse(Iterator[ListEntry]):
    """The persons of a FollowTheMoney JSON-lines stream, read lazily; `report` fills as it goes.

    `skipped` (lines that did not become an entry) is final once the iterator is exhausted.
    """

    def __init__(self, lines: Iterable[str | bytes], report: ParseReport | None = None) -> None:
        self.report = report if report is not None else ParseReport()
        self._entries = self._read(lines)

    @property
    def skipped(self) -> int:
        return self.report.skipped

    def __iter__(self) -> FtmParse:
        return self

    def __next__(self) -> ListEntry:
        return next(self._entries)

    def _malformed(self, number: int, reason: str) -> None:
        self.report.malformed += 1
        if len(self.report.errors) < MAX_REPORTED_ERRORS:
            self.report.errors.append(f"line {number}: {reason}")

    def _read(self, lines: Iterable[str | bytes]) -> Iterator[ListEntry]:
        for number, raw in enumerate(lines, start=1):
            if isinstance(raw, bytes):
                try:
                    raw = raw.decode("utf-8")
                except UnicodeDecodeError:
                    self.report.lines += 1
                    self._malformed(number, "not UTF-8")
                    continue
            if not isinstance(raw, str) or not raw.strip():
                # Blank lines (a trailing newline, a separator) carry nothing to skip.
                continue
            self.report.lines += 1
            try:
                entry = _entry_from_entity(json.loads(raw))
            except (ValueError, RecursionError) as exc:
                # json.JSONDecodeError is a ValueError, like _Malformed; deep nesting recurses.
                reason = str(exc) if isinstance(exc, _Malformed) else "not valid JSON"
                self._malformed(number, reason)
                continue
            if entry is None:
                self.report.skipped_schema += 1
                continue
            self.report.persons += 1
            yield entry


def parse_ftm_lines(lines: Iterable[str | bytes], *, report: ParseReport | None = None) -> FtmParse:
    """Persons from FollowTheMoney JSON lines; other schemas and malformed lines are skipped and
    counted in `report` (also reachable as `.report` / `.skipped` on the returned iterator)."""
    return FtmParse(lines, report)


def load_ftm_file(path: Path | str) -> tuple[list[ListEntry], ParseReport]:
    """Every person of a FollowTheMoney JSON-lines file, and what was skipped."""
    report = ParseReport()
    with Path(path).open(encoding="utf-8", errors="replace") as lines:
        entries = list(parse_ftm_lines(lines, report=report))
    return entries, report
