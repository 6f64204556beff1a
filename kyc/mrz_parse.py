"""Parsing of an MRZ's text under ICAO Doc 9303: the TD3, TD2 and TD1 field layouts into an
`MrzResult`, every check digit verified; and the error classes KYC input is refused with."""

from __future__ import annotations

import datetime
import re
from dataclasses import dataclass
from dataclasses import field as dataclass_field
from typing import Literal

from brokercrm.errors import ApplicationError

# --- errors ------------------------------------------------------------------------------------


class KycInputError(ApplicationError, ValueError):
    """Bad KYC input (an image, an MRZ, an upload); `code` is the stable API error code.

    It is an `ApplicationError`, so the API answers it with its `status` (400 unless a subclass
    says otherwise) and code, and a `ValueError`, so code that only knows "the value was bad"
    can still catch it.
    """

    def __init__(self, code: str, message: str) -> None:
        super().__init__(message, code=code)
        self.code: str = code
        self.message: str = message


MrzErrorCode = Literal[
    "mrz_format", "mrz_date", "mrz_not_found", "mrz_unreadable", "profile_invalid"
]


class MrzError(KycInputError):
    """The text is not a readable MRZ, or no MRZ was found on the image."""

    def __init__(self, code: MrzErrorCode, message: str) -> None:
        super().__init__(code, message)


# --- check digits ------------------------------------------------------------------------------

_MRZ_CHARS = re.compile(r"[0-9A-Z<]*", re.ASCII)
_WEIGHTS = (7, 3, 1)


def _char_value(ch: str) -> int:
    if "0" <= ch <= "9":
        return ord(ch) - ord("0")
    if "A" <= ch <= "Z":
        return ord(ch) - ord("A") + 10
    return 0  # "<", the filler


def check_digit(field: str) -> str:
    """The ICAO 9303 check digit of `field`: weights 7, 3, 1 repeated, sum modulo 10.

    Only the MRZ alphabet (digits, upper-case A-Z, "<") is accepted; lower case is refused rather
    than upper-cased, because a lower-case letter cannot have come from an MRZ.
    """
    if not isinstance(field, str) or not _MRZ_CHARS.fullmatch(field):
        raise MrzError("mrz_format", "Only digits, capital letters A-Z and '<' occur in an MRZ.")
    total = sum(_char_value(ch) * _WEIGHTS[i % 3] for i, ch in enumerate(field))
    return str(total % 10)


# --- parsing -----------------------------------------------------------------------------------

# A whole page of OCR text is a few kB; anything bigger is not an MRZ and is refused unread.
_MAX_TEXT_LENGTH = 10_000

# Expiry dates carry no century. Passports are issued for at most ten years, so every expiry we
# can be shown lies between the late 1980s (long-expired documents) and the 2070s; years 80-99
# therefore mean 1980-1999 and 00-79 mean 2000-2079. Revisit before 2070, when documents
# expiring in the 2080s appear.
_EXPIRY_CENTURY_PIVOT = 80


def _today() -> datetime.date:
    # The only clock in this module, so tests can pin the birth-date century rule.
    return datetime.date.today()  # noqa: DTZ011 - a calendar date, the server's zone is fine


@dataclass(frozen=True)
class MrzResult:
    """A parsed MRZ. Text fields are as printed with "<" fillers removed; `checks` holds one
    boolean per check digit the format carries (see `parse_mrz`)."""

    format: Literal["TD1", "TD2", "TD3"]
    document_type: str  # "P", "PM", "I", "ID", ... (the two-character code, fillers removed)
    issuing_country: str  # three-letter ICAO code; Germany's "D<<" becomes "D"
    surname: str
    given_names: str
    document_number: str
    nationality: str
    birth_date: datetime.date
    sex: Literal["M", "F", "X"]  # "X" also stands for the "<" that means unspecified
    expiry_date: datetime.date
    optional_data: str  # TD3: personal number; TD2: optional data; TD1: of line 1
    optional_data_2: str  # TD1: optional data of line 2; always "" for TD2 and TD3
    checks: dict[str, bool] = dataclass_field(default_factory=dict)
    lines: tuple[str, ...] = ()  # the normalised MRZ lines, for the audit trail

    @property
    def valid(self) -> bool:
        """Every check digit agrees: the MRZ was read exactly as printed (or forged well)."""
        return all(self.checks.values())


def _strip_fillers(value: str) -> str:
    return value.replace("<", " ").strip()


def _split_name(value: str) -> tuple[str, str]:
    # "ERIKSSON<<ANNA<MARIA<<<" -> ("ERIKSSON", "ANNA MARIA"); a lone "<" separates name parts,
    # "<<" separates the primary identifier from the secondary one.
    surname, _, given = value.partition("<<")
    return " ".join(_strip_fillers(surname).split()), " ".join(_strip_fillers(given).split())


def _parse_date(value: str, what: str, *, is_birth: bool) -> datetime.date:
    if not value.isdigit():
        raise MrzError("mrz_date", f"The {what} in the MRZ is not a date (YYMMDD).")
    yy, mm, dd = int(value[0:2]), int(value[2:4]), int(value[4:6])
    if is_birth:
        # Nobody is born in the future: a two-digit year above this year's is in the 1900s.
        century = 1900 if yy > _today().year % 100 else 2000
    else:
        century = 1900 if yy >= _EXPIRY_CENTURY_PIVOT else 2000
    try:
        return datetime.date(century + yy, mm, dd)
    except ValueError as exc:
        raise MrzError("mrz_date", f"The {what} in the MRZ is not a valid date.") from exc


def _parse_sex(value: str) -> Literal["M", "F", "X"]:
    if value == "M":
        return "M"
    if value == "F":
        return "F"
    if value in {"<", "X"}:
        return "X"
    raise MrzError("mrz_format", "The sex in the MRZ must be M, F, X or '<'.")


def _verify(field: str, digit: str) -> bool:
    # A check digit position holding anything but a digit is simply a failed check.
    return digit.isdigit() and check_digit(field) == digit


def _normalise_lines(text: object) -> list[str]:
    if not isinstance(text, str):
        raise MrzError("mrz_format", "The MRZ must be text.")
    if len(text) > _MAX_TEXT_LENGTH:
        raise MrzError("mrz_format", "The text is far too long to be an MRZ.")
    lines = [line.strip().upper() for line in text.splitlines()]
    lines = [line for line in lines if line]
    shape = [len(line) for line in lines]
    if shape not in ([44, 44], [36, 36], [30, 30, 30]):
        raise MrzError(
            "mrz_format",
            "An MRZ has two lines of 44 characters (passport), two of 36 (travel document) "
            "or three of 30 (ID card).",
        )
    for line in lines:
        if not _MRZ_CHARS.fullmatch(line):
            raise MrzError(
                "mrz_format", "Only digits, letters A-Z and '<' may appear in an MRZ line."
            )
    return lines


def parse_mrz(text: str) -> MrzResult:
    """Parse a TD3 (2 x 44), TD2 (2 x 36) or TD1 (3 x 30) MRZ and verify its check digits.

    Surrounding whitespace, blank lines and lower case are tolerated (OCR and people produce
    them); anything else raises `MrzError` with code "mrz_format", and impossible dates raise
    code "mrz_date". Check digits that disagree do NOT raise: they are reported in `checks`, so a
    reviewer can see which field was misread. Keys of `checks`: document_number, birth_date,
    expiry_date, composite, and for TD3 also optional when the personal number is not empty.
    """
    lines = _normalise_lines(text)
    if len(lines) == 3:
        return _parse_td1(lines)
    return _parse_two_lines(lines, "TD2" if len(lines[0]) == 36 else "TD3")


def _parse_two_lines(lines: list[str], kind: Literal["TD2", "TD3"]) -> MrzResult:
    """TD3 (2 x 44) and TD2 (2 x 36) share their layout up to the optional data: TD3's is a
    14-character personal number with its own check digit, TD2's 7 characters without one."""
    line1, line2 = lines
    end = len(line1)  # 44 or 36
    optional_end = end - 2 if kind == "TD3" else end - 1
    surname, given_names = _split_name(line1[5:end])
    document_number, optional = line2[0:9], line2[28:optional_end]
    checks = {
        "document_number": _verify(document_number, line2[9]),
        "birth_date": _verify(line2[13:19], line2[19]),
        "expiry_date": _verify(line2[21:27], line2[27]),
    }
    # An empty personal number may carry "<" or "0" as its check digit (both are allowed by
    # 9303), so the check is only meaningful when there is a number.
    if kind == "TD3" and optional.strip("<"):
        checks["optional"] = _verify(optional, line2[optional_end])
    checks["composite"] = _verify(line2[0:10] + line2[13:20] + line2[21 : end - 1], line2[end - 1])
    return MrzResult(
        format=kind,
        document_type=line1[0:2].strip("<"),
        issuing_country=line1[2:5].strip("<"),
        surname=surname,
        given_names=given_names,
        document_number=document_number.strip("<"),
        nationality=line2[10:13].strip("<"),
        birth_date=_parse_date(line2[13:19], "birth date", is_birth=True),
        sex=_parse_sex(line2[20]),
        expiry_date=_parse_date(line2[21:27], "expiry date", is_birth=False),
        optional_data=_strip_fillers(optional),
        optional_data_2="",
        checks=checks,
        lines=tuple(lines),
    )


def _parse_td1(lines: list[str]) -> MrzResult:
    line1, line2, line3 = lines
    number_field, number_digit, optional_1 = line1[5:14], line1[14], line1[15:30]
    if number_digit == "<" and optional_1.strip("<"):
        # Document numbers longer than nine characters continue in the optional data, followed
        # by their check digit and a filler (9303 part 5, note j): "D23145890<1234X<<<".
        overflow = optional_1.split("<", 1)[0]
        number_field, number_digit = number_field + overflow[:-1], overflow[-1:]
        optional_1 = optional_1[len(overflow) :]
    surname, given_names = _split_name(line3)
    checks = {
        "document_number": _verify(number_field, number_digit),
        "birth_date": _verify(line2[0:6], line2[6]),
        "expiry_date": _verify(line2[8:14], line2[14]),
        "composite": _verify(line1[5:30] + line2[0:7] + line2[8:15] + line2[18:29], line2[29]),
    }
    return MrzResult(
        format="TD1",
        document_type=line1[0:2].strip("<"),
        issuing_country=line1[2:5].strip("<"),
        surname=surname,
        given_names=given_names,
        document_number=number_field.strip("<"),
        nationality=line2[15:18].strip("<"),
        birth_date=_parse_date(line2[0:6], "birth date", is_birth=True),
        sex=_parse_sex(line2[7]),
        expiry_date=_parse_date(line2[8:14], "expiry date", is_birth=False),
        optional_data=_strip_fillers(optional_1),
        optional_data_2=_strip_fillers(line2[18:29]),
        checks=checks,
        lines=tuple(lines),
    )
