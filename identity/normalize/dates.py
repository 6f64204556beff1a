"""Birth dates: validated against today's date, and their keys with day and month swapped."""

from __future__ import annotations

import datetime
import re

from .errors import _MAX_RAW_LENGTH, NormalizationError, _require_text

_MIN_BIRTH_YEAR = 1900
_MAX_AGE_YEARS = 120
_ISO_DATE = re.compile(r"([0-9]{4})-([0-9]{2})-([0-9]{2})")


def _today() -> datetime.date:
    # The server's local date (Django sets TZ from settings.TIME_ZONE); being a day off at
    # midnight does not matter for a birth date. A function so tests can pin the date.
    return datetime.date.today()  # noqa: DTZ011


def _age_on(birth: datetime.date, day: datetime.date) -> int:
    return day.year - birth.year - ((day.month, day.day) < (birth.month, birth.day))


def _check_birth_date(birth: datetime.date) -> datetime.date:
    today = _today()
    if birth > today:
        raise NormalizationError("birth_date_invalid", "The birth date is in the future.")
    if birth.year < _MIN_BIRTH_YEAR or _age_on(birth, today) > _MAX_AGE_YEARS:
        raise NormalizationError(
            "birth_date_invalid", f"The birth date is more than {_MAX_AGE_YEARS} years ago."
        )
    return birth


def parse_birth_date(value: datetime.date | str) -> datetime.date:
    """A validated birth date from a date or an ISO "YYYY-MM-DD" string."""
    if isinstance(value, datetime.datetime):
        # A datetime is a date subclass; its time of day means nothing for a birth date.
        value = value.date()
    if isinstance(value, datetime.date):
        return _check_birth_date(value)
    text = _require_text(value, "birth_date_invalid", "birth date", _MAX_RAW_LENGTH).strip()
    # Stricter than date.fromisoformat, which also takes "19900304" and week dates.
    match = _ISO_DATE.fullmatch(text)
    if match is None:
        raise NormalizationError("birth_date_invalid", "The birth date must be YYYY-MM-DD.")
    try:
        birth = datetime.date(*(int(group) for group in match.groups()))
    except ValueError as exc:
        raise NormalizationError("birth_date_invalid", "The birth date does not exist.") from exc
    return _check_birth_date(birth)


def birth_date_keys(value: datetime.date | str) -> list[str]:
    """ISO keys of a birth date: itself, plus the day/month swap when that could be a typo.

    04/03 is read as 4 March in Europe and 3 April in the US, so a person typing their birth
    date into two brands' forms can produce both; matching on both catches them.
    """
    birth = parse_birth_date(value)
    keys = [birth.isoformat()]
    if birth.day <= 12 and birth.day != birth.month:
        try:
            swapped = _check_birth_date(birth.replace(month=birth.day, day=birth.month))
        except NormalizationError:
            return keys
        keys.append(swapped.isoformat())
    return keys
