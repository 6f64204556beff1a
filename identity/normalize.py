"""Canonical forms of the personal data the identity match engine compares.

The same function runs when a match key is stored and when a new registration is probed, so a
value written two ways ("+357 99 123456" and "0035799123456", "Иван" and "Ivan") lands on the same
key. Everything here is pure: no database, no settings, no clock except `_today()`.

Every rejection is a `NormalizationError` carrying a stable `code` that callers turn into an HTTP
400; no other exception type may escape, whatever the input (None, bytes, surrogates, 10 MB).
"""

from __future__ import annotations

import datetime
import functools
import ipaddress
import re
import unicodedata
from collections.abc import Callable
from typing import Literal

import phonenumbers
from stdnum import get_cc_module
from stdnum.exceptions import ValidationError as StdnumValidationError
from unidecode import unidecode

from brokercrm.reference import COUNTRIES

NormalizationCode = Literal[
    "email_invalid",
    "phone_invalid",
    "birth_date_invalid",
    "name_invalid",
    "document_number_invalid",
    "tax_id_invalid",
    "ip_invalid",
    "device_invalid",
    "country_invalid",
]


class NormalizationError(ValueError):
    """A value that cannot be turned into a match key; `code` is the stable API error code."""

    def __init__(self, code: NormalizationCode, message: str) -> None:
        super().__init__(message)
        self.code: str = code
        self.message: str = message


# Inputs longer than this are rejected before any parsing, so hostile payloads cost nothing.
_MAX_RAW_LENGTH = 1000


def _require_text(value: object, code: NormalizationCode, what: str, max_length: int) -> str:
    # Callers pass JSON values straight through; None, numbers and lists must become a 400.
    if not isinstance(value, str):
        raise NormalizationError(code, f"The {what} must be text.")
    if len(value) > max_length:
        raise NormalizationError(code, f"The {what} is longer than {max_length} characters.")
    return value


def _reject_unreadable(text: str, code: NormalizationCode, what: str) -> str:
    # Lone surrogates and control characters are encoding damage or injection, not data;
    # unidecode would silently drop them, so "Jo<U+D800>hn" would match John unnoticed.
    if any(unicodedata.category(ch) in {"Cs", "Cc"} and not ch.isspace() for ch in text):
        raise NormalizationError(code, f"The {what} contains invalid characters.")
    return text


def _has_control_or_space(text: str) -> bool:
    # Category C covers control, format (zero-width joiners), surrogates and unassigned code
    # points: none belongs in an address, and surrogates would break encoding further down.
    return any(ch.isspace() or unicodedata.category(ch).startswith("C") for ch in text)


# --- e-mail ------------------------------------------------------------------------------------

# Providers that deliver "name+tag@domain" to "name@domain": the tag is how people register twice.
# Kept as data so compliance can review it; GMX and Yahoo are absent on purpose (GMX has no plus
# addressing, Yahoo uses disposable "-" aliases we cannot tell from real hyphens).
PLUS_ADDRESSING_DOMAINS: frozenset[str] = frozenset(
    {
        "gmail.com",
        "outlook.com",
        "hotmail.com",
        "live.com",
        "msn.com",
        "icloud.com",
        "me.com",
        "mac.com",
        "protonmail.com",
        "proton.me",
        "pm.me",
        "fastmail.com",
        "fastmail.fm",
        "yandex.ru",
        "yandex.com",
        "zoho.com",
    }
)

# Gmail ignores dots in the local part, so "j.o.h.n" and "john" are one mailbox.
DOT_INSENSITIVE_DOMAINS: frozenset[str] = frozenset({"gmail.com"})

# Alternative domains that deliver to the same mailbox as the canonical one.
DOMAIN_ALIASES: dict[str, str] = {"googlemail.com": "gmail.com"}

_MAX_EMAIL_LENGTH = 254
_MAX_LOCAL_PART_LENGTH = 64
_MAX_DOMAIN_LENGTH = 253
_DOMAIN_LABEL = re.compile(r"[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?", re.ASCII)


def _split_email(raw: object) -> tuple[str, str, str]:
    """Validate and return (local part, domain as typed, domain in ASCII), both domains lower."""
    text = _require_text(raw, "email_invalid", "e-mail address", _MAX_RAW_LENGTH).strip()
    if not text:
        raise NormalizationError("email_invalid", "The e-mail address is empty.")
    if len(text) > _MAX_EMAIL_LENGTH:
        raise NormalizationError(
            "email_invalid", f"The e-mail address is longer than {_MAX_EMAIL_LENGTH} characters."
        )
    if _has_control_or_space(text):
        raise NormalizationError(
            "email_invalid", "The e-mail address contains spaces or control characters."
        )
    if text.count("@") != 1:
        raise NormalizationError("email_invalid", "The e-mail address must contain exactly one @.")
    local, domain = text.split("@")
    if not local:
        raise NormalizationError("email_invalid", "The e-mail address has nothing before the @.")
    # RFC 5321 counts octets, not characters: a 64-character Cyrillic local part is too long.
    if len(local.encode("utf-8")) > _MAX_LOCAL_PART_LENGTH:
        raise NormalizationError(
            "email_invalid",
            f"The part before the @ is longer than {_MAX_LOCAL_PART_LENGTH} bytes.",
        )
    domain = domain.lower()
    try:
        ascii_domain = domain.encode("idna").decode("ascii").lower()
    except UnicodeError as exc:
        raise NormalizationError(
            "email_invalid", "The e-mail address has an invalid domain."
        ) from exc
    labels = ascii_domain.split(".")
    if (
        len(labels) < 2
        or len(ascii_domain) > _MAX_DOMAIN_LENGTH
        or not all(_DOMAIN_LABEL.fullmatch(label) for label in labels)
        # An all-numeric top-level label means an IP address, not a mail domain.
        or labels[-1].isdigit()
    ):
        raise NormalizationError("email_invalid", "The e-mail address has an invalid domain.")
    if len(local.encode("utf-8")) + 1 + len(ascii_domain) > _MAX_EMAIL_LENGTH:
        raise NormalizationError(
            "email_invalid", f"The e-mail address is longer than {_MAX_EMAIL_LENGTH} characters."
        )
    return local, domain, ascii_domain


def normalize_email(raw: str) -> str:
    """The mailbox an address delivers to, used as the match key (never for sending mail)."""
    local, _domain, ascii_domain = _split_email(raw)
    # Case is technically significant in the local part, but no mainstream provider honours it
    # and people type it inconsistently, so for matching it is noise.
    local = local.lower()
    ascii_domain = DOMAIN_ALIASES.get(ascii_domain, ascii_domain)
    if ascii_domain in PLUS_ADDRESSING_DOMAINS:
        local = local.split("+", 1)[0]
    if ascii_domain in DOT_INSENSITIVE_DOMAINS:
        local = local.replace(".", "")
    if not local:
        raise NormalizationError(
            "email_invalid", "The e-mail address has no mailbox name before the @."
        )
    return f"{local}@{ascii_domain}"


def email_display(raw: str) -> str:
    """The address to contact the person at: as typed, trimmed, with the domain lower-cased."""
    local, domain, _ascii_domain = _split_email(raw)
    # Validate the matching form too, so nothing is stored that normalize_email would refuse.
    normalize_email(raw)
    return f"{local}@{domain}"


# --- phone -------------------------------------------------------------------------------------

_MAX_PHONE_LENGTH = 40


def normalize_phone(raw: str, default_region: str | None) -> str:
    """E.164 form; `default_region` (ISO alpha-2) reads numbers written without a country code."""
    text = _require_text(raw, "phone_invalid", "phone number", _MAX_PHONE_LENGTH).strip()
    # phonenumbers reads letters as keypad digits ("1-800-FLOWERS"); in a registration form
    # letters mean a typo or junk, and converting them would invent numbers that collide.
    if any(ch.isalpha() for ch in text):
        raise NormalizationError("phone_invalid", "The phone number contains letters.")
    if default_region is not None and not isinstance(default_region, str):
        raise NormalizationError("phone_invalid", "The phone number's region must be text.")
    region = default_region.strip().upper() if default_region else None
    try:
        number = phonenumbers.parse(text, region)
    except phonenumbers.NumberParseException as exc:
        raise NormalizationError("phone_invalid", "This is not a phone number.") from exc
    if not (phonenumbers.is_possible_number(number) and phonenumbers.is_valid_number(number)):
        raise NormalizationError("phone_invalid", "This phone number does not exist.")
    return phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.E164)


# --- names -------------------------------------------------------------------------------------

_MAX_NAME_PART_LENGTH = 200

# Honorifics and generational suffixes: "Dr. John Smith" and "John Smith Jr" are John Smith for
# matching. "m"/"mme" are French, "herr"/"frau" German, "sig"/"sra"/"sr" Italian and Spanish.
NAME_NOISE_TOKENS: frozenset[str] = frozenset(
    {
        "mr",
        "mrs",
        "ms",
        "miss",
        "mx",
        "dr",
        "prof",
        "sir",
        "madam",
        "jr",
        "sr",
        "ii",
        "iii",
        "herr",
        "frau",
        "m",
        "mme",
        "sig",
        "sra",
    }
)

# Apostrophes join ("O'Brien" -> "obrien", since people write it with and without); unidecode
# turns the typographic ones into ASCII "'" or "`" first.
_APOSTROPHES = re.compile(r"['`]")
_NON_LETTERS = re.compile(r"[^a-z]+")


def _check_name_part(part: object) -> str:
    text = _require_text(part, "name_invalid", "name", _MAX_NAME_PART_LENGTH)
    _reject_unreadable(text, "name_invalid", "name")
    # isnumeric also catches "½" and "Ⅻ", which unidecode would otherwise turn into digits/letters.
    if any(ch.isnumeric() for ch in text):
        raise NormalizationError("name_invalid", "A name cannot contain digits.")
    return text


def _transliterate(text: str) -> str:
    # NFKC first so compatibility forms (full-width letters, ligatures) map to their plain letters
    # before transliteration; unidecode then gives every script a Latin spelling.
    return unidecode(unicodedata.normalize("NFKC", text))


def to_latin(text: str) -> str:
    """The Latin-script spelling of a name as we store it: "Иван  Петров" -> "Ivan Petrov"."""
    latin = " ".join(_transliterate(_check_name_part(text)).split())
    if not latin:
        raise NormalizationError("name_invalid", "The name has no letters we can read.")
    return latin


def name_tokens(*parts: str) -> list[str]:
    """Lower-case ASCII words of a name, without titles; raise name_invalid if none remain."""
    tokens: list[str] = []
    for part in parts:
        latin = _transliterate(_check_name_part(part)).casefold()
        if any(ch.isdigit() for ch in latin):
            raise NormalizationError("name_invalid", "A name cannot contain digits.")
        # unidecode output is ASCII already; stripping combining marks anyway keeps the token
        # alphabet a-z even if transliteration ever passes an accent through.
        latin = "".join(
            ch for ch in unicodedata.normalize("NFKD", latin) if not unicodedata.combining(ch)
        )
        latin = _APOSTROPHES.sub("", latin)
        tokens.extend(token for token in _NON_LETTERS.split(latin) if token)
    tokens = [token for token in tokens if token not in NAME_NOISE_TOKENS]
    # Initials are written or left out at will ("John F. Kennedy"), so they only count when the
    # name has nothing else.
    full_words = [token for token in tokens if len(token) > 1]
    if full_words:
        tokens = full_words
    if not tokens:
        raise NormalizationError("name_invalid", "The name has no letters we can read.")
    return tokens


def name_key(*parts: str) -> str:
    """Exact-match key of a name: sorted tokens, so "Petrov Ivan" equals "Ivan Petrov"."""
    return " ".join(sorted(name_tokens(*parts)))


_PHONETIC_VOWELS = frozenset("AEIOUY")


def phonetic(token: str) -> str:
    """Phonetic key of one name word: a NYSIIS variant, so spelling variants share a key.

    Algorithm: NYSIIS (New York State Identification and Intelligence System, 1970) without the
    six-character truncation, plus three changes for the names a European broker sees:
    Y after the first letter is a vowel ("Smyth" = "Smith"), V is F ("Ivanov" = "Ivanoff",
    also German W/V spellings) and D is T ("Schmidt" = "Schmitt"). Vowels after the first letter
    fold to A, so "Mohammed", "Muhammad" and "Mohamed" collide; initial K becomes C ("Katherine"
    = "Catherine") and PH becomes FF ("Philip" = "Filip").

    Known limits: the first letter is kept, so variants that differ there stay apart
    ("Ekaterina"/"Yekaterina", "Xavier"/"Javier", "Chaim"/"Haim"); nicknames never collide
    ("Bill"/"William"); a trailing S is dropped and vowels merge, so distinct names can collide
    ("Peters"/"Peter", "Jon"/"Jan"/"Jean", "Anna"/"Anne", "Smith"/"Schmidt"). It is a
    candidate filter for the fuzzy matcher, never proof that two people are one.
    """
    text = _transliterate(_check_name_part(token)).upper()
    letters = "".join(ch for ch in text if "A" <= ch <= "Z")
    if not letters:
        raise NormalizationError("name_invalid", "The name has no letters we can read.")
    return _nysiis(letters)


def _nysiis(word: str) -> str:
    for prefix, replacement in (
        ("MAC", "MCC"),
        ("KN", "NN"),
        ("K", "C"),
        ("PH", "FF"),
        ("PF", "FF"),
        ("SCH", "SSS"),
    ):
        if word.startswith(prefix):
            word = replacement + word[len(prefix) :]
            break
    for suffix, replacement in (
        ("EE", "Y"),
        ("IE", "Y"),
        ("DT", "D"),
        ("RT", "D"),
        ("RD", "D"),
        ("NT", "D"),
        ("ND", "D"),
    ):
        if word.endswith(suffix):
            word = word[: -len(suffix)] + replacement
            break

    # The rules rewrite the word in place, so later letters see earlier replacements.
    name = list(word)
    key = [name[0]]
    for i in range(1, len(name)):
        current = name[i]
        following = name[i + 1] if i + 1 < len(name) else ""
        if current == "E" and following == "V":
            name[i : i + 2] = ["A", "F"]
        elif current in _PHONETIC_VOWELS:
            name[i] = "A"
        elif current in "QZMVD":
            name[i] = {"Q": "G", "Z": "S", "M": "N", "V": "F", "D": "T"}[current]
        elif current == "K":
            name[i] = "N" if following == "N" else "C"
        elif current == "S" and name[i + 1 : i + 3] == ["C", "H"]:
            name[i : i + 3] = ["S", "S", "S"]
        elif current == "P" and following == "H":
            name[i : i + 2] = ["F", "F"]
        elif _is_silent_after(current, name[i - 1], following):
            name[i] = name[i - 1]
        if name[i] != key[-1]:
            key.append(name[i])

    if len(key) > 1 and key[-1] == "S":
        key.pop()
    if key[-2:] == ["A", "Y"]:
        key[-2:] = ["Y"]
    if len(key) > 1 and key[-1] == "A":
        key.pop()
    return "".join(key)


def _is_silent_after(current: str, previous: str, following: str) -> bool:
    # NYSIIS: an H next to a consonant and a W after a vowel lengthen the previous sound.
    if current == "H":
        return previous not in _PHONETIC_VOWELS or following not in _PHONETIC_VOWELS
    return current == "W" and previous in _PHONETIC_VOWELS


def phonetic_key(*parts: str) -> str:
    """Fuzzy-match key of a name: the sorted phonetic keys of its tokens."""
    return " ".join(sorted(phonetic(token) for token in name_tokens(*parts)))


# --- birth date --------------------------------------------------------------------------------

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


# --- identity documents and tax numbers --------------------------------------------------------

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


# --- network and device ------------------------------------------------------------------------

_MAX_IP_LENGTH = 64


def normalize_ip(raw: str) -> tuple[str, str]:
    """(address, subnet): IPv4 /24 and IPv6 /64, the blocks one household or office shares."""
    text = _require_text(raw, "ip_invalid", "IP address", _MAX_IP_LENGTH).strip()
    # A zone index ("fe80::1%eth0") names a local interface, never a client's public address.
    if "%" in text:
        raise NormalizationError("ip_invalid", "The IP address has a zone index.")
    try:
        address = ipaddress.ip_address(text)
    except ValueError as exc:
        raise NormalizationError("ip_invalid", "This is not an IP address.") from exc
    # Dual-stack proxies report IPv4 clients as ::ffff:a.b.c.d; it is the same client.
    if isinstance(address, ipaddress.IPv6Address) and address.ipv4_mapped is not None:
        address = address.ipv4_mapped
    prefix = 24 if address.version == 4 else 64
    subnet = ipaddress.ip_network(f"{address}/{prefix}", strict=False)
    return str(address), str(subnet)


_DEVICE_FINGERPRINT = re.compile(r"[a-z0-9_\-:.]{8,128}", re.ASCII)


def normalize_device(raw: str) -> str:
    """A front end's device fingerprint, lower-cased; 8 to 128 of [a-z0-9_-:.]."""
    text = _require_text(raw, "device_invalid", "device fingerprint", _MAX_RAW_LENGTH)
    text = text.strip().lower()
    if not _DEVICE_FINGERPRINT.fullmatch(text):
        raise NormalizationError(
            "device_invalid",
            "The device fingerprint must be 8 to 128 letters, digits or _-:. characters.",
        )
    return text


# --- country -----------------------------------------------------------------------------------


def normalize_country(raw: str) -> str:
    """ISO 3166-1 alpha-2 code in upper case, one of `brokercrm.reference.COUNTRIES`."""
    text = _require_text(raw, "country_invalid", "country", _MAX_RAW_LENGTH).strip()
    # ASCII first: "ß".upper() is "SS", which is South Sudan.
    code = text.upper() if text.isascii() else ""
    if code not in COUNTRIES:
        raise NormalizationError("country_invalid", "This is not an ISO 3166-1 country code.")
    return code
