"""Machine-readable zones (ICAO Doc 9303) of passports (TD3), travel documents (TD2) and ID
cards (TD1).

The MRZ is the one part of an identity document designed to be read by a machine, and its check
digits tell us whether it was read (or typed) correctly. This module parses it, verifies every
check digit, and compares the result with what the client typed in their profile. It is pure: no
database, no settings, no clock except `_today()`. The parser, its check digits and the error
classes are in `kyc.mrz_parse` and importable from here; the country codes and the comparison
with the profile are here.

Every rejection is a `KycInputError` carrying a stable `code` that callers turn into an HTTP 400;
no other exception type may escape, whatever the input. The error classes of the sibling modules
(`kyc.ocr`, `kyc.uploads`) derive from the same base, defined with the parser rather than in a
module of its own.
"""

from __future__ import annotations

import datetime
import re
from dataclasses import dataclass
from dataclasses import field as dataclass_field

from rapidfuzz import fuzz
from unidecode import unidecode

from kyc.mrz_parse import (
    _MAX_TEXT_LENGTH,
    KycInputError,
    MrzError,
    MrzErrorCode,
    MrzResult,
    check_digit,
    parse_mrz,
)

__all__ = [
    "NAME_MATCH_THRESHOLD",
    "KycInputError",
    "MrzComparison",
    "MrzError",
    "MrzErrorCode",
    "MrzResult",
    "check_digit",
    "compare_with_profile",
    "mrz_country_alpha2",
    "parse_mrz",
]

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
