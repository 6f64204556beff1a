"""Machine-readable zones (ICAO Doc 9303) of passports (TD3), travel documents (TD2) and ID
cards (TD1).

The MRZ is the one part of an identity document designed to be read by a machine, and its check
digits tell us whether it was read (or typed) correctly. This module parses it, verifies every
check digit, and compares the result with what the client typed in their profile. It is pure: no
database, no settings, no clock except `_today()`.

Every rejection is a `KycInputError` carrying a stable `code` that callers turn into an HTTP 400;
no other exception type may escape, whatever the input. The error classes of the sibling modules
(`kyc.ocr`, `kyc.uploads`) derive from the same base, defined here so that all three share it
without a module of their own.
"""

from __future__ import annotations

import datetime
import re
from dataclasses import dataclass
from dataclasses import field as dataclass_field
from typing import Literal

from rapidfuzz import fuzz
from unidecode import unidecode

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


# --- countries ---------------------------------------------------------------------------------

# ISO 3166-1 alpha-3 -> alpha-2 for every country in brokercrm.reference.COUNTRIES. ICAO uses
# alpha-3 in the MRZ, with the exceptions in _ICAO_SPECIAL_CODES.
_ALPHA3_TO_ALPHA2: dict[str, str] = {
    alpha3: alpha2
    for alpha2, alpha3 in re.findall(
        r"([A-Z]{2}):([A-Z]{3})",
        """
AD:AND AE:ARE AF:AFG AG:ATG AI:AIA AL:ALB AM:ARM AO:AGO AQ:ATA AR:ARG AS:ASM AT:AUT AU:AUS
AW:ABW AX:ALA AZ:AZE BA:BIH BB:BRB BD:BGD BE:BEL BF:BFA BG:BGR BH:BHR BI:BDI BJ:BEN BL:BLM
BM:BMU BN:BRN BO:BOL BQ:BES BR:BRA BS:BHS BT:BTN BV:BVT BW:BWA BY:BLR BZ:BLZ CA:CAN CC:CCK
CD:COD CF:CAF CG:COG CH:CHE CI:CIV CK:COK CL:CHL CM:CMR CN:CHN CO:COL CR:CRI CU:CUB CV:CPV
CW:CUW CX:CXR CY:CYP CZ:CZE DE:DEU DJ:DJI DK:DNK DM:DMA DO:DOM DZ:DZA EC:ECU EE:EST EG:EGY
EH:ESH ER:ERI ES:ESP ET:ETH FI:FIN FJ:FJI FK:FLK FM:FSM FO:FRO FR:FRA GA:GAB GB:GBR GD:GRD
GE:GEO GF:GUF GG:GGY GH:GHA GI:GIB GL:GRL GM:GMB GN:GIN GP:GLP GQ:GNQ GR:GRC GS:SGS GT:GTM
GU:GUM GW:GNB GY:GUY HK:HKG HM:HMD HN:HND HR:HRV HT:HTI HU:HUN ID:IDN IE:IRL IL:ISR IM:IMN
IN:IND IO:IOT IQ:IRQ IR:IRN IS:ISL IT:ITA JE:JEY JM:JAM JO:JOR JP:JPN KE:KEN KG:KGZ KH:KHM
KI:KIR KM:COM KN:KNA KP:PRK KR:KOR KW:KWT KY:CYM KZ:KAZ LA:LAO LB:LBN LC:LCA LI:LIE LK:LKA
LR:LBR LS:LSO LT:LTU LU:LUX LV:LVA LY:LBY MA:MAR MC:MCO MD:MDA ME:MNE MF:MAF MG:MDG MH:MHL
MK:MKD ML:MLI MM:MMR MN:MNG MO:MAC MP:MNP MQ:MTQ MR:MRT MS:MSR MT:MLT MU:MUS MV:MDV MW:MWI
MX:MEX MY:MYS MZ:MOZ NA:NAM NC:NCL NE:NER NF:NFK NG:NGA NI:NIC NL:NLD NO:NOR NP:NPL NR:NRU
NU:NIU NZ:NZL OM:OMN PA:PAN PE:PER PF:PYF PG:PNG PH:PHL PK:PAK PL:POL PM:SPM PN:PCN PR:PRI
PS:PSE PT:PRT PW:PLW PY:PRY QA:QAT RE:REU RO:ROU RS:SRB RU:RUS RW:RWA SA:SAU SB:SLB SC:SYC
SD:SDN SE:SWE SG:SGP SH:SHN SI:SVN SJ:SJM SK:SVK SL:SLE SM:SMR SN:SEN SO:SOM SR:SUR SS:SSD
ST:STP SV:SLV SX:SXM SY:SYR SZ:SWZ TC:TCA TD:TCD TF:ATF TG:TGO TH:THA TJ:TJK TK:TKL TL:TLS
TM:TKM TN:TUN TO:TON TR:TUR TT:TTO TV:TUV TW:TWN TZ:TZA UA:UKR UG:UGA UM:UMI US:USA UY:URY
UZ:UZB VA:VAT VC:VCT VE:VEN VG:VGB VI:VIR VN:VNM VU:VUT WF:WLF WS:WSM YE:YEM YT:MYT ZA:ZAF
ZM:ZMB ZW:ZWE
""",
    )
}

# Codes ICAO uses beside ISO 3166 (Doc 9303 part 3, 5). Those mapped to None name no country in
# our reference data (test state, organisations, stateless persons, refugees, Kosovo), so a
# caller must handle them by hand instead of guessing.
_ICAO_SPECIAL_CODES: dict[str, str | None] = {
    "D": "DE",  # Germany prints "D<<", not "DEU"
    "GBD": "GB",  # British Overseas Territories Citizen
    "GBN": "GB",  # British National (Overseas)
    "GBO": "GB",  # British Overseas Citizen
    "GBP": "GB",  # British Protected Person
    "GBS": "GB",  # British Subject
    "UTO": None,  # Utopia, the specimen state of Doc 9303
    "EUE": None,  # European Union laissez-passer
    "UNO": None,  # United Nations
    "UNA": None,
    "UNK": None,  # UN interim administration in Kosovo
    "RKS": None,  # Kosovo: no ISO 3166-1 code in our reference data
    "XOM": None,  # Sovereign Military Order of Malta
    "XPO": None,  # Interpol
    "XXA": None,  # stateless person
    "XXB": None,  # refugee (1951 Convention)
    "XXC": None,  # refugee (other)
    "XXX": None,  # unspecified nationality
}


def mrz_country_alpha2(code3: str) -> str | None:
    """The ISO 3166-1 alpha-2 code for an MRZ country code ("DEU" or "D<<" -> "DE").

    None when the code is well formed but names no country (UTO, UNO, XXA, ...) or is unknown;
    `MrzError("mrz_format")` when it is not text at all.
    """
    if not isinstance(code3, str):
        raise MrzError("mrz_format", "The country code must be text.")
    code = code3.strip().upper().strip("<")
    if code in _ICAO_SPECIAL_CODES:
        return _ICAO_SPECIAL_CODES[code]
    return _ALPHA3_TO_ALPHA2.get(code)


# --- comparison with the profile ---------------------------------------------------------------

# rapidfuzz token_sort_ratio at or above which two names are taken to be the same person's.
# 85 lets through transliteration variants (HANS MUELLER/MULLER: 96) and one wrong letter
# (JOHN SMITH/SMYTH: 90), but not a different given name (ANNA/MARIA ERIKSSON: 59). A middle name
# missing from the profile (ANNA ERIKSSON/ANNA MARIA ERIKSSON: 81) fails too, on purpose: a
# person decides that one.
NAME_MATCH_THRESHOLD = 85.0


@dataclass(frozen=True)
class MrzComparison:
    """How an MRZ agrees with the profile the client filled in; `reasons` says why not."""

    name_similarity: float  # 0-100
    name_match: bool
    birth_date_match: bool
    document_number_match: bool | None  # None: the profile holds no document number
    checks_valid: bool  # the MRZ's own check digits agree
    ok: bool  # every compared field matches and the check digits agree
    reasons: list[str] = dataclass_field(default_factory=list)  # one sentence per problem


def _name_key(value: str) -> str:
    # MRZ names are upper-case A-Z with every other character (hyphen, apostrophe, space)
    # printed as "<"; bring the typed name to the same alphabet before measuring distance.
    ascii_upper = unidecode(value).upper()
    return " ".join(re.sub(r"[^A-Z]+", " ", ascii_upper).split())


def _document_key(value: str) -> str:
    return re.sub(r"[^A-Z0-9]", "", unidecode(value).upper())


def _require_profile_text(value: object, what: str, *, optional: bool = False) -> str:
    if optional and value is None:
        return ""
    if not isinstance(value, str) or len(value) > _MAX_TEXT_LENGTH:
        raise MrzError("profile_invalid", f"The profile's {what} must be text.")
    return value


def compare_with_profile(
    mrz: MrzResult,
    *,
    given_name: str,
    family_name: str,
    birth_date: datetime.date,
    document_number: str | None,
) -> MrzComparison:
    """Compare a parsed MRZ with the profile: names (fuzzy), birth date and document number.

    `ok` requires every compared field to match AND the MRZ's check digits to agree, because a
    misread MRZ proves nothing either way. An empty or missing profile document number is not
    compared (`document_number_match` is None).
    """
    if not isinstance(mrz, MrzResult):
        raise MrzError("mrz_format", "Only a parsed MRZ can be compared with a profile.")
    given = _require_profile_text(given_name, "given name")
    family = _require_profile_text(family_name, "family name")
    number = _require_profile_text(document_number, "document number", optional=True)
    if isinstance(birth_date, datetime.datetime):
        # A datetime never equals a date; the profile's time of day is meaningless here.
        birth_date = birth_date.date()
    if not isinstance(birth_date, datetime.date):
        raise MrzError("profile_invalid", "The profile's birth date must be a date.")

    reasons: list[str] = []
    profile_name = _name_key(f"{given} {family}")
    mrz_name = _name_key(f"{mrz.given_names} {mrz.surname}")
    similarity = float(fuzz.token_sort_ratio(profile_name, mrz_name))
    name_match = bool(profile_name) and similarity >= NAME_MATCH_THRESHOLD
    if not name_match:
        reasons.append(
            f"The name on the document ({mrz_name or 'none'}) does not match the profile "
            f"({profile_name or 'none'}); similarity {similarity:.0f} of 100."
        )
    birth_date_match = mrz.birth_date == birth_date
    if not birth_date_match:
        reasons.append(
            f"The birth date on the document ({mrz.birth_date.isoformat()}) differs from the "
            f"profile ({birth_date.isoformat()})."
        )
    document_number_match: bool | None = None
    profile_number = _document_key(number)
    if profile_number:
        document_number_match = _document_key(mrz.document_number) == profile_number
        if not document_number_match:
            reasons.append(
                f"The document number on the document ({mrz.document_number}) differs from "
                f"the profile ({profile_number})."
            )
    if not mrz.valid:
        failed = ", ".join(name for name, ok in mrz.checks.items() if not ok)
        reasons.append(
            f"The MRZ check digits do not agree ({failed}): it was misread or altered; "
            "ask for a sharper image."
        )
    return MrzComparison(
        name_similarity=similarity,
        name_match=name_match,
        birth_date_match=birth_date_match,
        document_number_match=document_number_match,
        checks_valid=mrz.valid,
        ok=not reasons,
        reasons=reasons,
    )
