"""Compact storage of the screening index: strings in one UTF-8 blob, birth dates and country
codes as integers."""

from __future__ import annotations

from array import array

from .lists import _country, _partial_date


class _StringTable:
    """Many strings in one UTF-8 blob: a quarter of the memory of a list of str objects."""

    __slots__ = ("_blob", "_ends")

    def __init__(self) -> None:
        self._blob = bytearray()
        self._ends = array("Q")

    def append(self, text: str) -> None:
        self._blob += text.encode("utf-8", errors="surrogatepass")
        self._ends.append(len(self._blob))

    def __getitem__(self, index: int) -> str:
        start = self._ends[index - 1] if index else 0
        return self._blob[start : self._ends[index]].decode("utf-8", errors="surrogatepass")

    def __len__(self) -> int:
        return len(self._ends)

    @property
    def nbytes(self) -> int:
        return len(self._blob) + self._ends.itemsize * len(self._ends)


def _encode_date(value: str) -> int | None:
    # yyyymmdd with 00 for an unknown month or day: an int per date instead of a str object.
    partial = _partial_date(value) if isinstance(value, str) else None
    if partial is None:
        return None
    year, month, day = ([*map(int, partial.split("-")), 0, 0])[:3]
    return year * 10000 + month * 100 + day


def _encode_country(code: str) -> int:
    return (ord(code[0]) - 65) * 26 + (ord(code[1]) - 65)


def _query_country(nationality: object) -> int | None:
    code = _country(nationality)
    return _encode_country(code) if code else None
