"""The client languages are complete: every text of the portal and of the client e-mails
has a Spanish and an Arabic translation with the same placeholders, and the compiled
catalogues are the ones in use."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest
from django.conf import settings
from django.utils import translation

LOCALE = Path(settings.BASE_DIR) / "locale"
PLACEHOLDER = re.compile(r"%\([a-z_]+\)[sd]|\{[a-z_]+\}")


def catalogue(language: str) -> dict[str, tuple[str, list[str]]]:
    """Each msgid of the language's catalogue with the English its translations render (the
    plural's where there is one) and its translations (one, or one per plural form); fuzzy
    entries are refused on the way, since they are not compiled."""
    entries: dict[str, tuple[str, list[str]]] = {}
    msgid: list[str] = []
    plural: list[str] = []
    forms: dict[str, list[str]] = {}
    current: list[str] | None = None

    def close() -> None:
        if msgid and "".join(msgid):
            english = "".join(plural) or "".join(msgid)
            entries["".join(msgid)] = (
                english,
                ["".join(parts) for _, parts in sorted(forms.items())],
            )

    for line in (LOCALE / language / "LC_MESSAGES" / "django.po").read_text().splitlines():
        assert not line.startswith("#, fuzzy"), line
        if line.startswith("msgid "):
            close()
            msgid, plural, forms = [json.loads(line[6:])], [], {}
            current = msgid
        elif line.startswith("msgid_plural "):
            plural = [json.loads(line[13:])]
            current = plural
        elif line.startswith("msgstr"):
            key, _, text = line.partition(" ")
            forms[key] = [json.loads(text)]
            current = forms[key]
        elif line.startswith('"') and current is not None:
            current.append(json.loads(line))
    close()
    return entries


@pytest.mark.parametrize("language", ["es", "ar"])
def test_every_text_is_translated_with_its_placeholders(language):
    entries = catalogue(language)
    assert len(entries) > 100
    untranslated = [msgid for msgid, (_, forms) in entries.items() if not all(forms or [""])]
    assert untranslated == []
    for msgid, (english, forms) in entries.items():
        wanted = set(PLACEHOLDER.findall(english)) | set(PLACEHOLDER.findall(msgid))
        for msgstr in forms:
            assert set(PLACEHOLDER.findall(msgstr)) <= wanted, msgid
        assert sorted(PLACEHOLDER.findall(english)) == sorted(PLACEHOLDER.findall(forms[-1])), msgid


def test_the_compiled_catalogues_answer():
    with translation.override("es"):
        assert translation.gettext("Trading accounts") == "Cuentas de trading"
    with translation.override("ar"):
        assert translation.gettext("Trading accounts") == "حسابات التداول"
        assert translation.get_language_bidi()
