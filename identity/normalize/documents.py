"""Identity document numbers, tax numbers (validated per country with python-stdnum) and ISO
country codes."""

from __future__ import annotations

import functools
import re
import unicodedata
from collections.abc import Callable

from stdnum import get_cc_module
from stdnum.exceptions import ValidationError as StdnumValidationError

from brokercrm.reference import COUNTRIES

from .errors import (
    _MAX_RAW_LENGTH,
    NormalizationCode,
    NormalizationError,
    _reject_unreadable,
    _require_text,
)
from .names import _transliterate

_MIN_NUMBER_LENGTH = 4
_MAX_NUMBER_LENGTH = 30
_NOT_ALPHANUMERIC = re.compile(r"[^A-Z0-9]+")


def _alphanumeric_compact(raw: object, code: NormalizationCode, what: str) -> str:
    text = _reject_unreadable(_require_text(raw, code, what, _MAX_RAW_LENGTH), code, what)
    # Separators, spaces and case vary between the document and what people type; the letters
    # and digits do not. Transliteration reads a Cyrillic look-alike letter as the Latin one.
    compact = _NOT_ALPHANUMERIC.sub("", _transliterate(text).upper())
    if not _MIN_NUMBER_LENGTH <= len(compact) <= _MAX_NUMBER_LENGTH:
        raise NormalizationError(
            code,
            f"The {what} must have {_MIN_NUMBER_LENGTH} to {_MAX_NUMBER_LENGTH} letters or digits.",
        )
    return compact


def normalize_document_number(raw: str) -> str:
    """Passport or ID card number as upper-case letters and digits: "ab 123-456" -> "AB123456"."""
    return _alphanumeric_compact(raw, "document_number_invalid", "document number")


_GB_NINO = re.compile(
    # HMRC's published format: D, F, I, Q, U and V are never used, O never as second letter,
    # the listed prefixes are never issued, and the suffix is A to D.
    r"(?!BG|GB|KN|NK|NT|TN|ZZ)[A-CEGHJ-PR-TW-Z][A-CEGHJ-NPR-TW-Z][0-9]{6}[A-D]",
    re.ASCII,
)


def _validate_gb_nino(raw: str) -> str:
    # python-stdnum has no UK National Insurance number, the tax reference most UK individuals
    # give (a UTR exists only for self-assessment), so without this GB clients could not register.
    compact = "".join(raw.split()).upper()
    if not _GB_NINO.fullmatch(compact):
        raise StdnumValidationError("Not a UK National Insurance number.")
    return compact


_LOCAL_TAX_ID_VALIDATORS: dict[tuple[str, str], Callable[[str], str]] = {
    ("GB", "nino"): _validate_gb_nino,
}

# python-stdnum modules (per country package) that hold the tax number of an individual, tried
# in order; VAT numbers come last for sole traders. A country is listed only when these cover
# what its residents are actually given: for Hungary, Luxembourg or Malta stdnum has only the
# company VAT number, and validating against it would refuse every genuine personal number, so
# those countries fall back to the alphanumeric form like countries stdnum does not know at all.
TAX_ID_MODULES: dict[str, tuple[str, ...]] = {
    "AT": ("tin", "vat"),
    "AU": ("tfn", "abn"),
    "BE": ("nn", "bis", "vat"),
    "BG": ("egn", "pnf", "vat"),
    "BR": ("cpf", "cnpj"),
    "CA": ("sin", "bn"),
    "CH": ("ssn", "vat"),
    "CY": ("vat",),  # the Cypriot TIC and VAT number share one format and check letter
    "CZ": ("rc", "dic"),
    # Not de.stnr: the Steuernummer has no check digit in most Länder, so it would accept almost
    # any 10-13 digits, including a mistyped IdNr, which every resident has had since 2008.
    "DE": ("idnr", "vat"),
    "DK": ("cpr", "cvr"),
    "EE": ("ik", "kmkr"),
    "ES": ("nif",),  # covers DNI, NIE and CIF
    "FI": ("hetu", "veronumero", "alv"),
    "FR": ("nif", "tva"),  # fr.nif is the SPI on the French tax notice
    "GB": ("utr", "nino", "vat"),
    "GR": ("vat",),  # the AFM, issued to individuals and companies alike
    "HR": ("oib",),
    "IE": ("pps", "vat"),
    "IN": ("pan",),
    "IS": ("kennitala", "vsk"),
    "IT": ("codicefiscale", "iva"),
    "LI": ("peid",),
    "LT": ("asmens", "pvm"),
    "LV": ("pvn",),  # validates personal codes as well as VAT numbers
    "MX": ("rfc", "curp"),
    "NL": ("bsn", "btw"),
    "NO": ("fodselsnummer", "mva"),
    "PL": ("pesel", "nip"),
    "PT": ("nif",),
    "RO": ("cnp", "cf"),
    "SE": ("personnummer", "vat"),
    "SI": ("ddv",),  # the davčna številka, issued to individuals too
    "SK": ("rc", "dph"),
    "US": ("tin",),  # SSN, ITIN, EIN, ATIN and PTIN
    "ZA": ("tin", "idnr"),
}


@functools.cache
def _tax_id_validators(country: str) -> tuple[Callable[[str], str], ...]:
    validators: list[Callable[[str], str]] = []
    for name in TAX_ID_MODULES.get(country, ()):
        local = _LOCAL_TAX_ID_VALIDATORS.get((country, name))
        if local is not None:
            validators.append(local)
            continue
        module = get_cc_module(country.lower(), name)
        if module is None:
            # A stdnum upgrade that drops a module must not take tax-id checks down with it.
            continue
        validators.append(module.validate)
    return tuple(validators)


_MAX_TAX_ID_LENGTH = 64


def normalize_tax_id(raw: str, country: str) -> str:
    """ "COUNTRY:compact" tax number, checksum-validated where python-stdnum knows the country.

    The country prefix keeps the same digits issued by two countries from matching each other.
    """
    country_code = normalize_country(country)
    text = _require_text(raw, "tax_id_invalid", "tax number", _MAX_TAX_ID_LENGTH)
    validators = _tax_id_validators(country_code)
    if not validators:
        compact = _alphanumeric_compact(text, "tax_id_invalid", "tax number")
        return f"{country_code}:{compact}"
    # NFKC turns full-width digits into ASCII; anything still non-ASCII is no tax number, and
    # stdnum's validators are only written for ASCII.
    text = unicodedata.normalize("NFKC", text)
    if not text.isascii() or not text.isprintable():
        raise NormalizationError("tax_id_invalid", "The tax number contains invalid characters.")
    for validate in validators:
        try:
            compact = validate(text)
        except StdnumValidationError:
            continue
        return f"{country_code}:{compact.upper()}"
    raise NormalizationError(
        "tax_id_invalid",
        f"This is not a valid tax number for {COUNTRIES[country_code]}: check the digits.",
    )


# --- country -----------------------------------------------------------------------------------


def normalize_country(raw: str) -> str:
    """ISO 3166-1 alpha-2 code in upper case, one of `brokercrm.reference.COUNTRIES`."""
    text = _require_text(raw, "country_invalid", "country", _MAX_RAW_LENGTH).strip()
    # ASCII first: "ß".upper() is "SS", which is South Sudan.
    code = text.upper() if text.isascii() else ""
    if code not in COUNTRIES:
        raise NormalizationError("country_invalid", "This is not an ISO 3166-1 country code.")
    return code
