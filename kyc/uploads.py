"""Accepting a KYC document upload by what it contains, never by what it is called.

A client's "passport.jpg" may be a PDF, a phone's MPO photo, an executable or a decompression
bomb. `inspect_upload` decides from the bytes alone: JPEG, PNG and PDF are accepted, each after
checks that cost little (header-only pixel count before decoding, a full decode afterwards, a
screen for active PDF content). The file is stored under `random_storage_name`, so the client's
filename never reaches the file system.

Limits come from settings (read with defaults, so the module also runs without Django):

    KYC_UPLOAD_MAX_BYTES   default 10 MiB
    KYC_UPLOAD_MAX_PIXELS  default 40 megapixels (a 2020s phone photo is 12-50 MP)

Every rejection is an `UploadRejected` with a stable `code`; no other exception type escapes.
"""

from __future__ import annotations

import hashlib
import io
import os
import re
import secrets
import zlib
from dataclasses import dataclass
from typing import Any, Literal

from django.conf import settings
from PIL import Image

from kyc.mrz import KycInputError

UploadRejectedCode = Literal[
    "upload_empty",
    "upload_too_large",
    "upload_type_not_allowed",
    "upload_too_many_pixels",
    "upload_corrupt",
    "upload_pdf_active_content",
]


class UploadRejected(KycInputError):
    """An upload we will not store; `code` says why."""

    def __init__(self, code: UploadRejectedCode, message: str) -> None:
        super().__init__(code, message)


DEFAULT_MAX_BYTES = 10 * 1024 * 1024
DEFAULT_MAX_PIXELS = 40_000_000

ContentType = Literal["image/jpeg", "image/png", "application/pdf"]
# What a browser may show inside a staff page; the rest is downloaded.
INLINE_TYPES: tuple[str, ...] = ("image/jpeg", "image/png")

# Magic bytes -> (content type, extension we store under, Pillow format or None for PDF).
_SIGNATURES: tuple[tuple[bytes, ContentType, str, str | None], ...] = (
    (b"\xff\xd8\xff", "image/jpeg", ".jpg", "JPEG"),
    (b"\x89PNG\r\n\x1a\n", "image/png", ".png", "PNG"),
    (b"%PDF-", "application/pdf", ".pdf", None),
)
# Client-side extensions that name the same type as the one we store under.
_SAME_TYPE_EXTENSIONS: dict[str, frozenset[str]] = {
    ".jpg": frozenset({".jpg", ".jpeg", ".jpe", ".jfif"}),
    ".png": frozenset({".png"}),
    ".pdf": frozenset({".pdf"}),
}
_EXTENSION = re.compile(r"\.[a-z0-9]{1,10}", re.ASCII)


@dataclass(frozen=True)
class UploadInfo:
    content_type: ContentType
    extension: str  # ".jpg", ".png" or ".pdf": from the content, never from the filename
    size: int
    sha256: str
    width: int | None = None  # images only
    height: int | None = None
    # PDFs only, and approximate: the number of "/Type /Page" objects seen (plain and in object
    # streams). Incremental updates can count a page twice; None when none was found.
    page_count: int | None = None
    declared_extension: str = ""  # the client's filename extension, lower case, "" if none
    extension_matches: bool = True  # False: e.g. a PNG called "scan.pdf"; recorded, not refused


def _setting(name: str, default: int) -> int:
    if not settings.configured:
        return default
    return int(getattr(settings, name, default))


def _declared_extension(filename: object) -> str:
    # The name is informational only (never trusted, never stored); junk is ignored, not refused.
    if not isinstance(filename, str):
        return ""
    extension = os.path.splitext(filename[-300:])[1].lower()
    return extension if _EXTENSION.fullmatch(extension) else ""


def inspect_upload(
    data: bytes,
    *,
    filename: str = "",
    max_bytes: int | None = None,
    max_pixels: int | None = None,
) -> UploadInfo:
    """Identify and check an uploaded document; raises `UploadRejected` if it must be refused."""
    if isinstance(data, bytearray | memoryview):
        data = bytes(data)
    if not isinstance(data, bytes):
        raise UploadRejected("upload_type_not_allowed", "The upload must be a file's bytes.")
    if not data:
        raise UploadRejected("upload_empty", "The file is empty.")
    limit = (
        max_bytes if max_bytes is not None else _setting("KYC_UPLOAD_MAX_BYTES", DEFAULT_MAX_BYTES)
    )
    if len(data) > limit:
        raise UploadRejected(
            "upload_too_large", f"The file is larger than {limit // (1024 * 1024) or 1} MiB."
        )
    signature = next((entry for entry in _SIGNATURES if data.startswith(entry[0])), None)
    if signature is None:
        raise UploadRejected(
            "upload_type_not_allowed", "Only JPEG or PNG photos and PDF documents are accepted."
        )
    _, content_type, extension, pillow_format = signature
    declared = _declared_extension(filename)
    info: dict[str, Any] = {
        "content_type": content_type,
        "extension": extension,
        "size": len(data),
        "sha256": hashlib.sha256(data).hexdigest(),
        "declared_extension": declared,
        "extension_matches": not declared or declared in _SAME_TYPE_EXTENSIONS[extension],
    }
    if pillow_format is None:
        info["page_count"] = _check_pdf(data)
    else:
        pixel_limit = (
            max_pixels
            if max_pixels is not None
            else _setting("KYC_UPLOAD_MAX_PIXELS", DEFAULT_MAX_PIXELS)
        )
        info["width"], info["height"] = _check_image(data, pillow_format, pixel_limit)
    return UploadInfo(**info)


def _check_image(data: bytes, pillow_format: str, max_pixels: int) -> tuple[int, int]:
    too_many = UploadRejected(
        "upload_too_many_pixels",
        f"The image has more than {max_pixels:,} pixels; send a smaller photo.",
    )
    try:
        # Image.open parses the header only. Pillow itself refuses (raises) above twice its
        # global MAX_IMAGE_PIXELS; our own, lower limit is checked before anything is decoded.
        with Image.open(io.BytesIO(data), formats=[pillow_format]) as image:
            width, height = image.size
            if width * height > max_pixels:
                raise too_many
            if width < 1 or height < 1:
                raise UploadRejected("upload_corrupt", "The image has no pixels.")
            # verify() walks the file's structure (PNG chunk CRCs) without decoding pixels.
            image.verify()
        # verify() does not look at JPEG scan data, so decode once: now bounded by max_pixels.
        with Image.open(io.BytesIO(data), formats=[pillow_format]) as image:
            if pillow_format == "JPEG":
                # Decode at 1/8 scale: every byte of the scan data is still read (so truncation
                # is caught), for 1/64 of the memory.
                image.draft("RGB", (max(1, width // 8), max(1, height // 8)))
            image.load()
    except UploadRejected:
        raise
    except (Image.DecompressionBombError, Image.DecompressionBombWarning) as exc:
        # The warning arrives as an exception only under `-W error`; it means the same thing.
        raise too_many from exc
    except Exception as exc:
        # Pillow's parsers answer hostile bytes with OSError, SyntaxError, ValueError,
        # EOFError, struct.error, IndexError...: all of them mean "not a sound image".
        raise UploadRejected(
            "upload_corrupt", "The image is damaged or incomplete; take the photo again."
        ) from exc
    return width, height


# --- PDF ---------------------------------------------------------------------------------------

# Names that make a PDF do something when opened or carry other files. A reviewer's viewer
# should never run a client's script, and an attachment is a file we did not inspect.
_ACTIVE_PDF_NAMES = (b"/JavaScript", b"/Launch", b"/EmbeddedFile")
_NAME_ESCAPE = re.compile(rb"#([0-9A-Fa-f]{2})")
_OBJECT_STREAM = re.compile(rb"/Type\s*/ObjStm\b")
_STREAM_START = re.compile(rb"stream\r?\n")
_PAGE_OBJECT = re.compile(rb"/Type\s*/Page(?![A-Za-z])")
# Object streams are inflated to look inside them; these caps keep a zip bomb harmless.
_MAX_INFLATED_PER_STREAM = 8 * 1024 * 1024
_MAX_INFLATED_TOTAL = 32 * 1024 * 1024


def _object_streams(data: bytes) -> list[bytes]:
    """Inflated contents of the PDF's object streams, where dictionaries (and so actions) can
    hide compressed since PDF 1.5. Streams that are not Flate-compressed are skipped."""
    inflated: list[bytes] = []
    budget = _MAX_INFLATED_TOTAL
    for marker in _OBJECT_STREAM.finditer(data):
        start = _STREAM_START.search(data, marker.end())
        if start is None:
            continue
        inflater = zlib.decompressobj()
        try:
            chunk = inflater.decompress(
                data[start.end() :], min(budget, _MAX_INFLATED_PER_STREAM) + 1
            )
        except zlib.error:
            continue
        if len(chunk) > min(budget, _MAX_INFLATED_PER_STREAM):
            raise UploadRejected(
                "upload_corrupt", "The PDF's compressed objects are too large to check."
            )
        budget -= len(chunk)
        inflated.append(chunk)
    return inflated


def _check_pdf(data: bytes) -> int | None:
    """Screen a PDF; returns its approximate page count. Not a PDF parser: a cheap screen for the
    structure a viewer needs and for the active content we refuse."""
    if b"%%EOF" not in data[-1024:]:
        raise UploadRejected(
            "upload_corrupt", "The PDF is incomplete (no end-of-file marker); upload it again."
        )
    pages = 0
    for part in (data, *_object_streams(data)):
        # "/J#61vaScript" is "/JavaScript" to a PDF reader; decode name escapes before looking.
        plain = _NAME_ESCAPE.sub(lambda m: bytes([int(m.group(1), 16)]), part)
        for name in _ACTIVE_PDF_NAMES:
            if name in plain:
                raise UploadRejected(
                    "upload_pdf_active_content",
                    "PDFs with scripts, launch actions or attached files are not accepted; "
                    "print the document to a new PDF and upload that.",
                )
        pages += len(_PAGE_OBJECT.findall(plain))
    return pages or None


def random_storage_name(info: UploadInfo) -> str:
    """A fresh random name for storing the upload: 32 hex digits plus the detected extension."""
    if not isinstance(info, UploadInfo):
        raise UploadRejected("upload_type_not_allowed", "Only an inspected upload can be stored.")
    return secrets.token_hex(16) + info.extension
