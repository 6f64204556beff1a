"""Demo screening list: the bundled sanctions/PEP sample, loaded once (loading it screens
every client already registered)."""

from __future__ import annotations

from pathlib import Path

from .models import ScreeningListVersion
from .services import screening_load

SCREENING_LIST = Path(__file__).resolve().parent / "data" / "sanctions_demo.jsonl"


def seed() -> ScreeningListVersion | None:
    """Load the demo list unless a list is loaded; returns the version it loaded."""
    if ScreeningListVersion.objects.exists():
        return None
    return screening_load(path=SCREENING_LIST)
