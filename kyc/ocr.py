"""Reading text (and the MRZ) off document images.

Two engines share one interface: `RapidOcrEngine` runs RapidOCR locally (it ships its own ONNX
models, so it works offline and costs nothing per page), and `VendorOcrEngine` is the HTTP client
for a hosted document-OCR vendor, exercised in tests against a local server. `get_ocr_engine()`
picks one from settings:

    KYC_OCR_ENGINE        "rapidocr" (default) or "vendor"
    KYC_OCR_VENDOR_URL    the vendor endpoint, http(s) only
    KYC_OCR_VENDOR_KEY    sent as the X-Api-Key header
    KYC_OCR_VENDOR_TIMEOUT  seconds, default 10

Both engines first run the image through `kyc.uploads.inspect_upload`, so a decompression bomb,
a corrupt file or a PDF is refused with an `UploadRejected` before any decoding or network call.
Engine failures raise `OcrUnavailable` (a retryable 503, not the client's fault).

`read_mrz` with the local engine uses RapidOCR's detector and recogniser directly
(`kyc.mrz_zone`: the MRZ found, cut into cells and decoded under its field layout, repaired only
where a check digit confirms it, or refused with "mrz_unreadable"). With any other engine it is
engine.read_text -> `extract_mrz` (find the 2 x 44 or 3 x 30 block, fit lines whose filler runs
were misread) -> `repair_mrz_alphabets` (a digit in a name becomes a letter, a letter in a date
a digit) -> `kyc.mrz.parse_mrz`.
"""

from __future__ import annotations

import base64
import http.client
import io
import json
import os
import re
import threading
import urllib.error
import urllib.request
from typing import Any, Protocol

import numpy as np
from django.conf import settings
from django.core.exceptions import ImproperlyConfigured
from PIL import Image, ImageOps

from kyc.mrz import KycInputError, MrzError, MrzResult, parse_mrz
from kyc.uploads import UploadInfo, UploadRejected, inspect_upload


class OcrUnavailable(KycInputError):
    """The OCR engine could not answer (network, timeout, vendor error, engine crash)."""

    status = 503

    def __init__(self, message: str) -> None:
        super().__init__("ocr_unavailable", message)


class OcrEngine(Protocol):
    def read_text(self, image: bytes) -> list[str]:
        """The text lines of a JPEG or PNG image, top to bottom (left to right within a row)."""
        ...


def _setting(name: str, default: Any) -> Any:
    # The module is usable without Django (scripts, benchmarks): no settings means defaults.
    if not settings.configured:
        return default
    return getattr(settings, name, default)


def _require_image(image: object) -> tuple[bytes, UploadInfo]:
    """Validate an image for OCR with the upload rules (type, size, pixels, integrity)."""
    if isinstance(image, bytearray | memoryview):
        image = bytes(image)
    if not isinstance(image, bytes):
        raise UploadRejected("upload_type_not_allowed", "The image must be a file's bytes.")
    info = inspect_upload(image)
    if info.content_type == "application/pdf":
        raise UploadRejected(
            "upload_type_not_allowed", "Text is read from JPEG or PNG photos, not from PDFs."
        )
    return image, info


# --- local engine: RapidOCR ----------------------------------------------------------------------

# One RapidOCR per process: it loads three ONNX models (tens of MB) on construction. The owning
# pid is kept with it because a forked worker (Celery prefork) must not share its parent's
# onnxruntime sessions.
_rapidocr_instance: tuple[int, Any] | None = None
_rapidocr_construct_lock = threading.Lock()
# Calls are serialised too: onnxruntime already spreads one call over every core, and RapidOCR
# stores per-call detector options on the shared instance, so calls must not interleave.
_rapidocr_call_lock = threading.Lock()


def _shared_rapidocr() -> Any:
    global _rapidocr_instance
    cached = _rapidocr_instance
    if cached is not None and cached[0] == os.getpid():
        return cached[1]
    with _rapidocr_construct_lock:
        if _rapidocr_instance is None or _rapidocr_instance[0] != os.getpid():
            try:
                # Imported here: loading onnxruntime costs time and memory that processes which
                # never read a document (web workers with the vendor engine) should not pay.
                from rapidocr_onnxruntime import RapidOCR

                _rapidocr_instance = (os.getpid(), RapidOCR())
            except Exception as exc:  # a missing model or a broken onnxruntime install
                raise OcrUnavailable("The local OCR engine could not start.") from exc
        return _rapidocr_instance[1]


def _to_bgr_array(image: bytes) -> np.ndarray:
    try:
        with Image.open(io.BytesIO(image)) as opened:
            # Phone photos are stored sideways with an EXIF note saying how to turn them;
            # OCR must see the page the way a person does.
            upright = ImageOps.exif_transpose(opened).convert("RGB")
    except (OSError, ValueError, Image.DecompressionBombError) as exc:
        raise UploadRejected("upload_corrupt", "The image could not be decoded.") from exc
    # RapidOCR takes a 3-channel ndarray as OpenCV's BGR order; Pillow gives RGB.
    return np.ascontiguousarray(np.asarray(upright)[:, :, ::-1])


def _lines_from_boxes(result: list[Any]) -> list[str]:
    """Group RapidOCR's boxes into rows (top to bottom) and join each row left to right.

    The detector often cuts one printed line into several boxes (at long "<<<<" runs, between
    fields), so boxes whose vertical centres lie within half a box height form one row.
    """
    boxes: list[tuple[float, float, float, str]] = []  # (y centre, height, x left, text)
    for points, text, *_ in result:
        ys = [float(p[1]) for p in points]
        xs = [float(p[0]) for p in points]
        top, bottom = min(ys), max(ys)
        boxes.append(((top + bottom) / 2, max(bottom - top, 1.0), min(xs), str(text)))
    boxes.sort(key=lambda box: box[0])
    rows: list[list[tuple[float, float, float, str]]] = []
    for box in boxes:
        if rows:
            row_centre = sum(b[0] for b in rows[-1]) / len(rows[-1])
            row_height = min(b[1] for b in rows[-1])
            if abs(box[0] - row_centre) < min(box[1], row_height) / 2:
                rows[-1].append(box)
                continue
        rows.append([box])
    return [" ".join(b[3] for b in sorted(row, key=lambda b: b[2])) for row in rows]


class RapidOcrEngine:
    """Local OCR with RapidOCR (PP-OCRv4 models in ONNX, bundled with the wheel).

    RapidOCR's angle classifier (which turns text it thinks is upside down) is off by default:
    it takes a run of MRZ fillers "<<<<" for upside-down ">>>>" and garbles the MRZ. Sideways
    phone photos are still turned upright from their EXIF orientation.
    """

    def __init__(self, *, use_angle_classifier: bool = False) -> None:
        self.use_angle_classifier = use_angle_classifier

    def read_text(self, image: bytes) -> list[str]:
        data, _info = _require_image(image)
        pixels = _to_bgr_array(data)
        engine = _shared_rapidocr()
        with _rapidocr_call_lock:
            try:
                result, _elapsed = engine(pixels, use_cls=self.use_angle_classifier)
            except Exception as exc:  # onnxruntime raises its own types; none is the client's
                raise OcrUnavailable("The local OCR engine failed on this image.") from exc
        return _lines_from_boxes(result or [])

    def read_mrz(self, image: bytes) -> MrzResult:
        """The MRZ read from the image with the layout-aware decoder (`kyc.mrz_zone`)."""
        from kyc.mrz_zone import MrzZoneReader

        data, _info = _require_image(image)
        pixels = _to_bgr_array(data)
        engine = _shared_rapidocr()
        with _rapidocr_call_lock:
            try:
                return MrzZoneReader(engine).read(pixels)
            except KycInputError:
                raise
            except Exception as exc:  # onnxruntime and OpenCV raise their own types
                raise OcrUnavailable("The local OCR engine failed on this image.") from exc


# --- vendor engine: HTTP ---------------------------------------------------------------------

# A vendor answer is a few kB of text; more than this is not an answer we asked for.
_MAX_VENDOR_RESPONSE_BYTES = 1024 * 1024


class _RefuseRedirects(urllib.request.HTTPRedirectHandler):
    # urllib would replay the request, API key header included, to wherever a redirect points.
    def redirect_request(self, *args: Any, **kwargs: Any) -> None:
        return None


class VendorOcrEngine:
    """Client for a hosted OCR API: POST {"image": base64, "content_type": ...} as JSON with an
    X-Api-Key header; the answer is {"lines": ["...", ...]} with status 200."""

    def __init__(self, url: str, api_key: str, *, timeout: float = 10.0) -> None:
        self.url = url
        self.api_key = api_key
        self.timeout = timeout
        self._opener = urllib.request.build_opener(_RefuseRedirects)

    def read_text(self, image: bytes) -> list[str]:
        data, info = _require_image(image)
        if not isinstance(self.url, str) or not re.match(r"https?://", self.url):
            # Also keeps urllib away from file:// and ftp:// URLs in a mistyped setting.
            raise OcrUnavailable("The OCR vendor is not configured (KYC_OCR_VENDOR_URL).")
        body = json.dumps(
            {
                "image": base64.b64encode(data).decode("ascii"),
                "content_type": info.content_type,
            }
        ).encode("utf-8")
        request = urllib.request.Request(  # noqa: S310 - scheme checked above
            self.url,
            data=body,
            method="POST",
            headers={
                "Content-Type": "application/json",
                "Accept": "application/json",
                "X-Api-Key": str(self.api_key or ""),
            },
        )
        try:
            with self._opener.open(request, timeout=self.timeout) as response:
                status = response.status
                raw = response.read(_MAX_VENDOR_RESPONSE_BYTES + 1)
        except urllib.error.HTTPError as exc:  # 4xx, 5xx and the refused redirects
            raise OcrUnavailable(f"The OCR vendor answered HTTP {exc.code}.") from exc
        except (OSError, http.client.HTTPException, ValueError) as exc:
            # OSError covers URLError, timeouts and resets; ValueError a malformed URL.
            raise OcrUnavailable("The OCR vendor could not be reached.") from exc
        if status != 200:
            raise OcrUnavailable(f"The OCR vendor answered HTTP {status}.")
        return _parse_vendor_answer(raw)


def _parse_vendor_answer(raw: bytes) -> list[str]:
    if len(raw) > _MAX_VENDOR_RESPONSE_BYTES:
        raise OcrUnavailable("The OCR vendor's answer is too large.")
    try:
        payload = json.loads(raw.decode("utf-8"))
    except ValueError as exc:  # JSONDecodeError and UnicodeDecodeError are ValueErrors
        raise OcrUnavailable("The OCR vendor's answer is not JSON.") from exc
    lines = payload.get("lines") if isinstance(payload, dict) else None
    if not isinstance(lines, list) or not all(isinstance(line, str) for line in lines):
        raise OcrUnavailable("The OCR vendor's answer has no list of text lines.")
    return lines


def get_ocr_engine() -> OcrEngine:
    """The engine chosen by settings.KYC_OCR_ENGINE."""
    name = _setting("KYC_OCR_ENGINE", "rapidocr")
    if name == "rapidocr":
        return RapidOcrEngine()
    if name == "vendor":
        return VendorOcrEngine(
            _setting("KYC_OCR_VENDOR_URL", ""),
            _setting("KYC_OCR_VENDOR_KEY", ""),
            timeout=float(_setting("KYC_OCR_VENDOR_TIMEOUT", 10.0)),
        )
    # A deployment mistake, not bad input: fail loudly where the operator will look.
    raise ImproperlyConfigured(f"KYC_OCR_ENGINE must be 'rapidocr' or 'vendor', not {name!r}.")


# --- finding the MRZ among OCR lines -------------------------------------------------------------

# Glyphs OCR engines put where the MRZ has fillers. Applied only to lines that may be MRZ lines,
# so the printed part of the page keeps its text. "O" and "0" are not touched here, where fields
# are unknown: `repair_mrz_alphabets` swaps them only where a field allows just one of the two,
# and elsewhere the check digits decide.
_FILLER_LOOKALIKES = str.maketrans(
    {
        "\u00ab": "<<",  # guillemet, two fillers read as one glyph
        "\u2039": "<",  # single guillemet
        "\u3008": "<",  # CJK angle bracket (the model's dictionary is Chinese)
        "\u27e8": "<",  # mathematical angle bracket
        "\uff1c": "<",  # full-width less-than
        "\u2264": "<",  # less-than or equal
        "\u304f": "<",  # hiragana ku
    }
)
_MRZ_LINE = re.compile(r"[0-9A-Z<]+", re.ASCII)
_FILLER_RUN = re.compile(r"<+")
# (line length, lines per block) for TD3 passports and TD1 ID cards.
_MRZ_SHAPES = ((44, 2), (30, 3))
# A line read short is still taken if it has at least this many characters and a filler.
_MIN_PARTIAL_LENGTH = 10
_MAX_LINES = 10_000


def _mrz_alphabet(line: str) -> str | None:
    """The line without spaces, upper case, filler look-alikes mapped; None if it then holds
    anything an MRZ cannot."""
    if len(line) > 200:  # four times the longest MRZ line: printed prose, not an MRZ
        return None
    text = "".join(line.split()).upper().translate(_FILLER_LOOKALIKES)
    return text if _MRZ_LINE.fullmatch(text) else None


def _fit_line(text: str, length: int) -> str | None:
    """`text` brought to `length`, or None if it cannot be an MRZ line of that length.

    OCR models read long filler runs ("<<<<<<<<") badly: they drop fillers, or the detector
    leaves the run out of the text box. So a short line gets the missing fillers added to its
    last run, which is where they are on the name lines (trailing) and on passport line 2 (the
    empty personal number). A line one character too long loses one filler from its last run,
    or its last character. The check digits then tell whether the guess was right.
    """
    missing = length - len(text)
    if missing == 0:
        return text
    runs = list(_FILLER_RUN.finditer(text))
    if missing < 0:
        if missing < -1:
            return None
        if runs and runs[-1].end() - runs[-1].start() >= 2:
            cut = runs[-1].end() - 1
            return text[:cut] + text[cut + 1 :]
        return text[:length]
    if missing > 1 and (len(text) < _MIN_PARTIAL_LENGTH or not runs):
        return None
    if not runs:
        return text + "<" * missing
    end = runs[-1].end()
    return text[:end] + "<" * missing + text[end:]


def extract_mrz(lines: list[str]) -> str | None:
    """Find a TD3 (2 x 44) or TD1 (3 x 30) MRZ among OCR lines; the lines joined by "\\n".

    A block is `count` consecutive lines in the MRZ alphabet that can be fitted to the line
    length (see `_fit_line`), at least one of them read at the right length ±1 so the format is
    not a guess. The lowest block wins, since the MRZ is printed at the bottom of the page.
    Returns None when there is none.
    """
    if not isinstance(lines, list | tuple) or len(lines) > _MAX_LINES:
        raise MrzError("mrz_format", "OCR output must be a list of text lines.")
    if not all(isinstance(line, str) for line in lines):
        raise MrzError("mrz_format", "OCR output must be a list of text lines.")
    texts = [_mrz_alphabet(line) for line in lines]
    lowest: tuple[int, list[str]] | None = None  # (index of the block's last line, block)
    for length, count in _MRZ_SHAPES:
        for last in range(count - 1, len(texts)):
            if lowest is not None and last <= lowest[0]:
                continue
            window = texts[last - count + 1 : last + 1]
            if any(text is None for text in window):
                continue
            fitted = [_fit_line(text, length) for text in window if text is not None]
            anchored = any(abs(len(text) - length) <= 1 for text in window if text is not None)
            if anchored and all(line is not None for line in fitted):
                lowest = (last, [line for line in fitted if line is not None])
    return "\n".join(lowest[1]) if lowest else None


# Positions where ICAO 9303 allows only letters ("A", fillers allowed too) or only digits ("9",
# fillers allowed too); "*" is free (document numbers, optional data) and "S" is the sex.
_FIELD_ALPHABETS: dict[int, tuple[str, ...]] = {
    44: (
        "AAAAA" + "A" * 39,
        "*" * 9 + "9" + "AAA" + "999999" + "9" + "S" + "999999" + "9" + "*" * 14 + "99",
    ),
    30: (
        "AAAAA" + "*" * 9 + "9" + "*" * 15,
        "999999" + "9" + "S" + "999999" + "9" + "AAA" + "*" * 11 + "9",
        "A" * 30,
    ),
}
# Confusions of OCR models between letters and digits of similar shape.
_AS_LETTER = str.maketrans({"0": "O", "1": "I", "5": "S", "8": "B"})
_AS_DIGIT = str.maketrans({"O": "0", "Q": "0", "D": "0", "I": "1", "S": "5", "B": "8", "Z": "2"})


def repair_mrz_alphabets(mrz_text: str) -> str:
    """Replace characters that cannot stand where they stand: a digit in a name or country code
    becomes the letter it resembles, a letter in a date or check digit the digit it resembles.

    Only impossible characters change, so a correct reading stays as it is. Document numbers
    and optional data mix letters and digits freely and are left alone; their check digits
    decide. Dates and check digits are themselves covered by check digits, so a wrong repair
    there still shows as a failed check.
    """
    lines = mrz_text.split("\n")
    layouts = _FIELD_ALPHABETS.get(len(lines[0])) if lines else None
    if layouts is None or len(layouts) != len(lines):
        return mrz_text
    repaired = []
    for line, layout in zip(lines, layouts, strict=True):
        if len(line) != len(layout):
            return mrz_text
        chars = []
        for char, kind in zip(line, layout, strict=True):
            if kind == "A":
                char = char.translate(_AS_LETTER)
            elif kind == "9":
                char = char.translate(_AS_DIGIT)
            chars.append(char)
        repaired.append("".join(chars))
    return "\n".join(repaired)


def read_mrz(image: bytes, engine: OcrEngine | None = None) -> MrzResult:
    """OCR the image, find its MRZ, repair impossible characters and parse it.

    `MrzError("mrz_not_found")` when the image holds no MRZ; parse errors as in `parse_mrz`.
    """
    reader = engine if engine is not None else get_ocr_engine()
    if isinstance(reader, RapidOcrEngine):
        return reader.read_mrz(image)
    mrz_text = extract_mrz(reader.read_text(image))
    if mrz_text is None:
        raise MrzError(
            "mrz_not_found",
            "No machine-readable zone was found: photograph the whole page, flat and sharp.",
        )
    return parse_mrz(repair_mrz_alphabets(mrz_text))
