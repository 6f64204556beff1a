"""Tests of kyc.uploads: type by content, size and pixel limits, PDF screening, storage names."""

from __future__ import annotations

import hashlib
import io
import random
import re
import struct
import zlib
from typing import Any

import pytest
from hypothesis import given
from hypothesis import settings as hypothesis_settings
from hypothesis import strategies as st
from PIL import Image

from kyc.uploads import (
    UploadInfo,
    UploadRejected,
    inspect_upload,
    random_storage_name,
)

# --- files made here ---------------------------------------------------------------------------


def make_image(fmt: str, width: int = 64, height: int = 48) -> bytes:
    # Noise, not a flat colour, so the compressed data is long enough to be cut in the middle.
    rng = random.Random(width * height)
    image = Image.frombytes(
        "RGB", (width, height), bytes(rng.randrange(256) for _ in range(width * height * 3))
    )
    buffer = io.BytesIO()
    image.save(buffer, format=fmt)
    return buffer.getvalue()


def make_pdf(*, pages: int = 1, catalog_extra: bytes = b"", tail: bytes = b"") -> bytes:
    """A minimal, valid PDF 1.4 written by hand: catalog, page tree, pages, one content stream,
    and a cross-reference table with correct byte offsets."""
    content = b"BT /F1 12 Tf 72 720 Td (Bank statement) Tj ET"
    page_numbers = [3 + i for i in range(pages)]
    content_number = 3 + pages
    objects = [
        b"<< /Type /Catalog /Pages 2 0 R" + catalog_extra + b" >>",
        b"<< /Type /Pages /Kids ["
        + b" ".join(b"%d 0 R" % n for n in page_numbers)
        + b"] /Count %d >>" % pages,
        *[
            b"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 612 792] /Contents %d 0 R >>"
            % content_number
            for _ in page_numbers
        ],
        b"<< /Length %d >>\nstream\n" % len(content) + content + b"\nendstream",
    ]
    out = bytearray(b"%PDF-1.4\n%\xe2\xe3\xcf\xd3\n")
    offsets = []
    for number, body in enumerate(objects, start=1):
        offsets.append(len(out))
        out += b"%d 0 obj\n" % number + body + b"\nendobj\n"
    xref_at = len(out)
    out += b"xref\n0 %d\n0000000000 65535 f \n" % (len(objects) + 1)
    out += b"".join(b"%010d 00000 n \n" % offset for offset in offsets)
    out += b"trailer\n<< /Size %d /Root 1 0 R >>\nstartxref\n%d\n%%%%EOF\n" % (
        len(objects) + 1,
        xref_at,
    )
    return bytes(out) + tail


def png_claiming(width: int, height: int) -> bytes:
    """A PNG whose IHDR claims the given size, with a correct CRC but no pixel data at all:
    anything that tried to decode it would fail, so a pixel refusal proves nothing was decoded."""

    def chunk(kind: bytes, data: bytes) -> bytes:
        crc = zlib.crc32(kind + data) & 0xFFFFFFFF
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", crc)

    ihdr = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)
    return b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", ihdr) + chunk(b"IEND", b"")


def rejected_code(data: Any, **kwargs: Any) -> str:
    with pytest.raises(UploadRejected) as caught:
        inspect_upload(data, **kwargs)
    return caught.value.code


JPEG = make_image("JPEG", 64, 48)
PNG = make_image("PNG", 30, 20)
PDF = make_pdf()


# --- accepted ----------------------------------------------------------------------------------


def test_jpeg_is_accepted_with_its_dimensions_and_digest() -> None:
    info = inspect_upload(JPEG, filename="passport.jpg")

    assert info == UploadInfo(
        content_type="image/jpeg",
        extension=".jpg",
        size=len(JPEG),
        sha256=hashlib.sha256(JPEG).hexdigest(),
        width=64,
        height=48,
        page_count=None,
        declared_extension=".jpg",
        extension_matches=True,
    )


def test_png_is_accepted() -> None:
    info = inspect_upload(PNG, filename="scan.PNG")

    assert (info.content_type, info.extension, info.width, info.height) == (
        "image/png",
        ".png",
        30,
        20,
    )
    assert info.extension_matches is True


def test_minimal_pdf_is_accepted_with_its_page_count() -> None:
    info = inspect_upload(PDF, filename="statement.pdf")

    assert (info.content_type, info.extension, info.page_count) == ("application/pdf", ".pdf", 1)
    assert (info.width, info.height) == (None, None)
    assert inspect_upload(make_pdf(pages=3)).page_count == 3


def test_content_decides_and_a_disagreeing_name_is_only_recorded() -> None:
    info = inspect_upload(PNG, filename="bank statement.pdf")

    assert info.content_type == "image/png"
    assert info.extension == ".png"
    assert info.declared_extension == ".pdf"
    assert info.extension_matches is False


@pytest.mark.parametrize(
    ("filename", "declared", "matches"),
    [
        ("photo.JPEG", ".jpeg", True),
        ("photo.jfif", ".jfif", True),
        ("photo", "", True),
        ("", "", True),
        ("C:\\fakepath\\photo.png", ".png", False),
        ("x." + "a" * 40, "", True),  # not an extension we record
        (None, "", True),  # the name is informational: junk is ignored, not refused
    ],
)
def test_declared_extension(filename: Any, declared: str, matches: bool) -> None:
    info = inspect_upload(JPEG, filename=filename)

    assert (info.declared_extension, info.extension_matches) == (declared, matches)


def test_bytearray_and_memoryview_are_accepted() -> None:
    assert inspect_upload(bytearray(PNG)).sha256 == inspect_upload(memoryview(PNG)).sha256


# --- refused by type ---------------------------------------------------------------------------

ELF = b"\x7fELF\x02\x01\x01\x00" + b"\x00" * 8 + b"\x02\x00\x3e\x00" + b"\x00" * 100
WINDOWS_EXE = b"MZ\x90\x00\x03\x00\x00\x00\x04\x00\x00\x00\xff\xff" + b"\x00" * 50 + b"PE\x00\x00"


@pytest.mark.parametrize(
    ("data", "filename"),
    [
        (ELF, "statement.pdf"),
        (WINDOWS_EXE, "statement.pdf"),
        (b"<!DOCTYPE html><html><script>alert(1)</script></html>", "passport.jpg"),
        (b"PK\x03\x04\x14\x00\x00\x00\x08\x00" + b"\x00" * 30, "documents.pdf"),  # ZIP
        (b"GIF89a\x01\x00\x01\x00\x00\x00\x00;", "selfie.gif"),
        (b"   %PDF-1.4\n%%EOF", "statement.pdf"),  # the magic must be at the very start
        (b"\xff\xd8", "cut.jpg"),  # too short to be JPEG's three magic bytes
    ],
)
def test_other_content_is_refused_whatever_its_name(data: bytes, filename: str) -> None:
    assert rejected_code(data, filename=filename) == "upload_type_not_allowed"


@pytest.mark.parametrize("data", [None, "a text", 42, [1, 2]])
def test_non_bytes_are_refused(data: object) -> None:
    assert rejected_code(data) == "upload_type_not_allowed"


# --- refused by size ---------------------------------------------------------------------------


def test_empty_file_is_refused() -> None:
    assert rejected_code(b"", filename="passport.jpg") == "upload_empty"


def test_file_over_the_size_limit_is_refused() -> None:
    assert rejected_code(JPEG, max_bytes=len(JPEG) - 1) == "upload_too_large"
    assert inspect_upload(JPEG, max_bytes=len(JPEG)).size == len(JPEG)


def test_size_limit_comes_from_settings(settings: Any) -> None:
    settings.KYC_UPLOAD_MAX_BYTES = 100

    assert rejected_code(JPEG) == "upload_too_large"


def test_default_size_limit_is_ten_mebibytes() -> None:
    padding = b"%" * (10 * 1024 * 1024 - len(PDF) + 1)
    too_big = PDF[:9] + padding + PDF[9:]

    assert len(too_big) == 10 * 1024 * 1024 + 1
    assert rejected_code(too_big) == "upload_too_large"


# --- images: pixels and integrity --------------------------------------------------------------


def test_png_claiming_ten_billion_pixels_is_refused_without_decoding() -> None:
    assert rejected_code(png_claiming(100_000, 100_000)) == "upload_too_many_pixels"


def test_png_just_over_our_limit_is_refused_by_the_header_alone() -> None:
    # 48 megapixels: under Pillow's own bomb threshold, over our 40 MP default.
    assert rejected_code(png_claiming(8_000, 6_000)) == "upload_too_many_pixels"


def test_pixel_limit_from_argument_and_settings(settings: Any) -> None:
    assert rejected_code(JPEG, max_pixels=64 * 48 - 1) == "upload_too_many_pixels"
    assert inspect_upload(JPEG, max_pixels=64 * 48).width == 64

    settings.KYC_UPLOAD_MAX_PIXELS = 100
    assert rejected_code(PNG) == "upload_too_many_pixels"


def test_truncated_jpeg_is_refused_as_corrupt() -> None:
    assert rejected_code(JPEG[: len(JPEG) // 2], filename="passport.jpg") == "upload_corrupt"


def test_truncated_png_is_refused_as_corrupt() -> None:
    assert rejected_code(PNG[: len(PNG) // 2]) == "upload_corrupt"


def test_png_with_a_broken_checksum_is_refused_as_corrupt() -> None:
    # Flip one byte inside the first IDAT chunk's data: its CRC no longer matches.
    position = PNG.index(b"IDAT") + 10
    damaged = PNG[:position] + bytes([PNG[position] ^ 0xFF]) + PNG[position + 1 :]

    assert rejected_code(damaged) == "upload_corrupt"


def test_png_claiming_zero_pixels_is_refused() -> None:
    assert rejected_code(png_claiming(0, 10)) == "upload_corrupt"


def test_jpeg_magic_followed_by_garbage_is_refused_as_corrupt() -> None:
    assert rejected_code(b"\xff\xd8\xff" + b"garbage" * 20) == "upload_corrupt"


# --- PDFs --------------------------------------------------------------------------------------


def test_pdf_without_end_marker_is_refused_as_corrupt() -> None:
    assert rejected_code(PDF[: -len(b"%%EOF\n")]) == "upload_corrupt"
    # An end marker further than 1 KiB from the end does not count either.
    assert rejected_code(PDF + b"\n" * 2000) == "upload_corrupt"


@pytest.mark.parametrize(
    "catalog_extra",
    [
        b" /OpenAction << /S /JavaScript /JS (app.alert(1)) >>",
        b" /OpenAction << /S /Launch /F (cmd.exe) >>",
        b" /Names << /EmbeddedFiles << /Names [(a.exe) 9 0 R] >> >>",
        b" /OpenAction << /S /J#61vaScript /JS (app.alert(1)) >>",  # a hex-escaped name
    ],
)
def test_pdf_with_active_content_is_refused(catalog_extra: bytes) -> None:
    pdf = make_pdf(catalog_extra=catalog_extra)

    assert rejected_code(pdf, filename="statement.pdf") == "upload_pdf_active_content"


def test_javascript_hidden_in_a_compressed_object_stream_is_found() -> None:
    hidden = zlib.compress(b"9 0 << /S /JavaScript /JS (app.alert(1)) >>")
    object_stream = (
        b"10 0 obj\n<< /Type /ObjStm /N 1 /First 4 /Filter /FlateDecode /Length %d >>\nstream\n"
        % len(hidden)
        + hidden
        + b"\nendstream\nendobj\n"
    )
    pdf = PDF.replace(b"xref\n", object_stream + b"xref\n", 1)

    assert b"JavaScript" not in pdf
    assert rejected_code(pdf) == "upload_pdf_active_content"


def test_object_stream_bomb_is_refused_without_inflating_it_all() -> None:
    bomb = zlib.compress(b" " * (9 * 1024 * 1024), 9)  # 9 MiB of spaces in about 9 kB
    object_stream = (
        b"10 0 obj\n<< /Type /ObjStm /N 1 /First 4 /Filter /FlateDecode >>\nstream\n"
        + bomb
        + b"\nendstream\nendobj\n"
    )
    pdf = PDF.replace(b"xref\n", object_stream + b"xref\n", 1)

    assert rejected_code(pdf) == "upload_corrupt"


# --- storage names -----------------------------------------------------------------------------


def test_storage_name_is_random_hex_with_the_detected_extension() -> None:
    info = inspect_upload(PNG, filename="my passport (John Smith).pdf")

    names = {random_storage_name(info) for _ in range(1000)}

    assert len(names) == 1000
    for name in names:
        assert re.fullmatch(r"[0-9a-f]{32}\.png", name)
        assert "passport" not in name
        assert "pdf" not in name


def test_storage_name_needs_an_inspected_upload() -> None:
    with pytest.raises(UploadRejected):
        random_storage_name("passport.jpg")  # type: ignore[arg-type]


# --- never another exception type --------------------------------------------------------------

MAGICS = [b"\xff\xd8\xff", b"\x89PNG\r\n\x1a\n", b"%PDF-", b""]


@given(prefix=st.sampled_from(MAGICS), rest=st.binary(max_size=3000), filename=st.text())
@hypothesis_settings(max_examples=400)
def test_any_bytes_give_info_or_a_coded_rejection(
    prefix: bytes, rest: bytes, filename: str
) -> None:
    outcome: str | int
    try:
        outcome = inspect_upload(prefix + rest, filename=filename).size
    except UploadRejected as error:
        outcome = error.code
    assert outcome in {
        len(prefix + rest),
        "upload_empty",
        "upload_type_not_allowed",
        "upload_too_many_pixels",
        "upload_corrupt",
        "upload_pdf_active_content",
    }


@given(cut=st.integers(min_value=1, max_value=len(JPEG) - 1))
@hypothesis_settings(max_examples=50)
def test_every_truncation_of_a_jpeg_is_refused_or_still_whole(cut: int) -> None:
    outcome = "accepted"
    try:
        inspect_upload(JPEG[:cut])
    except UploadRejected as error:
        outcome = error.code
    assert outcome in {"accepted", "upload_corrupt", "upload_type_not_allowed"}
