"""The OCR engines behind `kyc.ocr`: `RapidOcrEngine` (RapidOCR run locally, one shared instance
per process), `VendorOcrEngine` (a hosted vendor's HTTP API) and `get_ocr_engine()`, which picks
one from settings. Both validate the image with the upload rules before reading it."""

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

from kyc.mrz import KycInputError, MrzResult
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
