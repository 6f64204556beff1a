"""Sanctions/PEP screening benchmark: `kyc.screening` against a synthetic list of N persons.

    make bench-screening ARGS="--list-size 250000 --probes 10000"

Generates a seeded list of persons the way sanctions and PEP lists look (Russian and Ukrainian
names in Cyrillic with or without a Latin alias, Arabic and Persian names in several
transliterations, Chinese names in pinyin with or without characters, Spanish, English, German,
French and Turkish names; full birth dates, years only or none; one or two nationalities or none;
weak aliases), writes it as FollowTheMoney JSON lines, parses it with `parse_ftm_lines` and
builds the `ScreeningIndex` (build_s, index memory). It then screens probes, timing each
`screen()` call:

- 60 % listed persons typed as a client would, with their true birth date and nationality
  (each left out 5 % of the time); expected: "hit" on the right entry. "exact" is the name as
  their passport spells it (ICAO for Russians, the national system for Ukrainians: not always
  the list's spelling), "transliterated" another romanisation, the Cyrillic or Han original, an
  Arabic spelling variant or the name without accents, "reordered" swaps given and family
  name, "misspelled" has one typo (not in a word's first letter) in the passport spelling;
- 40 % unlisted look-alikes; expected: no "hit". A listed given name with another family name
  of the same culture (checked to be nobody's listed name, by spelling and by sound), and a
  listed full name with a birth year at least two years from, and a nationality unlike, every
  namesake's (only for names whose namesakes are all listed with both).

recall = listed probes whose entry comes back as "hit" / listed probes ("possible" is reported
apart as possible_rate); false_positive_rate = look-alike probes with any "hit" / look-alike
probes; by_kind has both per probe kind, and stderr per culture with examples of misses. The
baseline is a brute-force rapidfuzz scan of every listed name (C loop, name score only) on a
few probes, measured in the same run. Each call is timed with perf_counter (p50_ms, p99_ms)
and with process CPU time (cpu_*): on a shared machine the wall time includes waiting for a
core. The collector's view of the built data is frozen first (gc.freeze), as a server process
would after loading. Progress goes to stderr; the last line of stdout is one JSON object. No
database is touched.
"""

# Cyrillic letters are this benchmark's data, and its random numbers are seeded test data, not
# secrets: ruff's homoglyph and crypto-randomness checks do not apply.
# ruff: noqa: RUF001, S311

from __future__ import annotations

import argparse
import gc
import json
import math
import os
import random
import re
import resource
import sys
import time
import unicodedata
from collections import Counter, defaultdict
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    # Run as `python bench/screening.py`: the project root is not on the path by itself.
    sys.path.insert(0, str(ROOT))

from unidecode import unidecode  # noqa: E402

LISTED_KINDS: tuple[tuple[str, float], ...] = (
    ("exact", 0.10),
    ("transliterated", 0.20),
    ("reordered", 0.15),
    ("misspelled", 0.15),
)
LOOKALIKE_KINDS: tuple[tuple[str, float], ...] = (
    ("same_given_other_family", 0.20),
    ("same_name_other_birth_and_nationality", 0.20),
)
CULTURE_WEIGHTS: tuple[tuple[str, float], ...] = (
    ("ru", 0.22),
    ("uk", 0.06),
    ("ar", 0.22),
    ("fa", 0.06),
    ("zh", 0.12),
    ("en", 0.08),
    ("es", 0.10),
    ("de", 0.05),
    ("fr", 0.04),
    ("tr", 0.05),
)
NATIONALITIES: dict[str, tuple[tuple[str, float], ...]] = {
    "ru": (("RU", 0.85), ("BY", 0.05), ("KZ", 0.05), ("CY", 0.05)),
    "uk": (("UA", 0.9), ("RU", 0.1)),
    "ar": (
        ("SY", 0.2),
        ("IQ", 0.15),
        ("YE", 0.1),
        ("LB", 0.1),
        ("AE", 0.1),
        ("SA", 0.1),
        ("EG", 0.1),
        ("LY", 0.1),
        ("SD", 0.05),
    ),
    "fa": (("IR", 0.9), ("IQ", 0.1)),
    "zh": (("CN", 0.85), ("HK", 0.1), ("SG", 0.05)),
    "en": (("GB", 0.5), ("US", 0.4), ("CA", 0.1)),
    "es": (("VE", 0.3), ("CO", 0.2), ("MX", 0.2), ("NI", 0.15), ("ES", 0.15)),
    "de": (("DE", 0.8), ("AT", 0.2)),
    "fr": (("FR", 0.8), ("BE", 0.2)),
    "tr": (("TR", 1.0),),
}
ALL_NATIONALITIES = tuple(sorted({code for pool in NATIONALITIES.values() for code, _ in pool}))


def say(message: str) -> None:
    print(f"[bench-screening] {message}", file=sys.stderr, flush=True)


def words(text: str) -> tuple[str, ...]:
    return tuple(text.split())


# --- name pools ---------------------------------------------------------------------------------

# Arabic names in Latin script; a group of spellings of one name is joined with "/".
ARABIC_GIVEN_MALE = words(
    "Mohammed/Muhammad/Mohamed/Mohammad Ahmed/Ahmad Ali Omar/Umar Yousef/Yusuf/Youssef "
    "Ibrahim/Ebrahim Khalid/Khaled Hassan/Hasan Hussein/Husain/Hussain Abdullah/Abdallah "
    "Abdulrahman/Abdelrahman/Abdurrahman Mahmoud/Mahmud Mustafa/Mostafa Tariq/Tarek Karim/Kareem "
    "Samir/Sameer Nabil Faisal/Faysal Saeed/Said Rashid/Rachid Hamza Bilal Walid/Waleed Adel/Adil "
    "Amir/Ameer Jamal/Gamal Kamal Majid/Majeed Nasser/Nasir Osama/Usama Ziad/Ziyad Yasser/Yasir "
    "Imad/Emad Hisham/Hesham Fadi Rami Sultan Saleh/Salih Anas Marwan Mazen Nizar Qasim/Kassem "
    "Bassam Ghassan Haitham/Haytham Jawad Idris/Idriss Ismail/Ismael Ayman/Aymen Ashraf Hatem "
    "Munir/Mounir Talal Zakaria/Zakariya Younes/Yunus Abdelaziz/Abdulaziz Anwar Badr Fouad/Fuad "
    "Habib Hamid/Hamed Jalal Mansour/Mansur Murad/Mourad Nadir/Nader Othman/Uthman Rafiq/Rafik "
    "Riad/Riyad Sabri Sufyan/Sofiane Tahir/Taher Wael/Wail Suhail/Suhayl Abdelkarim/Abdulkarim"
)
ARABIC_GIVEN_FEMALE = words(
    "Fatima/Fatma/Fatimah Aisha/Aicha/Ayesha Layla/Leila/Laila Mariam/Maryam Zainab/Zeinab "
    "Huda/Hoda "
    "Amina/Aminah Salma Yasmin/Yasmine Rania Dina Lina Hana Hanan Samira Nadia Rasha Reem/Rim "
    "Sara/Sarah Mona/Muna Asma/Asmaa Khadija/Khadijah Safiya/Safia Lubna/Loubna Malak Nawal Souad/"
    "Suad Wafa Yara Zahra Ghada Hiba/Heba Iman/Eman Jamila/Djamila Latifa Manal Nisreen/Nesrine "
    "Rana Samar Shaima/Chaima Najat Naima Sanaa Siham Abir Amal Basma Dalia Farah"
)
ARABIC_FAMILY = words(
    "Al-Sayed/El-Sayed Haddad Khoury/Khouri Nasser Mansour/Mansur Saleh/Salih Al-Amin "
    "Al-Hashimi/Al-Hashemi Al-Farsi Al-Masri/El-Masry Al-Najjar Al-Rashid/Al-Rasheed Al-Zahrani "
    "Al-Ghamdi Al-Qahtani/Al-Kahtani Al-Otaibi/Al-Utaybi Al-Mutairi Al-Harbi Al-Shehri Al-Dosari "
    "Al-Maliki Al-Shamsi Al-Nuaimi Al-Suwaidi Al-Kaabi Darwish Daher Fakhoury Ghanem Hamdan Jaber "
    "Kanaan Karam Khalil Nassar Qureshi/Qurashi Rahman Salem Sabbagh Shami Taha Yassin/Yasin Zaki "
    "Zayed Benali Bennani Alaoui El-Amrani El-Idrissi Tazi Chraibi Berrada Ouazzani Lahlou "
    "Boukhari Belkacem Benaissa Hamidi Mansouri Saidi Amrani Farouk/Faruq Hegazy/Hegazi Shaker "
    "Soliman/Suleiman/Sulaiman Tawfik/Tawfiq Zidane Aziz Barakat Bitar Chahine/Shahin Dabbagh "
    "Ghazal Hajjar Halabi Jabbour Kassab Moussa/Musa Nahas Qassem/Kassem Rizk Sarkis Tannous "
    "Abboud Assaf Awad Azar Al-Tikriti Al-Dulaimi Al-Jubouri/Al-Juburi Al-Obeidi/Al-Ubaydi "
    "Al-Ansari Al-Hakim Al-Khatib Al-Baghdadi Al-Halabi Al-Shami Al-Yamani Al-Hadrami Al-Awlaki"
)
PERSIAN_GIVEN_MALE = words(
    "Reza Ali Mohammad/Mohammed Hossein/Hosein Mehdi/Mahdi Ahmad Hassan Javad Amir Saeed/Said "
    "Majid Hamid Mahmoud/Mahmud Mostafa Abbas Morteza Mojtaba Masoud/Masud Behzad Farhad Dariush "
    "Kourosh/Kurosh Babak Ramin Arash Omid Vahid Nader Shahram Bijan Kamran Hamidreza Alireza "
    "Mohammadreza Gholamreza/Qolamreza Esmail/Ismail Yaghoub/Yaqub Ebrahim Rasoul/Rasul"
)
PERSIAN_GIVEN_FEMALE = words(
    "Maryam Fatemeh/Fatimeh Zahra Sara Narges Mahsa Shirin Parisa Leila/Leyla Nasrin Azadeh "
    "Mina Roya Shabnam Elham Fereshteh Masoumeh/Masumeh Sedigheh/Sediqeh Soheila Ziba"
)
PERSIAN_FAMILY = words(
    "Hosseini/Husseini Ahmadi Mohammadi Rezaei/Rezaie Moradi Karimi Jafari/Jafary Rahimi Hashemi "
    "Mousavi/Musavi Kazemi/Kazimi Ghorbani/Qorbani Sadeghi/Sadeqi Rostami Ebrahimi Hosseinzadeh "
    "Alizadeh Karimzadeh Rahmani Bagheri/Baqeri Tehrani Shirazi Esfahani Tabrizi Najafi Salehi "
    "Nouri/Nuri Akbari Asadi Heydari/Haidari Zamani Yazdani Khamenehi Ghasemi/Qasemi Amini Soltani "
    "Tavakoli/Tavakkoli Mahdavi Nejad/Nezhad Abbasi Sharifi Golestani Farahani Pourmohammadi"
)

# One spelling group per name: the list uses one spelling, a client may type another.
_SPELLING_GROUPS: dict[str, tuple[str, ...]] = {}


def _spellings(pool: Sequence[str]) -> tuple[str, ...]:
    names: list[str] = []
    for group in pool:
        variants = tuple(group.split("/"))
        for variant in variants:
            _SPELLING_GROUPS[variant] = variants
        names.append(variants[0])
    return tuple(names)


# Romanisations of Cyrillic. Russian passports (ICAO 9303) and unidecode write Юрий "Iurii", the
# BGN/PCGN system (English-language press, many lists) "Yuriy"; Ukrainian passports use the 2010
# national system (Г is H: Гнатюк "Hnatiuk", unidecode "Gnatiuk").
_RU_BGN: dict[str, str] = {
    "а": "a", "б": "b", "в": "v", "г": "g", "д": "d", "е": "e", "ё": "yo", "ж": "zh",
    "з": "z", "и": "i", "й": "y", "к": "k", "л": "l", "м": "m", "н": "n", "о": "o",
    "п": "p", "р": "r", "с": "s", "т": "t", "у": "u", "ф": "f", "х": "kh", "ц": "ts",
    "ч": "ch", "ш": "sh", "щ": "shch", "ъ": "", "ы": "y", "ь": "", "э": "e", "ю": "yu",
    "я": "ya",
}  # fmt: skip
_RU_ICAO: dict[str, str] = {
    **_RU_BGN, "ё": "e", "й": "i", "ъ": "ie", "ю": "iu", "я": "ia",
}  # fmt: skip
_UK_NATIONAL: dict[str, str] = {
    **_RU_BGN, "г": "h", "ґ": "g", "е": "e", "є": "ie", "и": "y", "і": "i", "ї": "i", "й": "i",
    "ю": "iu", "я": "ia", "'": "", "’": "", "ʼ": "",
}  # fmt: skip
# At the start of a word these letters are written with Y in BGN and the Ukrainian system.
_RU_BGN_INITIAL = {"е": "ye"}
_UK_INITIAL = {"є": "ye", "ї": "yi", "й": "y", "ю": "yu", "я": "ya"}
_BGN_YE_AFTER = frozenset("аеёиоуыэюяъь")
CYRILLIC_LETTERS = "абвгдежзийклмнопрстуфхцчшщыэюя"
LATIN_LETTERS = "abcdefghijklmnopqrstuvwxyz"


def romanise(text: str, system: str) -> str:
    """Cyrillic text in the Latin letters of one system: "bgn", "icao" (Russian) or "uk"."""
    table = {"bgn": _RU_BGN, "icao": _RU_ICAO, "uk": _UK_NATIONAL}[system]
    initial = {"bgn": _RU_BGN_INITIAL, "icao": {}, "uk": _UK_INITIAL}[system]
    out: list[str] = []
    previous = ""
    for char in text:
        lower = char.lower()
        if not previous.isalpha() and lower in initial:
            latin = initial[lower]
        elif system == "bgn" and lower == "е" and previous in _BGN_YE_AFTER:
            latin = "ye"
        else:
            latin = table.get(lower, lower)
        if char != lower and latin:
            latin = latin[0].upper() + latin[1:]
        out.append(latin)
        previous = lower
    return "".join(out)


@dataclass(frozen=True)
class Culture:
    name: str
    given_male: tuple[str, ...]
    given_female: tuple[str, ...]
    family_male: tuple[str, ...]
    family_female: tuple[str, ...]
    patronymic_male: tuple[str, ...] = ()
    patronymic_female: tuple[str, ...] = ()
    cyrillic: bool = False


def _unique(*groups: Sequence[str]) -> tuple[str, ...]:
    return tuple(dict.fromkeys(name for group in groups for name in group if " " not in name))


def cultures() -> dict[str, Culture]:
    from faker.providers.person import (
        de_DE,
        en_GB,
        en_US,
        es_ES,
        es_MX,
        fr_FR,
        ru_RU,
        tr_TR,
        uk_UA,
        zh_CN,
    )

    ru, uk, zh = ru_RU.Provider, uk_UA.Provider, zh_CN.Provider
    zh_given = _unique(zh.first_names)
    zh_family = _unique(name for name in zh.last_names if len(name) == 1)
    made = [
        Culture(
            "ru",
            _unique(ru.first_names_male),
            _unique(ru.first_names_female),
            _unique(ru.last_names_male),
            _unique(ru.last_names_female),
            _unique(ru.middle_names_male),
            _unique(ru.middle_names_female),
            cyrillic=True,
        ),
        Culture(
            "uk",
            _unique(uk.first_names_male),
            _unique(uk.first_names_female),
            _unique(uk.last_names_male),
            _unique(uk.last_names_female),
            _unique(uk.middle_names_male),
            _unique(uk.middle_names_female),
            cyrillic=True,
        ),
        Culture(
            "ar",
            _spellings(ARABIC_GIVEN_MALE),
            _spellings(ARABIC_GIVEN_FEMALE),
            _spellings(ARABIC_FAMILY),
            _spellings(ARABIC_FAMILY),
        ),
        Culture(
            "fa",
            _spellings(PERSIAN_GIVEN_MALE),
            _spellings(PERSIAN_GIVEN_FEMALE),
            _spellings(PERSIAN_FAMILY),
            _spellings(PERSIAN_FAMILY),
        ),
        # Chinese names are kept in characters; pinyin is derived (unidecode reads Han as pinyin).
        Culture("zh", zh_given, zh_given, zh_family, zh_family),
        Culture(
            "en",
            _unique(en_US.Provider.first_names_male, en_GB.Provider.first_names_male),
            _unique(en_US.Provider.first_names_female, en_GB.Provider.first_names_female),
            _unique(en_US.Provider.last_names, en_GB.Provider.last_names),
            _unique(en_US.Provider.last_names, en_GB.Provider.last_names),
        ),
        Culture(
            "es",
            _unique(es_ES.Provider.first_names_male, es_MX.Provider.first_names_male),
            _unique(es_ES.Provider.first_names_female, es_MX.Provider.first_names_female),
            _unique(es_ES.Provider.last_names, es_MX.Provider.last_names),
            _unique(es_ES.Provider.last_names, es_MX.Provider.last_names),
        ),
        Culture(
            "de",
            _unique(de_DE.Provider.first_names_male),
            _unique(de_DE.Provider.first_names_female),
            _unique(de_DE.Provider.last_names),
            _unique(de_DE.Provider.last_names),
        ),
        Culture(
            "fr",
            _unique(fr_FR.Provider.first_names_male),
            _unique(fr_FR.Provider.first_names_female),
            _unique(fr_FR.Provider.last_names),
            _unique(fr_FR.Provider.last_names),
        ),
        Culture(
            "tr",
            _unique(tr_TR.Provider.first_names_male),
            _unique(tr_TR.Provider.first_names_female),
            _unique(tr_TR.Provider.last_names),
            _unique(tr_TR.Provider.last_names),
        ),
    ]
    return {culture.name: culture for culture in made}


def pinyin(han: str) -> str:
    """ "秀英" -> "Xiuying": one word per name, as Chinese passports write it."""
    return unidecode(han).replace(" ", "").strip().capitalize()


# --- the synthetic list -------------------------------------------------------------------------


@dataclass(frozen=True)
class ListedPerson:
    """A listed person as the list knows them, and what they would type as a client."""

    number: int
    culture: str
    female: bool
    given: str  # native script (Cyrillic, Han) or Latin
    family: str
    patronymic: str
    latin_given: str  # the Latin spelling the list uses, when it has one
    latin_family: str
    true_birth: date
    true_nationality: str
    listed_dates: tuple[str, ...]
    listed_nationalities: tuple[str, ...]
    names: tuple[str, ...]
    weak_aliases: tuple[str, ...]
    topics: tuple[str, ...]


_BIRTH_LOW = date(1935, 1, 1).toordinal()
_BIRTH_HIGH = date(2002, 12, 31).toordinal()
_BIRTH_MODE = date(1965, 1, 1).toordinal()


def _weighted(rng: random.Random, options: Sequence[tuple[str, float]]) -> str:
    return rng.choices([name for name, _ in options], [weight for _, weight in options])[0]


def random_birth(rng: random.Random) -> date:
    return date.fromordinal(int(rng.triangular(_BIRTH_LOW, _BIRTH_HIGH, _BIRTH_MODE)))


def listed_person(rng: random.Random, number: int, pools: dict[str, Culture]) -> ListedPerson:
    culture_name = _weighted(rng, CULTURE_WEIGHTS)
    culture = pools[culture_name]
    female = rng.random() < 0.25
    given = rng.choice(culture.given_female if female else culture.given_male)
    family = rng.choice(culture.family_female if female else culture.family_male)
    patronymic = ""
    names: list[str] = []
    weak: list[str] = []
    latin_given, latin_family = given, family
    if culture.cyrillic:
        patronymics = culture.patronymic_female if female else culture.patronymic_male
        patronymic = rng.choice(patronymics) if patronymics else ""
        system = "uk" if culture_name == "uk" else "bgn"
        latin_given, latin_family = romanise(given, system), romanise(family, system)
        # Lists write Russian names family first with the patronymic, in Cyrillic.
        names.append(" ".join(part for part in (family, given, patronymic) if part))
        if rng.random() < 0.65:
            names.append(f"{latin_given} {latin_family}")
        if rng.random() < 0.2:
            names.append(f"{given} {family}")
    elif culture_name == "zh":
        if len(given) == 1 and rng.random() < 0.4:
            given += rng.choice(culture.given_male)  # two-character given names are common
        latin_given, latin_family = pinyin(given), pinyin(family)
        names.append(f"{latin_family.upper()} {latin_given}")
        if rng.random() < 0.5:
            names.append(f"{family}{given}")
    elif culture_name in {"ar", "fa"}:
        father = rng.choice(culture.given_male)
        if rng.random() < 0.3:
            names.append(f"{given} {father} {family}")
        else:
            names.append(f"{given} {family}")
        if rng.random() < 0.35:
            spelled_given = rng.choice(_SPELLING_GROUPS.get(given, (given,)))
            spelled_family = rng.choice(_SPELLING_GROUPS.get(family, (family,)))
            names.append(f"{spelled_given} {spelled_family}")
        if rng.random() < 0.1:
            weak.append(f"Abu {rng.choice(culture.given_male)}")
    else:
        if culture_name == "es" and rng.random() < 0.5:
            family = f"{family} {rng.choice(culture.family_male)}"
            latin_family = family
        names.append(f"{given} {family}")
        ascii_name = unidecode(f"{given} {family}")
        if ascii_name != f"{given} {family}" and rng.random() < 0.5:
            names.append(ascii_name)

    true_birth = random_birth(rng)
    roll = rng.random()
    if roll < 0.70:
        dates = [true_birth.isoformat()]
        if rng.random() < 0.08:
            dates.append(str(true_birth.year + 1))  # sources disagree: an alternative year
    elif roll < 0.85:
        dates = [str(true_birth.year)]
    elif roll < 0.90:
        dates = [true_birth.isoformat()[:7]]
    else:
        dates = []
    true_nationality = _weighted(rng, NATIONALITIES[culture_name])
    roll = rng.random()
    if roll < 0.78:
        nationalities = [true_nationality]
    elif roll < 0.88:
        nationalities = [true_nationality, rng.choice(ALL_NATIONALITIES)]
    else:
        nationalities = []
    roll = rng.random()
    topics = (
        ("sanction",) if roll < 0.6 else ("role.pep",) if roll < 0.95 else ("sanction", "role.pep")
    )
    return ListedPerson(
        number=number,
        culture=culture_name,
        female=female,
        given=given,
        family=family,
        patronymic=patronymic,
        latin_given=latin_given,
        latin_family=latin_family,
        true_birth=true_birth,
        true_nationality=true_nationality,
        listed_dates=tuple(dates),
        listed_nationalities=tuple(dict.fromkeys(nationalities)),
        names=tuple(dict.fromkeys(names)),
        weak_aliases=tuple(weak),
        topics=topics,
    )


def ftm_line(person: ListedPerson) -> str:
    properties: dict[str, Any] = {
        "name": [person.names[0]],
        "alias": list(person.names[1:]),
        "birthDate": list(person.listed_dates),
        "nationality": [code.lower() for code in person.listed_nationalities],
        "topics": list(person.topics),
    }
    if person.weak_aliases:
        properties["weakAlias"] = list(person.weak_aliases)
    return json.dumps(
        {
            "id": f"bench-{person.number:07d}",
            "schema": "Person",
            "properties": properties,
            "datasets": ["bench_synthetic"],
        },
        ensure_ascii=False,
    )


# --- probes -------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Probe:
    kind: str
    culture: str
    listed: bool
    expected: str | None  # the entity id a listed probe must hit
    given: str
    family: str
    birth_date: date | None
    nationality: str | None


def one_edit(rng: random.Random, name: str) -> str:
    """One substitution, deletion, insertion or transposition in the longest word, never in its
    first letter (people know how their name starts), in the word's own script. Hyphens and
    spaces separate words ("Al-Maliki" has the words "Al" and "Maliki")."""
    parts = re.split("([ -])", name)
    index = max(range(0, len(parts), 2), key=lambda i: (len(parts[i]), -i))
    word = parts[index]
    alphabet = CYRILLIC_LETTERS if re.search("[а-яё]", word.lower()) else LATIN_LETTERS
    for _attempt in range(20):
        position = rng.randint(1, max(1, len(word) - 1))
        operation = rng.choice(("substitute", "delete", "insert", "transpose"))
        letter = rng.choice(alphabet)
        if operation == "substitute":
            changed = word[:position] + letter + word[position + 1 :]
        elif operation == "delete" and len(word) > 3:
            changed = word[:position] + word[position + 1 :]
        elif operation == "transpose" and position < len(word) - 1:
            changed = word[:position] + word[position + 1] + word[position] + word[position + 2 :]
        else:
            changed = word[:position] + letter + word[position:]
        if changed.lower() != word.lower():
            parts[index] = changed
            return "".join(parts)
    return name


def strip_accents(text: str) -> str:
    return "".join(
        ch for ch in unicodedata.normalize("NFKD", text) if not unicodedata.combining(ch)
    )


def typed_name(rng: random.Random, person: ListedPerson) -> tuple[str, str]:
    """The name a listed person registers with, as on their passport."""
    if person.culture in {"ru", "uk"}:
        # Passports: ICAO for Russians, the national system for Ukrainians.
        system = "uk" if person.culture == "uk" else "icao"
        return romanise(person.given, system), romanise(person.family, system)
    return person.latin_given, person.latin_family


def transliterated_name(rng: random.Random, person: ListedPerson) -> tuple[str, str]:
    """The same name in another script or spelling than the list's main one."""
    if person.culture == "ru":
        system = rng.choice(("bgn", "icao", "cyrillic"))
        if system == "cyrillic":
            return person.given, person.family
        return romanise(person.given, system), romanise(person.family, system)
    if person.culture == "uk":
        system = rng.choice(("uk", "bgn", "cyrillic"))
        if system == "cyrillic":
            return person.given, person.family
        return romanise(person.given, system), romanise(person.family, system)
    if person.culture == "zh":
        if rng.random() < 0.5:
            return person.given, person.family  # in characters
        # Given name syllables written apart: "Xiu Ying".
        syllables = unidecode(person.given).split()
        return " ".join(s.capitalize() for s in syllables), person.latin_family
    if person.culture in {"ar", "fa"}:
        given = rng.choice(_SPELLING_GROUPS.get(person.given, (person.given,)))
        family = rng.choice(_SPELLING_GROUPS.get(person.family, (person.family,)))
        if (given, family) == (person.given, person.family):
            # No other spelling known: write the article joined or without its hyphen.
            family = family.replace("-", "" if rng.random() < 0.5 else " ")
        return given, family
    return strip_accents(person.given).upper(), strip_accents(person.family).upper()


def probe_birth_and_nationality(
    rng: random.Random, person: ListedPerson
) -> tuple[date | None, str | None]:
    # Clients give their true data; a few registrations skip the optional fields.
    birth = person.true_birth if rng.random() < 0.95 else None
    nationality = person.true_nationality if rng.random() < 0.95 else None
    return birth, nationality


def name_words(*parts: str) -> list[str]:
    """Folded words without particles: "Bilal Al-Halabi" is listed as "Bilal Halabi" too."""
    from kyc.screening import NAME_PARTICLES, fold_name

    words = fold_name(*parts)
    return [word for word in words if word not in NAME_PARTICLES] or words


def name_key(*parts: str) -> str:
    return " ".join(sorted(name_words(*parts)))


def sound_key(*parts: str) -> str:
    from identity.normalize import phonetic

    return " ".join(sorted(phonetic(word) for word in name_words(*parts)))


@dataclass
class ListedNames:
    """Who is listed under which name (folded, and by sound), to keep look-alikes unlisted."""

    by_key: dict[str, set[int]] = field(default_factory=lambda: defaultdict(set))

    def add(self, person: ListedPerson) -> None:
        names = {*person.names, f"{person.given} {person.family}"}
        names.add(f"{person.latin_given} {person.latin_family}")
        for name in names:
            self.by_key[name_key(name)].add(person.number)
            self.by_key["~" + sound_key(name)].add(person.number)

    def namesakes(self, given: str, family: str) -> set[int]:
        return self.by_key.get(name_key(given, family), set()) | self.by_key.get(
            "~" + sound_key(given, family), set()
        )


def _years(person: ListedPerson) -> set[int]:
    return {int(value[:4]) for value in person.listed_dates}


def make_probes(
    rng: random.Random, people: Sequence[ListedPerson], count: int, pools: dict[str, Culture]
) -> Iterator[Probe]:
    kinds = (*LISTED_KINDS, *LOOKALIKE_KINDS)
    say("indexing listed names for look-alike checks")
    names = ListedNames()
    for person in people:
        names.add(person)
    listed_kinds = {kind for kind, _ in LISTED_KINDS}
    made = 0
    while made < count:
        kind = _weighted(rng, kinds)
        person = rng.choice(people)
        entity = f"bench-{person.number:07d}"
        if kind in listed_kinds:
            birth, nationality = probe_birth_and_nationality(rng, person)
            if kind == "exact":
                given, family = typed_name(rng, person)
            elif kind == "transliterated":
                given, family = transliterated_name(rng, person)
            elif kind == "reordered":
                given, family = typed_name(rng, person)
                given, family = family, given
            else:
                # One typo on the name as the client's passport spells it.
                given, family = typed_name(rng, person)
                if rng.random() < 0.5:
                    given = one_edit(rng, given)
                else:
                    family = one_edit(rng, family)
            yield Probe(kind, person.culture, True, entity, given, family, birth, nationality)
            made += 1
            continue

        given, family = typed_name(rng, person)
        if kind == "same_given_other_family":
            culture = pools[person.culture]
            other = rng.choice(culture.family_female if person.female else culture.family_male)
            if person.culture in {"ru", "uk"}:
                other = romanise(other, "icao" if person.culture == "ru" else "uk")
            elif person.culture == "zh":
                other = pinyin(other)
            if names.namesakes(given, other):
                continue
            birth = random_birth(rng)
            nationality = _weighted(rng, NATIONALITIES[person.culture])
            yield Probe(kind, person.culture, False, None, given, other, birth, nationality)
            made += 1
            continue

        # Same full name, another birth year and nationality: only meaningful against people
        # listed with both, and only if nobody else listed under that name lacks them.
        namesakes = names.namesakes(given, family)
        if not person.listed_dates or not person.listed_nationalities:
            continue
        others = [people[number] for number in namesakes]
        if any(not other.listed_dates or not other.listed_nationalities for other in others):
            continue
        taken_years = {year for other in others for year in _years(other)}
        taken_countries = {code for other in others for code in other.listed_nationalities}
        years = [
            year
            for year in range(1935, 2003)
            if all(abs(year - taken) >= 2 for taken in taken_years)
        ]
        countries = [code for code in ALL_NATIONALITIES if code not in taken_countries]
        if not years or not countries:
            continue
        birth = date(rng.choice(years), rng.randint(1, 12), rng.randint(1, 28))
        yield Probe(kind, person.culture, False, None, given, family, birth, rng.choice(countries))
        made += 1


# --- measuring ----------------------------------------------------------------------------------


def percentile(sorted_values: Sequence[float], q: float) -> float:
    """Nearest-rank percentile of an ascending list."""
    if not sorted_values:
        return math.nan
    rank = max(1, math.ceil(q * len(sorted_values)))
    return sorted_values[rank - 1]


def deep_size(root: object) -> int:
    """Bytes of every object reachable from root (each counted once): the index's real size."""
    seen: set[int] = set()
    stack = [root]
    total = 0
    while stack:
        obj = stack.pop()
        if id(obj) in seen or obj is None:
            continue
        seen.add(id(obj))
        total += sys.getsizeof(obj)
        if isinstance(obj, dict):
            stack.extend(obj.keys())
            stack.extend(obj.values())
        elif isinstance(obj, list | tuple | set | frozenset):
            stack.extend(obj)
        else:
            for klass in type(obj).__mro__:
                for slot in getattr(klass, "__slots__", ()):
                    stack.append(getattr(obj, slot, None))
    return total


def rss_bytes() -> int:
    with open("/proc/self/statm") as statm:
        return int(statm.read().split()[1]) * resource.getpagesize()


@dataclass
class KindStats:
    count: int = 0
    hit: int = 0
    possible: int = 0
    any_hit: int = 0
    examples: list[str] = field(default_factory=list)


def timed(function: Callable[[], Any]) -> tuple[Any, float]:
    started = time.perf_counter()
    result = function()
    return result, time.perf_counter() - started


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--list-size", type=int, default=20_000)
    parser.add_argument("--probes", type=int, default=2_000)
    parser.add_argument("--seed", type=int, default=20260501)
    parser.add_argument("--limit", type=int, default=5, help="screen(limit=...)")
    parser.add_argument("--baseline-probes", type=int, default=20)
    parser.add_argument("--examples", type=int, default=3, help="misses shown per probe kind")
    args = parser.parse_args(argv)

    from kyc.screening import SCREENING_THRESHOLDS, ScreeningIndex, fold_name, parse_ftm_lines

    rng = random.Random(args.seed)
    pools = cultures()
    say(f"generating {args.list_size} listed persons")
    people, generate_s = timed(
        lambda: [listed_person(rng, number, pools) for number in range(args.list_size)]
    )
    lines = [ftm_line(person) for person in people]
    parsed = parse_ftm_lines(lines)
    entries, parse_s = timed(lambda: list(parsed))
    del lines
    say(f"parsed {len(entries)} entries in {parse_s:.1f} s ({parsed.report.malformed} malformed)")

    gc.collect()
    rss_before = rss_bytes()
    index, build_s = timed(lambda: ScreeningIndex.build(entries))
    gc.collect()
    index_rss = rss_bytes() - rss_before
    index_bytes = deep_size(index)
    variants = sum(len(entry.names) + len(entry.weak_aliases) for entry in entries)
    say(
        f"built the index of {len(index)} entries ({variants} names) in {build_s:.1f} s, "
        f"{index_bytes / 2**20:.0f} MiB of objects (RSS grew {index_rss / 2**20:.0f} MiB)"
    )

    probes = list(make_probes(random.Random(args.seed + 1), people, args.probes, pools))
    # A server process builds the index once and then serves for hours: freeze what was built
    # so the collector's full passes do not rescan it (and the generator's data) mid-probe.
    gc.collect()
    gc.freeze()
    index.screen(given_name="Warm", family_name="Up", birth_date=None, nationality=None)
    say(f"screening {len(probes)} probes")
    stats: dict[str, KindStats] = defaultdict(KindStats)
    by_culture: dict[tuple[str, str], KindStats] = defaultdict(KindStats)
    slowest: list[tuple[float, str]] = []
    timings: list[float] = []
    # CPU time of the call too: on a shared 2-core machine wall time includes waiting for a core.
    cpu_timings: list[float] = []
    load_before = os.getloadavg()[0]
    outcomes: Counter[str] = Counter()
    for number, probe in enumerate(probes, start=1):
        cpu_started = time.process_time()
        started = time.perf_counter()
        hits = index.screen(
            given_name=probe.given,
            family_name=probe.family,
            birth_date=probe.birth_date,
            nationality=probe.nationality,
            limit=args.limit,
        )
        timings.append(time.perf_counter() - started)
        cpu_timings.append(time.process_time() - cpu_started)
        slowest = sorted([*slowest, (timings[-1], f"{probe.given!r} {probe.family!r}")])[-5:]
        kind = stats[probe.kind]
        kind.count += 1
        per_culture = by_culture[probe.kind, probe.culture]
        per_culture.count += 1
        if probe.listed:
            decision = next((h.decision for h in hits if h.entry_id == probe.expected), "missed")
            outcomes[decision] += 1
            kind.hit += decision == "hit"
            kind.possible += decision == "possible"
            ok = decision == "hit"
            per_culture.hit += ok
        else:
            any_hit = any(h.decision == "hit" for h in hits)
            kind.any_hit += any_hit
            kind.possible += bool(hits) and not any_hit
            ok = not any_hit
            per_culture.any_hit += any_hit
        if not ok and len(kind.examples) < args.examples:
            shown = [f"{h.entry_id} {h.matched_name!r} {h.score} {list(h.reasons)}" for h in hits]
            kind.examples.append(
                f"{probe.given!r} {probe.family!r} {probe.birth_date} {probe.nationality} "
                f"expected={probe.expected} got={shown[:2]}"
            )
        if number % max(1, len(probes) // 10) == 0:
            say(f"{number}/{len(probes)} probes")

    # Baseline: score every listed name with rapidfuzz's C loop (name only, no candidates).
    from rapidfuzz import fuzz, process

    say(f"baseline: brute-force rapidfuzz over every name, {args.baseline_probes} probes")
    folded = [" ".join(fold_name(name)) for entry in entries for name in entry.names]
    baseline: list[float] = []
    for probe in probes[: args.baseline_probes]:
        query = " ".join(fold_name(probe.given, probe.family))
        started = time.perf_counter()
        process.extract(
            query,
            folded,
            scorer=fuzz.token_sort_ratio,
            score_cutoff=SCREENING_THRESHOLDS["possible"],
            limit=args.limit,
        )
        baseline.append(time.perf_counter() - started)

    for name, kind in sorted(stats.items()):
        found = kind.hit if name in dict(LISTED_KINDS) else kind.any_hit
        label = "hit" if name in dict(LISTED_KINDS) else "any hit"
        detail = f"{label} {found / kind.count:.3f} possible {kind.possible / kind.count:.3f}"
        say(f"{name:40s} n={kind.count:6d} {detail}")
        for example in kind.examples:
            say(f"    miss: {example}")

    for (name, culture), kind in sorted(by_culture.items()):
        found = kind.hit if name in dict(LISTED_KINDS) else kind.any_hit
        say(f"    {name:40s} {culture} n={kind.count:6d} {found / kind.count:.3f}")
    for seconds, query in reversed(slowest):
        say(f"slow: {seconds * 1000:.1f} ms {query}")

    listed = [stats[name] for name, _ in LISTED_KINDS if name in stats]
    lookalikes = [stats[name] for name, _ in LOOKALIKE_KINDS if name in stats]
    listed_count = sum(kind.count for kind in listed)
    lookalike_count = sum(kind.count for kind in lookalikes)
    timings.sort()
    cpu_timings.sort()
    baseline.sort()
    p50 = percentile(timings, 0.5) * 1000
    result = {
        "list_size": args.list_size,
        "probes": len(probes),
        "p50_ms": round(p50, 3),
        "p99_ms": round(percentile(timings, 0.99) * 1000, 3),
        "max_ms": round(timings[-1] * 1000, 3),
        "cpu_p50_ms": round(percentile(cpu_timings, 0.5) * 1000, 3),
        "cpu_p99_ms": round(percentile(cpu_timings, 0.99) * 1000, 3),
        "load_average": [round(load_before, 1), round(os.getloadavg()[0], 1)],
        "recall": round(sum(k.hit for k in listed) / max(1, listed_count), 4),
        "possible_rate": round(sum(k.possible for k in listed) / max(1, listed_count), 4),
        "missed_rate": round(outcomes["missed"] / max(1, listed_count), 4),
        "false_positive_rate": round(
            sum(k.any_hit for k in lookalikes) / max(1, lookalike_count), 4
        ),
        "lookalike_possible_rate": round(
            sum(k.possible for k in lookalikes) / max(1, lookalike_count), 4
        ),
        "by_kind": {
            name: {
                "n": kind.count,
                "hit": round(kind.hit / kind.count, 4),
                "possible": round(kind.possible / kind.count, 4),
                "any_hit": round(kind.any_hit / kind.count, 4),
            }
            for name, kind in sorted(stats.items())
        },
        "build_s": round(build_s, 2),
        "parse_s": round(parse_s, 2),
        "generate_s": round(generate_s, 2),
        "names": variants,
        "index_mib": round(index_bytes / 2**20, 1),
        "index_rss_growth_mib": round(index_rss / 2**20, 1),
        "baseline_p50_ms": round(percentile(baseline, 0.5) * 1000, 1),
        "speedup_p50": round(percentile(baseline, 0.5) * 1000 / p50, 1) if p50 else None,
        "notes": (
            "recall counts 'hit' on the right entry only; baseline = brute-force "
            "rapidfuzz token_sort_ratio over every listed name (C loop, name only); "
            "cpu_* = process CPU time of the same calls; load_average before/after probes; "
            "index_mib = every object the index holds (sys.getsizeof, each once)"
        ),
    }
    print(json.dumps(result))
    return 0


if __name__ == "__main__":
    sys.exit(main())
