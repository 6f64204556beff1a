"""Tests of kyc.ocr: the local RapidOCR engine on rendered passports, the vendor client against a
local HTTP server, and finding the MRZ among OCR lines."""

from __future__ import annotations

import base64
import datetime
import io
import json
import socket
import threading
import time
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import pytest
from django.core.exceptions import ImproperlyConfigured
from hypothesis import given
from hypothesis import settings as hypothesis_settings
from hypothesis import strategies as st
from PIL import Image

from kyc.mrz import KycInputError, MrzError, parse_mrz
from kyc.ocr import (
    OcrUnavailable,
    RapidOcrEngine,
    VendorOcrEngine,
    extract_mrz,
    get_ocr_engine,
    read_mrz,
    repair_mrz_alphabets,
)
from kyc.specimens import (
    SPECIMEN_TD1,
    SPECIMEN_TD3,
    render_passport,
    render_photo_without_mrz,
    td3_lines,
)
from kyc.uploads import UploadRejected

TD3_TEXT = "\n".join(SPECIMEN_TD3)
TD1_TEXT = "\n".join(SPECIMEN_TD1)


def small_png() -> bytes:
    buffer = io.BytesIO()
    Image.new("RGB", (8, 8), (255, 255, 255)).save(buffer, format="PNG")
    return buffer.getvalue()


class RecordingEngine:
    """Passes calls to a real engine and keeps the lines it returned."""

    def __init__(self, engine: RapidOcrEngine) -> None:
        self.engine = engine
        self.lines: list[str] = []

    def read_text(self, image: bytes) -> list[str]:
        self.lines = self.engine.read_text(image)
        return self.lines


class FixedLinesEngine:
    def __init__(self, lines: list[str]) -> None:
        self.lines = lines

    def read_text(self, image: bytes) -> list[str]:
        return self.lines


# --- RapidOCR on rendered documents --------------------------------------------------------------


@pytest.fixture(scope="module")
def rapidocr() -> RapidOcrEngine:
    # One engine for the module: the first call loads the ONNX models.
    return RapidOcrEngine()


def test_rapidocr_reads_the_specimen_passport(rapidocr: RapidOcrEngine) -> None:
    recording = RecordingEngine(rapidocr)

    result = read_mrz(render_passport(SPECIMEN_TD3), engine=recording)

    assert result == parse_mrz(TD3_TEXT)
    assert result.valid is True
    assert (result.surname, result.given_names, result.document_number) == (
        "ERIKSSON",
        "ANNA MARIA",
        "L898902C3",
    )
    # Lines come top to bottom: the title first, the MRZ last.
    assert recording.lines[0] == "PASSPORT"
    assert [line.replace(" ", "") for line in recording.lines[-2:]] == SPECIMEN_TD3


def test_rapidocr_reads_the_specimen_from_a_sideways_phone_photo(rapidocr: RapidOcrEngine) -> None:
    # Given the page as a phone would send it: JPEG, another size, and stored sideways with an
    # EXIF note (orientation 6) saying to turn it a quarter clockwise for display
    png = render_passport(SPECIMEN_TD3, width=1200)
    sideways = Image.open(io.BytesIO(png)).convert("RGB").transpose(Image.Transpose.ROTATE_90)
    exif = Image.Exif()
    exif[0x0112] = 6
    buffer = io.BytesIO()
    sideways.save(buffer, format="JPEG", quality=80, exif=exif.tobytes())

    result = read_mrz(buffer.getvalue(), engine=rapidocr)

    assert result == parse_mrz(TD3_TEXT)
    assert result.valid is True


def test_photo_without_mrz_is_mrz_not_found(rapidocr: RapidOcrEngine) -> None:
    with pytest.raises(MrzError) as caught:
        read_mrz(render_photo_without_mrz(), engine=rapidocr)
    assert caught.value.code == "mrz_not_found"


@pytest.mark.parametrize(
    ("image", "code"),
    [
        (b"", "upload_empty"),
        (b"%PDF-1.4\n1 0 obj\n<< >>\nendobj\n%%EOF\n", "upload_type_not_allowed"),
        (b"\x89PNG\r\n\x1a\nnot really", "upload_corrupt"),
        (b"MZ\x90\x00", "upload_type_not_allowed"),
        ("a path.png", "upload_type_not_allowed"),
    ],
)
def test_rapidocr_refuses_what_is_not_an_image_before_running(
    rapidocr: RapidOcrEngine, image: Any, code: str
) -> None:
    with pytest.raises(UploadRejected) as caught:
        rapidocr.read_text(image)
    assert caught.value.code == code


@given(st.binary(max_size=500))
@hypothesis_settings(max_examples=100)
def test_read_mrz_on_random_bytes_raises_only_coded_errors(data: bytes) -> None:
    engine = RapidOcrEngine()  # cheap: the model is shared and loaded on first real use
    with pytest.raises(KycInputError):
        read_mrz(data, engine=engine)


# --- the vendor client ---------------------------------------------------------------------------

VENDOR_LINES = [
    "REPUBLIC OF UTOPIA",
    "PASSPORT",
    "ERIKSSON",
    "P<UTOERIKSSON<<ANNA<MARIA<<<<<<<<<<<<<<<<<<<",
    "L898902C36UTO7408122F1204159ZE184226B<<<<<10",
]


class VendorHandler(BaseHTTPRequestHandler):
    received: list[dict[str, Any]] = []

    def log_message(self, format: str, *args: Any) -> None:
        pass  # keep the test output clean

    def _answer(self, status: int, body: bytes, headers: dict[str, str] | None = None) -> None:
        try:
            self.send_response(status)
            for name, value in (headers or {}).items():
                self.send_header(name, value)
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)
        except (BrokenPipeError, ConnectionResetError):
            pass  # the client gave up (timeout, oversized answer): that is what was tested

    def do_POST(self) -> None:
        body = self.rfile.read(int(self.headers["Content-Length"]))
        self.received.append({"path": self.path, "headers": dict(self.headers), "body": body})
        if self.headers.get("X-Api-Key") != "test-key":
            self._answer(401, b'{"error": "unauthorised"}')
        elif self.path == "/ocr":
            self._answer(200, json.dumps({"lines": VENDOR_LINES}).encode())
        elif self.path == "/error":
            self._answer(500, b"internal error")
        elif self.path == "/malformed":
            self._answer(200, b"<html>this is not json</html>")
        elif self.path == "/no-lines":
            self._answer(200, b'{"text": "P<UTO"}')
        elif self.path == "/not-strings":
            self._answer(200, b'{"lines": ["ok", 3]}')
        elif self.path == "/created":
            self._answer(201, json.dumps({"lines": VENDOR_LINES}).encode())
        elif self.path == "/huge":
            self._answer(200, b'{"lines": ["' + b"A" * (1024 * 1024) + b'"]}')
        elif self.path == "/redirect":
            self._answer(302, b"", {"Location": "/ocr"})
        elif self.path == "/slow":
            time.sleep(1.5)
            self._answer(200, json.dumps({"lines": VENDOR_LINES}).encode())
        else:
            self._answer(404, b"")


@pytest.fixture(scope="module")
def vendor_url() -> Iterator[str]:
    server = ThreadingHTTPServer(("127.0.0.1", 0), VendorHandler)
    server.daemon_threads = True
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}"
    finally:
        server.shutdown()
        server.server_close()


@pytest.fixture(autouse=True)
def _no_proxy(monkeypatch: pytest.MonkeyPatch) -> None:
    # urllib sends requests through a proxy named in the environment; the test server is local.
    for name in ("http_proxy", "HTTP_PROXY", "https_proxy", "HTTPS_PROXY", "all_proxy"):
        monkeypatch.delenv(name, raising=False)


def test_vendor_engine_posts_the_image_and_returns_lines(vendor_url: str) -> None:
    VendorHandler.received.clear()
    image = small_png()
    engine = VendorOcrEngine(f"{vendor_url}/ocr", "test-key", timeout=5)

    lines = engine.read_text(image)

    assert lines == VENDOR_LINES
    [request] = VendorHandler.received
    assert request["headers"]["Content-Type"] == "application/json"
    payload = json.loads(request["body"])
    assert payload == {
        "image": base64.b64encode(image).decode("ascii"),
        "content_type": "image/png",
    }


def test_read_mrz_through_the_vendor(vendor_url: str) -> None:
    engine = VendorOcrEngine(f"{vendor_url}/ocr", "test-key", timeout=5)

    assert read_mrz(small_png(), engine=engine) == parse_mrz(TD3_TEXT)


@pytest.mark.parametrize(
    ("path", "key"),
    [
        ("/error", "test-key"),
        ("/malformed", "test-key"),
        ("/no-lines", "test-key"),
        ("/not-strings", "test-key"),
        ("/created", "test-key"),
        ("/huge", "test-key"),
        ("/redirect", "test-key"),  # never followed: it would carry the key elsewhere
        ("/missing", "test-key"),
        ("/ocr", "wrong-key"),
    ],
)
def test_vendor_failures_are_ocr_unavailable(vendor_url: str, path: str, key: str) -> None:
    engine = VendorOcrEngine(f"{vendor_url}{path}", key, timeout=5)

    with pytest.raises(OcrUnavailable) as caught:
        engine.read_text(small_png())
    assert caught.value.code == "ocr_unavailable"
    assert caught.value.status == 503


def test_vendor_timeout_is_ocr_unavailable(vendor_url: str) -> None:
    engine = VendorOcrEngine(f"{vendor_url}/slow", "test-key", timeout=0.3)

    with pytest.raises(OcrUnavailable):
        engine.read_text(small_png())


def test_vendor_connection_refused_is_ocr_unavailable() -> None:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        free_port = probe.getsockname()[1]
    engine = VendorOcrEngine(f"http://127.0.0.1:{free_port}/ocr", "test-key", timeout=2)

    with pytest.raises(OcrUnavailable):
        engine.read_text(small_png())


@pytest.mark.parametrize("url", ["", "file:///etc/passwd", "ftp://example.org/ocr", "http//x"])
def test_vendor_without_a_usable_url_is_ocr_unavailable(url: str) -> None:
    with pytest.raises(OcrUnavailable):
        VendorOcrEngine(url, "test-key").read_text(small_png())


def test_vendor_refuses_bad_images_before_calling(vendor_url: str) -> None:
    VendorHandler.received.clear()
    engine = VendorOcrEngine(f"{vendor_url}/ocr", "test-key")

    with pytest.raises(UploadRejected):
        engine.read_text(b"\x7fELF")
    assert VendorHandler.received == []


# --- choosing the engine ---------------------------------------------------------------------


def test_default_engine_is_rapidocr(settings: Any) -> None:
    for name in ("KYC_OCR_ENGINE", "KYC_OCR_VENDOR_URL", "KYC_OCR_VENDOR_KEY"):
        if hasattr(settings, name):
            delattr(settings, name)

    assert isinstance(get_ocr_engine(), RapidOcrEngine)


def test_vendor_engine_from_settings(settings: Any) -> None:
    settings.KYC_OCR_ENGINE = "vendor"
    settings.KYC_OCR_VENDOR_URL = "https://ocr.example.org/v1/read"
    settings.KYC_OCR_VENDOR_KEY = "secret"

    engine = get_ocr_engine()

    assert isinstance(engine, VendorOcrEngine)
    assert (engine.url, engine.api_key, engine.timeout) == (
        "https://ocr.example.org/v1/read",
        "secret",
        10.0,
    )


def test_unknown_engine_is_a_configuration_error(settings: Any) -> None:
    settings.KYC_OCR_ENGINE = "tesseract"

    with pytest.raises(ImproperlyConfigured):
        get_ocr_engine()


# --- finding the MRZ among OCR lines ---------------------------------------------------------


@pytest.mark.parametrize(
    "lines",
    [
        VENDOR_LINES,
        ["Surname", "ERIKSSON", SPECIMEN_TD3[0].lower(), SPECIMEN_TD3[1]],
        [
            " P<UTO ERIKSSON<<ANNA<MARIA <<<<<<<<<<<<<<<<<<< ",
            "L898902C36 UTO7408122F1204159ZE184226B<<<<<10",
        ],
        ["P<UTOERIKSSON\u00abANNA<MARIA<<<<<<<<<<<<<<<<<<<", SPECIMEN_TD3[1]],  # « for <<
        ["P<UTOERIKSSON\u304f\u304fANNA\uff1cMARIA<<<<<<<<<<<<<<<<<<<", SPECIMEN_TD3[1]],
        # the detector left most of the trailing filler run out of its box
        ["P<UTOERIKSSON<<ANNA<MARIA<<<<", SPECIMEN_TD3[1]],
        # one filler too many / too few in the empty part of the personal number
        [SPECIMEN_TD3[0], "L898902C36UTO7408122F1204159ZE184226B<<<<<<10"],
        [SPECIMEN_TD3[0], "L898902C36UTO7408122F1204159ZE184226B<<<<10"],
        # a lone trailing filler lost or doubled at the end of the name line
        [SPECIMEN_TD3[0][:-1], SPECIMEN_TD3[1]],
        [SPECIMEN_TD3[0] + "<", SPECIMEN_TD3[1]],
    ],
)
def test_extract_mrz_from_noisy_lines(lines: list[str]) -> None:
    assert extract_mrz(lines) == TD3_TEXT


def test_extract_td1_from_noisy_lines() -> None:
    lines = ["IDENTITY CARD", "ERIKSSON", "ANNA MARIA", *[f" {line} " for line in SPECIMEN_TD1], ""]

    assert extract_mrz(lines) == TD1_TEXT


@pytest.mark.parametrize(
    "lines",
    [
        [],
        ["PASSPORT", "ERIKSSON", "12 AUG 1974"],
        [SPECIMEN_TD3[0]],  # half an MRZ
        SPECIMEN_TD1[:2],
        # MRZ-like, but no line has the right length to say which format it is
        ["P<UTOERIKSSON<<ANNA<MARIA<<<<<<", "L898902C36UTO7408122F1204159ZE184226B<<10"],
        ["P<UTOERIKSSON<<ANNA<MARIA<<<<<<<<<<<<<<<<<<<<<<<", SPECIMEN_TD3[1]],  # 48 characters
        ["P<UTOERIKSSON<<ANNA-MARIA<<<<<<<<<<<<<<<<<<<", SPECIMEN_TD3[1]],  # "-" is not MRZ
    ],
)
def test_extract_mrz_finds_nothing(lines: list[str]) -> None:
    assert extract_mrz(lines) is None


def test_extract_mrz_takes_the_lowest_block() -> None:
    other = td3_lines(
        surname="SMITH",
        given_names="JOHN",
        document_number="123456789",
        birth_date=datetime.date(1980, 1, 1),
        expiry_date=datetime.date(2030, 1, 1),
    )

    assert extract_mrz([*SPECIMEN_TD1, "text", *SPECIMEN_TD3]) == TD3_TEXT
    assert extract_mrz([*other, "text", *SPECIMEN_TD1]) == TD1_TEXT


@pytest.mark.parametrize("lines", [None, "P<UTO\nL898", [SPECIMEN_TD3[0], None], ["x"] * 10_001])
def test_extract_mrz_refuses_what_is_not_a_list_of_lines(lines: Any) -> None:
    with pytest.raises(MrzError) as caught:
        extract_mrz(lines)
    assert caught.value.code == "mrz_format"


@given(st.lists(st.text(max_size=60), max_size=8))
@hypothesis_settings(max_examples=300)
def test_extract_mrz_on_random_lines(lines: list[str]) -> None:
    found = extract_mrz(lines)
    if found is not None:
        assert [len(line) for line in found.split("\n")] in ([44, 44], [30, 30, 30])


MRZ_ALPHABET = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZ<"


@given(st.lists(st.text(alphabet=MRZ_ALPHABET + " «", min_size=25, max_size=46), max_size=4))
@hypothesis_settings(max_examples=300)
def test_read_mrz_on_random_mrz_like_lines_raises_only_coded_errors(lines: list[str]) -> None:
    code = None
    try:
        read_mrz(b"", engine=FixedLinesEngine(lines))
    except MrzError as error:
        code = error.code
    assert code in {None, "mrz_not_found", "mrz_format", "mrz_date"}


# --- repairing impossible characters -------------------------------------------------------------


def test_repair_turns_digits_in_letter_fields_and_letters_in_digit_fields() -> None:
    misread = "\n".join(
        [
            "P<UT0ER1KSSON<<ANNA<MAR1A<<<<<<<<<<<<<<<<<<<",  # 0 and 1 in names and country
            "L898902C36UT074O8122F12O4I59ZE184226B<<<<<IO",  # O, I in dates and check digits
        ]
    )

    assert repair_mrz_alphabets(misread) == TD3_TEXT


def test_repair_leaves_document_numbers_and_optional_data_alone() -> None:
    # "O" for "0" inside the document number cannot be told from a real "O": its check decides.
    misread = TD1_TEXT.replace("D23145890", "D2314589O").replace("UTO<<<<", "UT0<<<<")
    repaired = repair_mrz_alphabets(misread)

    assert repaired == TD1_TEXT.replace("D23145890", "D2314589O")
    assert parse_mrz(repaired).checks["document_number"] is False


def test_read_mrz_repairs_then_parses() -> None:
    lines = ["I<UT0D231458907<<<<<<<<<<<<<<<", "7408122F12O4159UT0<<<<<<<<<<<6", SPECIMEN_TD1[2]]

    assert read_mrz(b"", engine=FixedLinesEngine(lines)) == parse_mrz(TD1_TEXT)


@pytest.mark.parametrize("text", ["", "P<UTO", "A" * 44 + "\n" + "B" * 30])
def test_repair_leaves_other_shapes_alone(text: str) -> None:
    assert repair_mrz_alphabets(text) == text
