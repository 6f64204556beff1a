"""The screening index of the latest list version, built once per process and rebuilt when a
newer version is loaded."""

from __future__ import annotations

import threading
from typing import Any

from .models import ScreeningEntry, ScreeningListVersion

_lock = threading.Lock()
_cache: dict[str, Any] = {"version": None, "index": None}


def current_index() -> tuple[Any, int | None]:
    from .screening import ListEntry, ScreeningIndex

    latest = (
        ScreeningListVersion.objects.order_by("-loaded_at", "-pk")
        .values_list("pk", flat=True)
        .first()
    )
    if latest is None:
        return None, None
    with _lock:
        if _cache["version"] != latest:
            entries = (
                ListEntry(
                    entity_id=row["entity_key"],
                    names=row["names"],
                    weak_aliases=row["weak_aliases"],
                    birth_dates=row["birth_dates"],
                    nationalities=row["nationalities"],
                    countries=row["countries"],
                    topics=row["topics"],
                    datasets=row["datasets"],
                    is_sanction=row["is_sanction"],
                    is_pep=row["is_pep"],
                )
                for row in ScreeningEntry.objects.filter(version_id=latest)
                .values()
                .iterator(chunk_size=5000)
            )
            _cache["index"] = ScreeningIndex.build(entries)
            _cache["version"] = latest
        return _cache["index"], latest
