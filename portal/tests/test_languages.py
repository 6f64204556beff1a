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


def _string(line: str) -> str:
    return json.loads(line if line.startswith('"') else line.split(" ", 1)[1])


def catalogue(language: str) -> dict[str, str]:
    entries: dict[str, str] = {}
    text = (LOCALE / language / "LC_MESSAGES" / "django.po").read_text()
    for block in text.split("\n\n"):
        assert "#, fuzzy" not in block, block
        lines = block.splitlines()
        starts = [n for n, line in enumerate(lines) if line.startswith(("msgid ", "msgstr "))]
        if len(starts) != 2:
            continue
        first, second = starts
        msgid = "".join(_string(line) for line in lines[first:second])
        msgstr = "".join(_string(line) for line in lines[second:] if line.startswith(("m", '"')))
        if msgid:
            entries[msgid] = msgstr
    return entries


@pytest.mark.parametrize("language", ["es", "ar"])
def test_every_text_is_translated_with_its_placeholders(language):
    entries = catalogue(language)
    assert len(entries) > 100
    untranslated = [msgid for msgid, msgstr in entries.items() if not msgstr]
    assert untranslated == []
    for msgid, msgstr in entries.items():
        assert sorted(PLACEHOLDER.findall(msgid)) == sorted(PLACEHOLDER.findall(msgstr)), msgid


def test_the_compiled_catalogues_answer():
    with translation.override("es"):
        assert translation.gettext("Trading accounts") == "Cuentas de trading"
    with translation.override("ar"):
        assert translation.gettext("Trading accounts") == "حسابات التداول"
        assert translation.get_language_bidi()
