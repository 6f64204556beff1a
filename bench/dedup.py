"""Duplicate-detection benchmark: the registration match engine against N synthetic identities.

    make bench-dedup ARGS="--identities 1000000"

Generates N persons (names from German, Polish, Spanish, Russian in Cyrillic and in Latin,
Arabic transliterated, English, Italian, French, Dutch, Portuguese, Turkish and Czech), pushes
every one through the registration's own normalisation (`identity.services._normalise`) and
writes exactly the rows `_profile_create` and `_write_keys` write (Person, ClientProfile,
MatchKey) with COPY into a database of its own. It then runs labelled probes through
`identity.matching.match_probe` (70 % re-registrations of a loaded person with one of six
disguises, 30 % people who are not loaded, some of them look-alikes) and a naive baseline that
scores every person with the same scorer, and prints one JSON line last:

    identities, probes, load_s, p50_ms, p99_ms, recall, precision, naive_p99_ms, speedup, ...

Progress goes to stderr. The database (brokercrm_bench_dedup unless --database) lives on the
server of DATABASE_URL, is dropped and recreated at the start and dropped at the end unless
--keep; the main database is never touched.
"""

# Cyrillic letters are this benchmark's data, and its random numbers are seeded test data, not
# secrets: ruff's homoglyph and crypto-randomness checks do not apply.
# ruff: noqa: RUF001, RUF002, S311

from __future__ import annotations

import argparse
import functools
import itertools
import json
import math
import multiprocessing
import os
import random
import re
import sys
import time
import uuid
from collections import Counter, defaultdict
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import TYPE_CHECKING, Any
from urllib.parse import urlparse

if TYPE_CHECKING:
    from django.db.models import Model

    from identity.matching import CandidateScore, Probe
    from identity.services import RegistrationInput

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "bench"))

from common import database_recreate, database_url  # noqa: E402 - bench/

DEFAULT_DATABASE = "brokercrm_bench_dedup"
# Fixed, so that a seed gives the same data whatever the number of worker processes.
CHUNK_SIZE = 5_000
# Phone numbers and e-mail addresses carry a serial number; 7 digits keep every phone valid.
SERIAL_LIMIT = 10**7
SECOND_PROFILE_RATE = 0.05
AML_BLOCKED_RATE = 0.005
PASSPORT_RATE = 0.85
EMAIL_VERIFIED_RATE = 0.6
# Share of addresses from a few thousand carrier-grade NAT blocks: weak keys that point at many
# persons, as they do in production, so the capped weak-key query is exercised.
SHARED_SUBNET_RATE = 0.3
SHARED_SUBNETS = 2_000
MATCHED_OUTCOMES = frozenset({"auto_link", "review", "block"})

DUPLICATE_TYPES: tuple[str, ...] = (
    "new_email_reformatted_phone",
    "surname_typo_same_phone",
    "transliteration_same_passport",
    "swapped_birth_date_same_email",
    "gmail_variant",
    "new_contacts_same_passport",
)
# (type, share of all probes); the duplicates share 70 % equally.
FRESH_TYPES: tuple[tuple[str, float], ...] = (
    ("fresh", 0.15),
    ("fresh_same_surname_and_birth_date", 0.10),
    ("fresh_namesake_other_birth_date", 0.05),
)


def say(message: str) -> None:
    print(f"[bench-dedup] {message}", file=sys.stderr, flush=True)


# --- names and places -------------------------------------------------------------------------


def words(text: str) -> tuple[str, ...]:
    return tuple(text.split())


ARABIC_GIVEN_MALE = words(
    "Mohammed Muhammad Mohamed Mohammad Ahmed Ahmad Ali Omar Umar Youssef Yusuf Yousef Ibrahim "
    "Khalid Khaled Hassan Hasan Hussein Hussain Abdullah Abdallah Abdulrahman Abdelrahman "
    "Mahmoud Mahmud Mustafa Mostafa Tariq Tarek Karim Kareem Samir Sami Nabil Faisal Fahad Fahd "
    "Saeed Said Rashid Rachid Hamza Bilal Walid Waleed Adel Adil Amir Ameer Jamal Gamal Kamal "
    "Majid Nasser Nasir Osama Usama Ziad Ziyad Yasser Yasir Imad Emad Hisham Hesham Hani Fadi "
    "Rami Sultan Saleh Salih Anas Marwan Mazen Nizar Qasim Kassem Rayan Bassam Ghassan Haitham "
    "Jawad Idris Idriss Ismail Ismael Ayman Aymen Ashraf Hatem Munir Mounir Reda Ridha Sherif "
    "Talal Zakaria Zakariya Younes Yunus Abdelaziz Abdulaziz Abdelkader Abdulqadir Anwar Badr "
    "Driss Fouad Fuad Habib Hakim Hamid Hamed Jalal Kais Qais Luay Mansour Mansur Murad Mourad "
    "Nabih Nadir Nader Nour Othman Uthman Rafiq Rafik Riad Riyad Sabri Sofiane Sufyan Taher Tahir"
)
ARABIC_GIVEN_FEMALE = words(
    "Fatima Fatma Fatimah Aisha Aicha Ayesha Layla Leila Laila Mariam Maryam Meriem Nour Noor "
    "Zainab Zeinab Zaynab Huda Hoda Amina Aminah Salma Yasmin Yasmine Jasmin Rania Dina Lina "
    "Hana Hanaa Hanan Samira Nadia Nadja Rasha Reem Rim Sara Sarah Mona Muna Asma Asmaa "
    "Khadija Khadijah Safiya Safia Soumaya Sumaya Lubna Malak Nawal Rabab Souad Suad Wafa "
    "Widad Yara Zahra Zahraa Ghada Hiba Heba Iman Eman Jamila Djamila Latifa Manal Nisreen "
    "Nesrine Rana Samar Shaima Chaima Tahani Warda Houda Ikram Kawtar Kaoutar Loubna Najat "
    "Naima Rachida Rashida Sanaa Siham Soukaina Sukaina Wiam Zineb Abir Amal Basma Dalia Farah"
)
ARABIC_FAMILY = words(
    "Al-Sayed El-Sayed Haddad Khoury Khouri Nasser Mansour Saleh Hassan Hussein Ibrahim "
    "Abdullah Al-Amin Al-Hashimi Al-Farsi Al-Masri El-Masry Al-Najjar Najjar Al-Rashid "
    "Al-Zahrani Al-Ghamdi Al-Qahtani Al-Otaibi Al-Mutairi Al-Harbi Al-Shehri Al-Dosari "
    "Al-Maliki Al-Shamsi Al-Mazrouei Al-Nuaimi Al-Suwaidi Al-Kaabi Al-Ali Bakr Darwish Daher "
    "Fakhoury Ghanem Habib Hamdan Jaber Kanaan Karam Khalil Mahmoud Mustafa Nassar Qureshi "
    "Rahman Salem Sabbagh Shami Taha Yassin Yasin Zaki Zayed Benali Benjelloun Bennani Alaoui "
    "El-Amrani El-Idrissi Tazi Chraibi Berrada Ouazzani El-Fassi Lahlou Bouazza Boukhari "
    "Belkacem Benaissa Hamidi Mansouri Saidi Amrani Abdelaziz Abdelkader Farouk Gamal Hegazy "
    "Hamed Shaker Soliman Suleiman Sulaiman Tawfik Toufic Youssef Zidane Aziz Barakat Bitar "
    "Chahine Shahin Dabbagh Farah Ghazal Hajjar Halabi Hariri Jabbour Kassab Makdisi Moussa "
    "Musa Nahas Qassem Rizk Sarkis Sawaya Tannous Touma Zogby Abboud Antoun Assaf Awad Azar"
)

# BGN/PCGN-style romanisation, the one many Russians use for e-mail and foreign forms; it
# differs from `unidecode` (Юрий: Yuriy here, Iurii there), which is the point of the probe.
_BGN: dict[str, str] = {
    "а": "a", "б": "b", "в": "v", "г": "g", "д": "d", "е": "e", "ё": "yo", "ж": "zh",
    "з": "z", "и": "i", "й": "y", "к": "k", "л": "l", "м": "m", "н": "n", "о": "o",
    "п": "p", "р": "r", "с": "s", "т": "t", "у": "u", "ф": "f", "х": "kh", "ц": "ts",
    "ч": "ch", "ш": "sh", "щ": "shch", "ъ": "", "ы": "y", "ь": "", "э": "e", "ю": "yu",
    "я": "ya",
}  # fmt: skip
_BGN_IOTATED_E_AFTER = frozenset("аеёиоуыэюяъь")
LATIN_LETTERS = "abcdefghijklmnopqrstuvwxyz"
CYRILLIC_LETTERS = "абвгдежзийклмнопрстуфхцчшщыэюя"


def bgn_latin(cyrillic: str) -> str:
    """Romanise a Russian name the BGN/PCGN way (е is "ye" at the start and after a vowel)."""
    out: list[str] = []
    previous = ""
    for char in cyrillic:
        lower = char.lower()
        if lower == "е" and (not previous or previous in _BGN_IOTATED_E_AFTER):
            latin = "ye"
        else:
            latin = _BGN.get(lower, lower)
        if char != lower and latin:
            latin = latin[0].upper() + latin[1:]
        out.append(latin)
        previous = lower if lower.isalpha() else ""
    return "".join(out)


@dataclass(frozen=True)
class Culture:
    name: str
    given_male: tuple[str, ...]
    given_female: tuple[str, ...]
    family_male: tuple[str, ...]
    family_female: tuple[str, ...]
    residences: tuple[tuple[str, float], ...]
    # Spanish speakers often give both surnames.
    double_surname_rate: float = 0.0
    cyrillic: bool = False


# Culture weights of the loaded population (a group with EU, UK and offshore entities).
CULTURE_WEIGHTS: tuple[tuple[str, float], ...] = (
    ("de", 0.16),
    ("pl", 0.08),
    ("es", 0.12),
    ("ru", 0.12),
    ("ar", 0.12),
    ("en", 0.12),
    ("it", 0.07),
    ("fr", 0.06),
    ("nl", 0.04),
    ("pt", 0.04),
    ("tr", 0.04),
    ("cs", 0.03),
)
# Russians who registered with their name in Cyrillic; the others typed a Latin spelling.
RUSSIAN_CYRILLIC_RATE = 0.65


def _polish_feminine(surname: str) -> str:
    for male, female in (("ski", "ska"), ("cki", "cka"), ("dzki", "dzka")):
        if surname.endswith(male):
            return surname[: -len(male)] + female
    return surname


def _unique(*groups: Sequence[str]) -> tuple[str, ...]:
    return tuple(dict.fromkeys(name for group in groups for name in group))


@functools.cache
def cultures() -> dict[str, Culture]:
    """Name pools per culture: Faker's locale lists (several thousand names) plus our own
    Arabic transliterations (Faker's Arabic names are in Arabic script)."""
    from faker.providers.person import (
        cs_CZ,
        de_DE,
        en_GB,
        en_US,
        es_ES,
        es_MX,
        fr_FR,
        it_IT,
        nl_NL,
        pl_PL,
        pt_PT,
        ru_RU,
        tr_TR,
    )

    def given(*providers: Any) -> tuple[tuple[str, ...], tuple[str, ...]]:
        return (
            _unique(*(p.Provider.first_names_male for p in providers)),
            _unique(*(p.Provider.first_names_female for p in providers)),
        )

    def family(*providers: Any) -> tuple[str, ...]:
        return _unique(*(p.Provider.last_names for p in providers))

    polish = tuple(pl_PL.Provider.male_last_names)
    made = [
        Culture(
            "de",
            *given(de_DE),
            family(de_DE),
            family(de_DE),
            (("DE", 0.7), ("AT", 0.2), ("CH", 0.1)),
        ),
        Culture(
            "pl",
            *given(pl_PL),
            polish,
            tuple(_polish_feminine(n) for n in polish),
            (("PL", 0.85), ("DE", 0.1), ("GB", 0.05)),
        ),
        Culture(
            "es",
            *given(es_ES, es_MX),
            family(es_ES, es_MX),
            family(es_ES, es_MX),
            (("ES", 0.6), ("MX", 0.3), ("CO", 0.1)),
            double_surname_rate=0.5,
        ),
        Culture(
            "ru",
            *given(ru_RU),
            tuple(ru_RU.Provider.last_names_male),
            tuple(ru_RU.Provider.last_names_female),
            (("RU", 0.7), ("AE", 0.1), ("DE", 0.1), ("ES", 0.1)),
            cyrillic=True,
        ),
        Culture(
            "ar",
            tuple(ARABIC_GIVEN_MALE),
            tuple(ARABIC_GIVEN_FEMALE),
            tuple(ARABIC_FAMILY),
            tuple(ARABIC_FAMILY),
            (
                ("AE", 0.3),
                ("SA", 0.25),
                ("EG", 0.15),
                ("MA", 0.15),
                ("JO", 0.05),
                ("FR", 0.05),
                ("DE", 0.05),
            ),
        ),
        Culture(
            "en",
            *given(en_US, en_GB),
            family(en_US, en_GB),
            family(en_US, en_GB),
            (("GB", 0.8), ("IE", 0.2)),
        ),
        Culture("it", *given(it_IT), family(it_IT), family(it_IT), (("IT", 1.0),)),
        Culture("fr", *given(fr_FR), family(fr_FR), family(fr_FR), (("FR", 0.85), ("BE", 0.15))),
        Culture("nl", *given(nl_NL), family(nl_NL), family(nl_NL), (("NL", 0.8), ("BE", 0.2))),
        Culture("pt", *given(pt_PT), family(pt_PT), family(pt_PT), (("PT", 0.8), ("BR", 0.2))),
        Culture("tr", *given(tr_TR), family(tr_TR), family(tr_TR), (("TR", 0.7), ("DE", 0.3))),
        Culture(
            "cs",
            *given(cs_CZ),
            tuple(cs_CZ.Provider.last_names_male),
            tuple(cs_CZ.Provider.last_names_female),
            (("CZ", 1.0),),
        ),
    ]
    return {culture.name: culture for culture in made}


# E.164 prefix of a mobile range per country in which any 7 further digits form a valid number
# (checked against phonenumbers' metadata), so a serial number gives a unique, valid phone.
MOBILE_PREFIXES: dict[str, str] = {
    "DE": "+491512",
    "AT": "+4366",
    "CH": "+4178",
    "PL": "+4851",
    "GB": "+44740",
    "ES": "+3461",
    "MX": "+52222",
    "CO": "+57321",
    "RU": "+7912",
    "AE": "+97150",
    "SA": "+96651",
    "EG": "+20100",
    "MA": "+21265",
    "JO": "+96279",
    "FR": "+3361",
    "IE": "+35385",
    "IT": "+39312",
    "BE": "+3245",
    "NL": "+3161",
    "PT": "+35191",
    "BR": "+551196",
    "TR": "+90501",
    "CZ": "+42072",
}
EMAIL_DOMAINS: tuple[tuple[str, float], ...] = (
    ("gmail.com", 0.35),
    ("outlook.com", 0.08),
    ("hotmail.com", 0.07),
    ("yahoo.com", 0.07),
    ("icloud.com", 0.05),
    ("gmx.de", 0.05),
    ("web.de", 0.04),
    ("mail.ru", 0.05),
    ("yandex.ru", 0.04),
    ("proton.me", 0.03),
    ("wp.pl", 0.03),
    ("orange.fr", 0.03),
    ("libero.it", 0.03),
    ("btinternet.com", 0.03),
    ("example-corp.com", 0.05),
)


def _weighted(rng: random.Random, options: Sequence[tuple[str, float]]) -> str:
    return rng.choices([name for name, _ in options], [weight for _, weight in options])[0]


def _ascii_word(text: str) -> str:
    from unidecode import unidecode

    return re.sub(r"[^a-z]+", "", unidecode(text).lower())


# --- one synthetic person ---------------------------------------------------------------------


@dataclass(frozen=True)
class PersonRecord:
    """A person as they typed themselves into a registration form."""

    serial: int
    culture: str
    female: bool
    given_name: str  # as registered (Cyrillic for most Russians)
    family_name: str
    # The same name in the other script, for Russians: the transliteration probe types it.
    given_other_script: str
    family_other_script: str
    birth_date: date
    residence: str
    nationality: str
    email: str
    email_verified: bool
    phone: str  # as typed
    phone_e164: str
    passport: str  # as typed; "" when none was given
    ip: str
    device: str
    aml_blocked: bool = False


_BIRTH_LOW = date(1940, 1, 1).toordinal()
_BIRTH_HIGH = date(2005, 12, 31).toordinal()
_BIRTH_MODE = date(1985, 1, 1).toordinal()


def birth_date_for(rng: random.Random) -> date:
    # Triangular around 1985: brokers' clients are mostly 25-55, which also makes same-date
    # collisions (the look-alikes' raw material) as frequent as they really are.
    return date.fromordinal(int(rng.triangular(_BIRTH_LOW, _BIRTH_HIGH, _BIRTH_MODE)))


def email_for(rng: random.Random, given: str, family: str, tag: str, domain: str = "") -> str:
    """A unique address: the trailing `tag` (a serial) cannot occur in a name part."""
    first, last = _ascii_word(given) or "client", _ascii_word(family) or "client"
    local = rng.choice(
        (
            f"{first}.{last}{tag}",
            f"{first}{last}{tag}",
            f"{first[0]}.{last}{tag}",
            f"{last}.{first}{tag}",
            f"{first}_{last}{tag}",
        )
    )
    if rng.random() < 0.2:
        local = local[0].upper() + local[1:]
    return f"{local}@{domain or _weighted(rng, EMAIL_DOMAINS)}"


def phone_e164_for(country: str, serial: int) -> str:
    if serial >= SERIAL_LIMIT:
        raise ValueError(f"serial {serial} does not fit a 7-digit subscriber number")
    return f"{MOBILE_PREFIXES[country]}{serial:07d}"


def phone_typed(rng: random.Random, e164: str, avoid: str = "") -> str:
    """The number as a person might type it: E.164, international with spaces, national, or
    00-international with separators. Never `avoid` (a re-registration types it differently)."""
    import phonenumbers

    number = phonenumbers.parse(e164)
    national = phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.NATIONAL)
    international = phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.INTERNATIONAL)
    digits = re.sub(r"\D", "", national)
    forms = [
        e164,
        international,
        national,
        national.replace(" ", "-"),
        f"{digits[:4]}/{digits[4:]}",
    ]
    region = phonenumbers.region_code_for_number(number)
    metadata = phonenumbers.PhoneMetadata.metadata_for_region(region)
    # "00" dials abroad in most of Europe but not in Russia, Brazil or Colombia.
    if metadata is not None and metadata.international_prefix == "00":
        forms.append("00" + international.lstrip("+"))
    forms = [form for form in dict.fromkeys(forms) if form != avoid]
    return rng.choice(forms)


def passport_for(rng: random.Random, serial: int) -> str:
    letters = "".join(rng.choices("CFGHJKLMNPRTVWXYZ", k=2))
    return f"{letters}{serial:07d}"


def ip_for(rng: random.Random, shared_subnets: Sequence[int]) -> str:
    if rng.random() < SHARED_SUBNET_RATE:
        base = rng.choice(shared_subnets)
    else:
        while True:
            first = rng.randint(1, 223)
            if first not in (10, 100, 127, 169, 172, 192, 198, 203):
                break
        base = (first << 16) | rng.getrandbits(16)
    return f"{base >> 16}.{(base >> 8) & 255}.{base & 255}.{rng.randint(1, 254)}"


def device_for(rng: random.Random) -> str:
    return f"dev-{rng.getrandbits(96):024x}"


@functools.cache
def shared_subnets(seed: int) -> tuple[int, ...]:
    rng = random.Random(f"{seed}:subnets")
    return tuple(
        (rng.choice((31, 37, 46, 62, 77, 78, 79, 82, 84, 85, 86, 88, 89, 90, 91, 93, 94, 95)) << 16)
        | rng.getrandbits(16)
        for _ in range(SHARED_SUBNETS)
    )


def person_for(
    rng: random.Random,
    serial: int,
    seed: int,
    *,
    culture_name: str | None = None,
    cyrillic: bool | None = None,
) -> PersonRecord:
    culture = cultures()[culture_name or _weighted(rng, CULTURE_WEIGHTS)]
    female = rng.random() < 0.45
    given = rng.choice(culture.given_female if female else culture.given_male)
    families = culture.family_female if female else culture.family_male
    family = rng.choice(families)
    if rng.random() < culture.double_surname_rate:
        family = f"{family} {rng.choice(families)}"
    given_other = family_other = ""
    if culture.cyrillic:
        in_cyrillic = rng.random() < RUSSIAN_CYRILLIC_RATE if cyrillic is None else cyrillic
        latin_given, latin_family = bgn_latin(given), bgn_latin(family)
        if in_cyrillic:
            given_other, family_other = latin_given, latin_family
        else:
            given, family, given_other, family_other = latin_given, latin_family, given, family
    residence = _weighted(rng, culture.residences)
    home = culture.residences[0][0]
    nationality = residence if rng.random() < 0.8 else home
    e164 = phone_e164_for(residence, serial)
    return PersonRecord(
        serial=serial,
        culture=culture.name,
        female=female,
        given_name=given,
        family_name=family,
        given_other_script=given_other,
        family_other_script=family_other,
        birth_date=birth_date_for(rng),
        residence=residence,
        nationality=nationality,
        email=email_for(rng, given, family, str(serial)),
        email_verified=rng.random() < EMAIL_VERIFIED_RATE,
        phone=phone_typed(rng, e164),
        phone_e164=e164,
        passport=passport_for(rng, serial) if rng.random() < PASSPORT_RATE else "",
        ip=ip_for(rng, shared_subnets(seed)),
        device=device_for(rng),
        aml_blocked=rng.random() < AML_BLOCKED_RATE,
    )


def registration_for(record: PersonRecord, **changes: Any) -> RegistrationInput:
    """The RegistrationInput this person submits; `changes` override single fields."""
    from identity.services import DocumentInput, RegistrationInput

    document = (
        DocumentInput("passport", record.passport, record.nationality) if record.passport else None
    )
    values: dict[str, Any] = {
        "given_name": record.given_name,
        "family_name": record.family_name,
        "birth_date": record.birth_date,
        "residence_country": record.residence,
        "nationality": record.nationality,
        "email": record.email,
        "phone": record.phone,
        "email_verified": record.email_verified,
        "document": document,
        "ip": record.ip,
        "device_fingerprint": record.device,
        "agreement_version": "bench-1",
    }
    values.update(changes)
    return RegistrationInput(**values)


# --- COPY rows --------------------------------------------------------------------------------


def copy_text(value: object) -> str:
    """One value in COPY's text format."""
    if value is None:
        return "\\N"
    if isinstance(value, bool):
        return "t" if value else "f"
    if isinstance(value, bytes | bytearray | memoryview):
        # \x-hex bytea, with COPY's own backslash escaped.
        return "\\\\x" + bytes(value).hex()
    if isinstance(value, datetime | date):
        return value.isoformat()
    text = str(value)
    if any(char in text for char in "\\\t\n\r"):
        text = (
            text.replace("\\", "\\\\")
            .replace("\t", "\\t")
            .replace("\n", "\\n")
            .replace("\r", "\\r")
        )
    return text


@dataclass(frozen=True)
class CopyLayout:
    """Columns of one table and a row template: the fields we set as {0}, {1}, ...; every other
    column is filled with the model field's default, so a field added later still loads."""

    table: str
    columns: tuple[str, ...]
    template: str

    @property
    def sql(self) -> str:
        # No FREEZE: it needs a TRUNCATE in the same transaction, which would cascade to every
        # table referencing these, and append-only tables (the ledger, the audit log) refuse it.
        return f"COPY {self.table} ({', '.join(self.columns)}) FROM STDIN"

    def row(self, values: Sequence[object]) -> str:
        return self.template.format(*(copy_text(value) for value in values))


def copy_layout(model: type[Model], variable: Sequence[str], now: datetime) -> CopyLayout:
    columns: list[str] = []
    parts: list[str] = []
    for model_field in model._meta.concrete_fields:
        name = model_field.attname
        if name in variable:
            parts.append(f"{{{variable.index(name)}}}")
        elif model_field.primary_key:
            continue  # the identity column numbers the rows
        elif getattr(model_field, "auto_now", False) or getattr(model_field, "auto_now_add", False):
            parts.append(copy_text(now))
        else:
            default = model_field.get_default()
            if default is None and not model_field.null:
                raise RuntimeError(f"{model.__name__}.{name} needs a value in the benchmark")
            parts.append(copy_text(default).replace("{", "{{").replace("}", "}}"))
        columns.append(model_field.column)
    missing = set(variable) - {f.attname for f in model._meta.concrete_fields}
    if missing:
        raise RuntimeError(f"{model.__name__} has no fields {sorted(missing)}")
    return CopyLayout(model._meta.db_table, tuple(columns), "\t".join(parts) + "\n")


PERSON_FIELDS = (
    "id",
    "public_id",
    "given_name",
    "family_name",
    "birth_date",
    "nationality",
    "aml_blocked",
    "aml_block_reason",
    "aml_blocked_at",
)
PROFILE_FIELDS = (
    "id",
    "entity_id",
    "person_id",
    "brand_id",
    "status",
    "agreement_version",
    "given_name",
    "family_name",
    "given_name_latin",
    "family_name_latin",
    "birth_date",
    "nationality",
    "residence_country",
    "email",
    "email_canonical",
    "email_verified",
    "phone",
    "registration_ip",
    "device_fingerprint",
    "routing_ruleset",
)
KEY_FIELDS = ("person_id", "profile_id", "kind", "digest")


@dataclass(frozen=True)
class Site:
    """The entity and brand every profile is registered through (two, for second profiles)."""

    entity_id: int
    brand_id: int
    ruleset: str


@dataclass(frozen=True)
class ChunkTask:
    index: int
    start: int  # first serial (person id - 1)
    stop: int
    seed: int
    wanted: tuple[int, ...]  # serials whose PersonRecord the main process needs for probes
    sites: tuple[Site, Site]
    layouts: tuple[CopyLayout, CopyLayout, CopyLayout]
    second_profile_base: int  # profile ids of second profiles start after every first one
    now: datetime


@dataclass
class ChunkResult:
    index: int
    persons: bytes
    profiles: bytes
    keys: bytes
    person_count: int
    profile_count: int
    key_count: int
    key_kinds: Counter[str]
    records: list[PersonRecord]
    seconds: float


def worker_init() -> None:
    import django

    django.setup()


def generate_chunk(task: ChunkTask) -> ChunkResult:
    """Persons `task.start` to `task.stop`, registered the way `registration_submit` would:
    `_normalise`, then the Person, ClientProfile and MatchKey values `_profile_create` and
    `_write_keys` write."""
    from identity.services import _normalise

    started = time.perf_counter()
    rng = random.Random(f"{task.seed}:chunk:{task.start}")
    person_layout, profile_layout, key_layout = task.layouts
    persons: list[str] = []
    profiles: list[str] = []
    keys: list[str] = []
    kinds: Counter[str] = Counter()
    wanted = set(task.wanted)
    records: list[PersonRecord] = []
    for serial in range(task.start, task.stop):
        record = person_for(rng, serial, task.seed)
        if serial in wanted:
            records.append(record)
        person_id = serial + 1
        registrations = [(person_id, task.sites[0], registration_for(record))]
        if rng.random() < SECOND_PROFILE_RATE:
            # A client of the second entity too: same person, another e-mail address.
            second_email = email_for(rng, record.given_name, record.family_name, f"{serial}x")
            registrations.append(
                (
                    task.second_profile_base + serial + 1,
                    task.sites[1],
                    registration_for(record, email=second_email),
                )
            )
        values = None
        for profile_id, site, data in registrations:
            values = _normalise(data)
            probe = values.probe
            profiles.append(
                profile_layout.row(
                    (
                        profile_id,
                        site.entity_id,
                        person_id,
                        site.brand_id,
                        "applicant",
                        data.agreement_version[:40],
                        data.given_name.strip()[:200],
                        data.family_name.strip()[:200],
                        values.given_latin[:200],
                        values.family_latin[:200],
                        values.birth_date,
                        values.nationality,
                        values.residence_country,
                        values.email_display,
                        probe.email or "",
                        data.email_verified,
                        probe.phone or "",
                        probe.ip,
                        probe.device or "",
                        site.ruleset,
                    )
                )
            )
            for kind, digest in dict.fromkeys(probe.digests(probing=False)):
                keys.append(key_layout.row((person_id, profile_id, kind, digest)))
                kinds[kind] += 1
        assert values is not None
        blocked_at = task.now if record.aml_blocked else None
        persons.append(
            person_layout.row(
                (
                    person_id,
                    uuid.UUID(int=rng.getrandbits(128), version=4),
                    values.given_latin,
                    values.family_latin,
                    values.birth_date,
                    values.nationality,
                    record.aml_blocked,
                    "Benchmark: AML block" if record.aml_blocked else "",
                    blocked_at,
                )
            )
        )
    return ChunkResult(
        index=task.index,
        persons="".join(persons).encode(),
        profiles="".join(profiles).encode(),
        keys="".join(keys).encode(),
        person_count=task.stop - task.start,
        profile_count=len(profiles),
        key_count=len(keys),
        key_kinds=kinds,
        records=records,
        seconds=time.perf_counter() - started,
    )


# --- the benchmark database -------------------------------------------------------------------


LOADED_TABLES = ("identity_person", "identity_clientprofile", "identity_matchkey")


def secondary_ddl(conn: Any) -> tuple[list[str], list[str]]:
    """(drop, create) statements for every foreign key, unique constraint and index of the
    loaded tables except the primary keys. COPY into bare tables fires no foreign-key trigger
    per row and makes no random index inserts; each index is then built once, by a sort."""
    drop: list[str] = []
    create: list[str] = []
    fks: list[str] = []
    for table in LOADED_TABLES:
        for name, definition, kind in conn.execute(
            "SELECT conname, pg_get_constraintdef(oid), contype FROM pg_constraint "
            "WHERE conrelid = %s::regclass AND contype IN ('f', 'u') ORDER BY conname",
            [table],
        ).fetchall():
            drop.append(f'ALTER TABLE {table} DROP CONSTRAINT "{name}"')
            statement = f'ALTER TABLE {table} ADD CONSTRAINT "{name}" {definition}'
            (fks if kind == "f" else create).append(statement)
        for name, definition in conn.execute(
            "SELECT i.relname, pg_get_indexdef(i.oid) FROM pg_index x "
            "JOIN pg_class i ON i.oid = x.indexrelid WHERE x.indrelid = %s::regclass "
            "AND NOT EXISTS (SELECT 1 FROM pg_constraint c WHERE c.conindid = x.indexrelid "
            "AND c.conrelid = x.indrelid) ORDER BY i.relname",
            [table],
        ).fetchall():
            drop.append(f'DROP INDEX "{name}"')
            create.append(definition)
    # Foreign keys last: validating one is a join that wants the other side's indexes.
    return drop, create + fks


@dataclass
class LoadReport:
    seconds: float
    phases: dict[str, float]
    persons: int
    profiles: int
    keys: int
    key_kinds: dict[str, int]
    records: dict[int, PersonRecord]
    generate_cpu_s: float


def load(
    url: str,
    *,
    identities: int,
    seed: int,
    wanted: set[int],
    sites: tuple[Site, Site],
    workers: int,
) -> LoadReport:
    import psycopg

    from identity.models import ClientProfile, MatchKey, Person

    started = time.perf_counter()
    now = datetime.now(UTC)
    layouts = (
        copy_layout(Person, PERSON_FIELDS, now),
        copy_layout(ClientProfile, PROFILE_FIELDS, now),
        copy_layout(MatchKey, KEY_FIELDS, now),
    )
    tasks = [
        ChunkTask(
            index=index,
            start=start,
            stop=min(identities, start + CHUNK_SIZE),
            seed=seed,
            wanted=tuple(sorted(s for s in wanted if start <= s < start + CHUNK_SIZE)),
            sites=sites,
            layouts=layouts,
            second_profile_base=identities,
            now=now,
        )
        for index, start in enumerate(range(0, identities, CHUNK_SIZE))
    ]
    phases: dict[str, float] = {}
    persons = profiles = keys = 0
    kinds: Counter[str] = Counter()
    records: dict[int, PersonRecord] = {}
    generate_cpu = 0.0
    with psycopg.connect(url) as conn:
        # Session settings only: the server's configuration belongs to whoever runs it. The
        # data is disposable, so no commit waits for its WAL flush; index builds sort in memory.
        conn.execute("SET synchronous_commit = off")
        conn.execute("SET maintenance_work_mem = '1GB'")
        conn.execute(f"SET max_parallel_maintenance_workers = {max(0, workers - 1)}")
        drop, create = secondary_ddl(conn)
        for statement in drop:
            conn.execute(statement)
        context = multiprocessing.get_context("spawn")
        copy_wait = 0.0
        with context.Pool(workers, initializer=worker_init) as pool, conn.cursor() as cursor:
            for done, result in enumerate(pool.imap(generate_chunk, tasks), start=1):
                copy_started = time.perf_counter()
                for layout, payload in zip(
                    layouts, (result.persons, result.profiles, result.keys), strict=True
                ):
                    with cursor.copy(layout.sql) as copy:
                        copy.write(payload)
                copy_wait += time.perf_counter() - copy_started
                persons += result.person_count
                profiles += result.profile_count
                keys += result.key_count
                kinds.update(result.key_kinds)
                records.update((r.serial, r) for r in result.records)
                generate_cpu += result.seconds
                if done % max(1, len(tasks) // 20) == 0 or done == len(tasks):
                    say(
                        f"loaded {persons:,}/{identities:,} persons, {keys:,} match keys "
                        f"({time.perf_counter() - started:.0f} s)"
                    )
        phases["generate_and_copy_s"] = time.perf_counter() - started
        phases["copy_in_main_s"] = copy_wait
        for table, column, value in (
            ("identity_person", "id", identities),
            ("identity_clientprofile", "id", identities * 2),
        ):
            conn.execute(
                "SELECT setval(pg_get_serial_sequence(%s, %s), %s)", [table, column, value]
            )
        conn.commit()
        index_started = time.perf_counter()
        for statement in create:
            step = time.perf_counter()
            conn.execute(statement)
            conn.commit()
            say(f"{time.perf_counter() - step:6.1f} s  {statement[:110]}")
        phases["indexes_and_constraints_s"] = time.perf_counter() - index_started
        analyze_started = time.perf_counter()
        conn.autocommit = True
        conn.execute(f"ANALYZE {', '.join(LOADED_TABLES)}")
        phases["analyze_s"] = time.perf_counter() - analyze_started
    return LoadReport(
        seconds=time.perf_counter() - started,
        phases=phases,
        persons=persons,
        profiles=profiles,
        keys=keys,
        key_kinds=dict(kinds),
        records=records,
        generate_cpu_s=generate_cpu,
    )


def sites_create() -> tuple[Site, Site]:
    """Two entities with a brand each: enough for the profiles' foreign keys."""
    from entities.models import Brand, LegalEntity

    made = []
    for code, jurisdiction, regulator in (("EU", "CY", "CySEC"), ("UK", "GB", "FCA")):
        entity = LegalEntity.objects.create(
            code=code,
            legal_name=f"Bench {code} Markets Ltd",
            regulator=regulator,
            licence_number=f"BENCH-{code}",
            jurisdiction=jurisdiction,
            base_currency="EUR",
            wallet_currencies=["EUR", "USD"],
        )
        brand = Brand.objects.create(
            entity=entity,
            code=f"bench-{code.lower()}",
            name=f"Bench {code}",
            domain=f"bench-{code.lower()}.example.com",
        )
        made.append(Site(entity.pk, brand.pk, f"{code}/onboarding/*/v1"))
    return made[0], made[1]


# --- probes -----------------------------------------------------------------------------------


@dataclass
class ProbeCase:
    kind: str
    expected: int | None  # the person id a duplicate belongs to; None for a fresh person
    data: RegistrationInput


def one_edit(rng: random.Random, word: str) -> str:
    """One substitution, deletion or insertion (not in the first letter, where typos are rare),
    in the word's own script."""
    alphabet = CYRILLIC_LETTERS if re.search("[а-яё]", word.lower()) else LATIN_LETTERS
    parts = word.split(" ")
    index = max(range(len(parts)), key=lambda i: (len(parts[i]), -i))
    token = parts[index]
    while True:
        position = rng.randint(1, max(1, len(token) - 1))
        operation = rng.choice(
            ("substitute", "delete", "insert") if len(token) > 3 else ("insert",)
        )
        letter = rng.choice(alphabet)
        if operation == "substitute":
            changed = token[:position] + letter + token[position + 1 :]
        elif operation == "delete":
            changed = token[:position] + token[position + 1 :]
        else:
            changed = token[:position] + letter + token[position:]
        if changed.lower() != token.lower():
            parts[index] = changed
            return " ".join(parts)


def gmail_variant(rng: random.Random, email: str) -> str:
    local = email.split("@", 1)[0].replace(".", "").lower()
    dots = sorted(rng.sample(range(1, len(local)), k=min(2, len(local) - 1)))
    for offset, position in enumerate(dots):
        local = local[: position + offset] + "." + local[position + offset :]
    if rng.random() < 0.7:
        local += "+" + rng.choice(("fx", "trading", "broker2", "crm", "x"))
    domain = "googlemail.com" if rng.random() < 0.2 else "gmail.com"
    return f"{local}@{domain}"


def passport_retyped(rng: random.Random, number: str) -> str:
    forms = [
        number.lower(),
        f"{number[:2]} {number[2:]}",
        f"{number[:2]}-{number[2:5]}-{number[5:]}",
    ]
    return rng.choice(forms)


def swappable(birth: date) -> bool:
    return birth.day <= 12 and birth.day != birth.month


class SerialSource:
    """Serial numbers nobody loaded: fresh people and the new e-mails and phones of duplicates."""

    def __init__(self, first: int) -> None:
        self.next = first

    def take(self) -> int:
        self.next += 1
        return self.next - 1


def probe_cases(
    *,
    records: dict[int, PersonRecord],
    identities: int,
    probes: int,
    seed: int,
) -> list[ProbeCase]:
    from identity.services import DocumentInput

    rng = random.Random(f"{seed}:probes")
    serials = SerialSource(identities)
    pool = sorted(records)
    rng.shuffle(pool)
    used: set[int] = set()

    def sources(condition: Callable[[PersonRecord], bool]) -> Iterator[PersonRecord]:
        """Loaded persons meeting `condition`, each once while there are unused ones; then
        again, so a small load still gets the full probe mix (probes change nothing)."""
        for serial in pool:
            if serial not in used and condition(records[serial]):
                used.add(serial)
                yield records[serial]
        reusable = [records[serial] for serial in pool if condition(records[serial])]
        while reusable:
            yield from reusable

    def new_contacts(record: PersonRecord) -> dict[str, Any]:
        serial = serials.take()
        e164 = phone_e164_for(record.residence, serial)
        return {
            "email": email_for(rng, record.given_name, record.family_name, str(serial)),
            "phone": phone_typed(rng, e164),
            "email_verified": False,
        }

    def new_network(record: PersonRecord) -> dict[str, Any]:
        # A returning client often registers again from home with the same browser.
        if rng.random() < 0.3:
            return {}
        return {"ip": ip_for(rng, shared_subnets(seed)), "device_fingerprint": device_for(rng)}

    duplicate_count = round(probes * 0.7)
    per_type = [duplicate_count // len(DUPLICATE_TYPES)] * len(DUPLICATE_TYPES)
    for i in range(duplicate_count - sum(per_type)):
        per_type[i] += 1
    cases: list[ProbeCase] = []
    builders: dict[str, tuple[Callable[[PersonRecord], bool], Callable[[PersonRecord], Any]]] = {
        "new_email_reformatted_phone": (
            lambda r: True,
            lambda r: registration_for(
                r,
                **new_network(r),
                email=new_contacts(r)["email"],
                phone=phone_typed(rng, r.phone_e164, avoid=r.phone),
                document=None,
            ),
        ),
        "surname_typo_same_phone": (
            lambda r: True,
            lambda r: registration_for(
                r,
                **new_network(r),
                family_name=one_edit(rng, r.family_name),
                email=new_contacts(r)["email"],
                document=None,
            ),
        ),
        "transliteration_same_passport": (
            lambda r: bool(r.given_other_script) and bool(r.passport),
            lambda r: registration_for(
                r,
                **new_network(r),
                **new_contacts(r),
                given_name=r.given_other_script,
                family_name=r.family_other_script,
            ),
        ),
        "swapped_birth_date_same_email": (
            lambda r: swappable(r.birth_date),
            lambda r: registration_for(
                r,
                **new_network(r),
                phone=new_contacts(r)["phone"],
                birth_date=r.birth_date.replace(month=r.birth_date.day, day=r.birth_date.month),
                email=r.email.lower() if rng.random() < 0.5 else r.email,
                document=None,
            ),
        ),
        "gmail_variant": (
            lambda r: r.email.lower().endswith("@gmail.com"),
            lambda r: registration_for(
                r,
                **new_network(r),
                phone=new_contacts(r)["phone"],
                email=gmail_variant(rng, r.email),
                document=None,
            ),
        ),
        "new_contacts_same_passport": (
            lambda r: bool(r.passport),
            lambda r: registration_for(
                r,
                **new_network(r),
                **new_contacts(r),
                document=DocumentInput(
                    "passport", passport_retyped(rng, r.passport), r.nationality
                ),
            ),
        ),
    }
    for kind, count in zip(DUPLICATE_TYPES, per_type, strict=True):
        condition, build = builders[kind]
        found = 0
        for record in itertools.islice(sources(condition), count):
            cases.append(ProbeCase(kind, record.serial + 1, build(record)))
            found += 1
        if found < count:
            say(f"only {found} of {count} sources for {kind}: load more identities")

    fresh_total = probes - duplicate_count
    counts = [round(probes * share) for _, share in FRESH_TYPES]
    counts[0] += fresh_total - sum(counts)
    for (kind, _), count in zip(FRESH_TYPES, counts, strict=True):
        lookalike_sources = sources(lambda r: True) if kind != "fresh" else None
        for _ in range(count):
            if lookalike_sources is None:
                fresh = person_for(rng, serials.take(), seed)
                cases.append(ProbeCase(kind, None, registration_for(fresh)))
                continue
            source = next(lookalike_sources)
            # Russians keep the script their look-alike registered in.
            cyrillic = not source.family_name.isascii() if source.culture == "ru" else None
            fresh = person_for(
                rng, serials.take(), seed, culture_name=source.culture, cyrillic=cyrillic
            )
            if kind == "fresh_same_surname_and_birth_date":
                # A sibling or a twin: same family name and birth date, another first name.
                given = fresh.given_name
                while given == source.given_name:
                    given = person_for(
                        rng, fresh.serial, seed, culture_name=source.culture, cyrillic=cyrillic
                    ).given_name
                data = registration_for(
                    fresh,
                    given_name=given,
                    family_name=source.family_name,
                    birth_date=source.birth_date,
                )
            else:
                # A namesake: same name, born another day.
                shift = rng.choice((-1, 1)) * rng.randint(200, 9000)
                other = source.birth_date + timedelta(days=shift)
                if not date(1930, 1, 1) <= other <= date(2006, 12, 31):
                    other = source.birth_date - timedelta(days=shift)
                data = registration_for(
                    fresh,
                    given_name=source.given_name,
                    family_name=source.family_name,
                    birth_date=other,
                )
            cases.append(ProbeCase(kind, None, data))
    rng.shuffle(cases)
    return cases


# --- measuring --------------------------------------------------------------------------------


def percentile(sorted_values: Sequence[float], q: float) -> float:
    """Nearest-rank percentile of an ascending list."""
    if not sorted_values:
        return math.nan
    rank = max(1, math.ceil(q * len(sorted_values)))
    return sorted_values[rank - 1]


@dataclass
class TypeStats:
    count: int = 0
    outcomes: Counter[str] = field(default_factory=Counter)
    matched_right: int = 0
    matched_wrong: int = 0
    # The first few wrong matches with the engine's evidence, to see why precision is lost.
    wrong_examples: list[dict[str, Any]] = field(default_factory=list)


def run_probes(
    cases: Sequence[tuple[ProbeCase, Probe]],
) -> tuple[list[float], dict[str, TypeStats]]:
    from identity.matching import match_probe

    timings: list[float] = []
    stats: dict[str, TypeStats] = defaultdict(TypeStats)
    report_every = max(1, len(cases) // 10)
    for done, (case, probe) in enumerate(cases, start=1):
        started = time.perf_counter()
        result = match_probe(probe)
        timings.append(time.perf_counter() - started)
        entry = stats[case.kind]
        entry.count += 1
        entry.outcomes[result.outcome] += 1
        if result.outcome in MATCHED_OUTCOMES and result.best is not None:
            if result.best.person_id == case.expected:
                entry.matched_right += 1
            else:
                entry.matched_wrong += 1
                if len(entry.wrong_examples) < 3:
                    entry.wrong_examples.append(
                        {
                            "probe": f"{case.data.given_name} {case.data.family_name}",
                            "expected": case.expected,
                            **result.best.explanation(),
                        }
                    )
        if done % report_every == 0:
            say(f"probed {done:,}/{len(cases):,}")
    return timings, stats


# Which of match_probe's queries a statement is, by the SQL Django generates for it.
QUERY_LABELS: tuple[tuple[str, str], ...] = (
    ("distinct_pairs", '"identity_distinctpair"'),
    ("profiles", 'FROM "identity_clientprofile"'),
    ("persons", 'FROM "identity_person"'),
    ("document_keys", '"identity_matchkey"."person_id" IN'),
    ("weak_keys", "LIMIT"),
    ("candidate_keys", '"identity_matchkey"."digest" IN'),
)


def time_split(cases: Sequence[tuple[ProbeCase, Probe]]) -> dict[str, Any]:
    """Mean time per probe inside each of match_probe's queries (execute and fetch: psycopg's
    client-side cursor reads the whole result in execute) and in Python around them. A separate
    pass, so the wrapper's own cost stays out of p50/p99."""
    from django.db import connection

    from identity.matching import match_probe

    spent: Counter[str] = Counter()
    counts: Counter[str] = Counter()

    def timed(execute: Callable[..., Any], sql: str, *args: Any) -> Any:
        started = time.perf_counter()
        try:
            return execute(sql, *args)
        finally:
            label = next((name for name, marker in QUERY_LABELS if marker in sql), "other")
            spent[label] += time.perf_counter() - started
            counts[label] += 1

    total = 0.0
    with connection.execute_wrapper(timed):
        for _, probe in cases:
            started = time.perf_counter()
            match_probe(probe)
            total += time.perf_counter() - started
    n = len(cases)
    sql = sum(spent.values())
    return {
        "probes": n,
        "total_ms": round(total / n * 1000, 3),
        "python_ms": round((total - sql) / n * 1000, 3),
        "sql_ms": {label: round(spent[label] / n * 1000, 3) for label in sorted(spent)},
        "queries_per_probe": {label: round(counts[label] / n, 2) for label in sorted(counts)},
    }


def naive_scan(probe: Probe, first_id: int, stop_id: int, chunk: int) -> list[CandidateScore]:
    """Every person from first_id to stop_id scored by `score_candidates`, the matcher's own
    scorer: no candidate index, so each person's keys are read and compared to the probe's to
    know what they share, then all of them are scored (CANDIDATE_LIMIT lifted per chunk)."""
    from identity import matching
    from identity.models import MatchKey

    config = matching.match_config()
    wanted = {digest for _, digest in probe.digests(probing=True)}
    scores: list[CandidateScore] = []
    saved_limit = matching.CANDIDATE_LIMIT
    try:
        for low in range(first_id, stop_id, chunk):
            high = min(stop_id, low + chunk)
            hits: dict[int, set[str]] = {person_id: set() for person_id in range(low, high)}
            for person_id, kind, digest in MatchKey.objects.filter(
                person_id__gte=low, person_id__lt=high
            ).values_list("person_id", "kind", "digest"):
                if bytes(digest) in wanted:
                    hits[person_id].add(kind)
            matching.CANDIDATE_LIMIT = len(hits)
            scores += matching.score_candidates(probe, hits, config)
    finally:
        matching.CANDIDATE_LIMIT = saved_limit
    scores.sort(key=lambda s: (-s.confidence, s.person_id))
    return scores


def naive_best(scores: Sequence[CandidateScore], config: dict[str, Any]) -> int | None:
    """match_probe's outcome rule; the benchmark has no DistinctPair rows to drop first."""
    relevant = [s for s in scores if s.confidence >= config["review"] or s.strong_shared]
    if not relevant:
        return None
    blocked = next((s for s in relevant if s.aml_blocked), None)
    return (blocked or relevant[0]).person_id


@dataclass
class NaiveReport:
    p99_ms: float
    per_probe_ms: list[float]
    sample_persons: int
    full_scans: list[dict[str, Any]]


def run_naive(
    cases: Sequence[tuple[ProbeCase, Probe]],
    *,
    identities: int,
    sample: int,
    full_scans: int,
    seed: int,
) -> NaiveReport:
    from identity.matching import match_config, match_probe

    rng = random.Random(f"{seed}:naive")
    window = min(sample, identities)
    chunk = 10_000  # well under PostgreSQL's 65,535 bind parameters per query
    per_probe: list[float] = []
    for done, (_, probe) in enumerate(cases, start=1):
        first = rng.randint(1, identities - window + 1)
        started = time.perf_counter()
        naive_scan(probe, first, first + window, chunk)
        elapsed = time.perf_counter() - started
        # A full scan costs the window's time once per window of the population.
        per_probe.append(elapsed * identities / window * 1000)
        if done % 10 == 0:
            say(f"naive: {done}/{len(cases)} probes over {window:,}-person windows")
    full: list[dict[str, Any]] = []
    config = match_config()
    for case, probe in cases[:full_scans]:
        started = time.perf_counter()
        scores = naive_scan(probe, 1, identities + 1, chunk)
        elapsed_ms = (time.perf_counter() - started) * 1000
        indexed = match_probe(probe)
        indexed_best = (
            indexed.best.person_id if indexed.outcome in MATCHED_OUTCOMES and indexed.best else None
        )
        full.append(
            {
                "kind": case.kind,
                "ms": round(elapsed_ms, 1),
                "same_answer_as_index": naive_best(scores, config) == indexed_best,
            }
        )
        say(f"naive full scan of {identities:,} persons: {elapsed_ms / 1000:.1f} s")
    return NaiveReport(
        p99_ms=percentile(sorted(per_probe), 0.99),
        per_probe_ms=per_probe,
        sample_persons=window,
        full_scans=full,
    )


# --- main -------------------------------------------------------------------------------------


def parse_args(argv: Sequence[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        prog="bench/dedup.py", description=(__doc__ or "").split("\n")[0]
    )
    parser.add_argument("--identities", type=int, default=20_000, help="persons to load")
    parser.add_argument("--probes", type=int, default=10_000, help="timed match_probe calls")
    parser.add_argument("--seed", type=int, default=20_261_124)
    parser.add_argument("--warmup", type=int, default=200, help="untimed probes first")
    parser.add_argument("--workers", type=int, default=os.cpu_count() or 2)
    parser.add_argument("--naive-probes", type=int, default=50)
    parser.add_argument(
        "--naive-sample",
        type=int,
        default=10_000,
        help="persons each naive probe scores; its time is scaled to the whole population",
    )
    parser.add_argument(
        "--naive-full", type=int, default=1, help="naive probes also run over every person"
    )
    parser.add_argument("--database", default=DEFAULT_DATABASE)
    parser.add_argument("--keep", action="store_true", help="keep the database afterwards")
    args = parser.parse_args(argv)
    if not re.fullmatch(r"[a-z_][a-z0-9_]{0,62}", args.database):
        parser.error("--database must be a plain lower-case PostgreSQL name")
    if args.identities < 100 or args.probes < 1:
        parser.error("give at least 100 identities and 1 probe")
    return args


def main(argv: Sequence[str] | None = None) -> int:
    args = parse_args(argv)
    sys.path.insert(0, str(ROOT))
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "brokercrm.settings")
    base_url = os.environ.get("DATABASE_URL", "")
    if not base_url:
        say("DATABASE_URL is not set: run through `make bench-dedup`")
        return 2
    if urlparse(base_url).path.lstrip("/") == args.database:
        say("refusing to use the main database as the benchmark database")
        return 2
    database_recreate(base_url, args.database)
    # Before django.setup(): settings read DATABASE_URL once. Spawned workers inherit it.
    os.environ["DATABASE_URL"] = database_url(base_url, args.database)
    try:
        return benchmark(args)
    finally:
        if not args.keep:
            from django.db import connections

            connections.close_all()
            database_recreate(base_url, args.database, drop_only=True)
            say(f"dropped database {args.database}")


def benchmark(args: argparse.Namespace) -> int:
    import django

    django.setup()
    from django.core.management import call_command

    from identity.matching import CANDIDATE_LIMIT, WEAK_CANDIDATE_LIMIT, match_probe
    from identity.services import _normalise

    started = time.perf_counter()
    call_command("migrate", verbosity=0, interactive=False)
    say(f"migrated {args.database} in {time.perf_counter() - started:.1f} s")
    sites = sites_create()

    # Persons the probes are built from: every one at small sizes, a sample beyond.
    rng = random.Random(f"{args.seed}:sources")
    want = min(args.identities, 8 * args.probes)
    wanted = set(rng.sample(range(args.identities), want))

    say(f"generating and loading {args.identities:,} identities with {args.workers} workers")
    report = load(
        os.environ["DATABASE_URL"],
        identities=args.identities,
        seed=args.seed,
        wanted=wanted,
        sites=sites,
        workers=args.workers,
    )
    say(f"loaded in {report.seconds:.1f} s: {report.phases}")

    cases = probe_cases(
        records=report.records, identities=args.identities, probes=args.probes, seed=args.seed
    )
    # Normalised outside the timed call, exactly as registration_submit does before matching.
    prepared = [(case, _normalise(case.data).probe) for case in cases]
    warm_rng = random.Random(f"{args.seed}:warmup")
    warm = warm_rng.sample(prepared, min(args.warmup, len(prepared)))
    say(f"probing: {len(warm)} warm-up, then {len(prepared):,} timed")
    for _, probe in warm:
        match_probe(probe)
    timings, stats = run_probes(prepared)
    split = time_split(prepared[: min(len(prepared), 2_000)])
    say(f"time split per probe: {split}")
    ordered = sorted(timings)
    p50, p99 = percentile(ordered, 0.5) * 1000, percentile(ordered, 0.99) * 1000

    duplicates = [s for kind, s in stats.items() if kind in DUPLICATE_TYPES]
    duplicate_total = sum(s.count for s in duplicates)
    found = sum(s.matched_right for s in duplicates)
    matched_right = sum(s.matched_right for s in stats.values())
    matched_any = matched_right + sum(s.matched_wrong for s in stats.values())

    naive_cases = random.Random(f"{args.seed}:naive-cases").sample(
        prepared, min(args.naive_probes, len(prepared))
    )
    say(f"naive baseline: {len(naive_cases)} probes")
    naive = run_naive(
        naive_cases,
        identities=args.identities,
        sample=args.naive_sample,
        full_scans=args.naive_full,
        seed=args.seed,
    )
    extrapolated = naive.sample_persons < args.identities
    notes = (
        f"naive = score_candidates (the matcher's scorer) over every person, in chunks of "
        f"10,000 with CANDIDATE_LIMIT lifted, after reading each person's match keys to know "
        f"what they share with the probe; {len(naive_cases)} probes"
        + (
            f" each timed over a random window of {naive.sample_persons:,} persons and scaled "
            f"by {args.identities:,}/{naive.sample_persons:,}; {len(naive.full_scans)} of them "
            f"also scanned all persons to check the scaling (full_scans)"
            if extrapolated
            else " each scanning every person"
        )
        + f". Timed: match_probe only (normalisation outside, as in registration_submit), "
        f"after {len(warm)} warm-up probes; candidate cap {CANDIDATE_LIMIT}, weak-key cap "
        f"{WEAK_CANDIDATE_LIMIT}. Data: {report.profiles - report.persons:,} persons also have "
        f"a second entity's profile; no IdentityDocument/TaxIdentifier rows (the matcher reads "
        f"only MatchKey 'doc' keys, which are loaded) and no tax ids. load_s = generation "
        f"through _normalise + COPY + index and constraint builds + ANALYZE, not migrate."
    )
    by_type = {
        kind: {
            "count": entry.count,
            **{
                outcome: entry.outcomes.get(outcome, 0)
                for outcome in ("auto_link", "review", "block", "new")
            },
            "matched_right": entry.matched_right,
            "matched_wrong": entry.matched_wrong,
            **({"wrong_examples": entry.wrong_examples} if entry.wrong_examples else {}),
        }
        for kind, entry in sorted(stats.items())
    }
    output = {
        "identities": report.persons,
        "probes": len(timings),
        "load_s": round(report.seconds, 1),
        "p50_ms": round(p50, 2),
        "p99_ms": round(p99, 2),
        "recall": round(found / duplicate_total, 4) if duplicate_total else None,
        "precision": round(matched_right / matched_any, 4) if matched_any else None,
        "naive_p99_ms": round(naive.p99_ms, 2),
        "speedup": round(naive.p99_ms / p99, 1) if p99 else None,
        "by_type": by_type,
        "notes": notes,
        "load_phases_s": {k: round(v, 1) for k, v in report.phases.items()},
        "generate_cpu_s": round(report.generate_cpu_s, 1),
        "profiles": report.profiles,
        "match_keys": report.keys,
        "match_keys_by_kind": dict(sorted(report.key_kinds.items())),
        "max_ms": round(ordered[-1] * 1000, 2),
        "time_split": split,
        "naive_p50_ms": round(percentile(sorted(naive.per_probe_ms), 0.5), 2),
        "naive_full_scans": naive.full_scans,
        "seed": args.seed,
        "workers": args.workers,
    }
    print(json.dumps(output, ensure_ascii=False), flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
