"""Specimen identity documents, for the tests, the demo and the benchmarks: MRZ lines with
correct check digits, passport-like images rendered from them, and those photographed as a
phone would. Nothing here is used on a client's real upload.

The images use only what ships with Pillow: `ImageFont.load_default(size=...)` is the scalable
Aileron Regular font embedded in Pillow (>= 10.1), so nothing depends on system fonts (the venv
holds no monospaced font file). Aileron is proportional; the MRZ is still laid out monospaced by
centring every character in a fixed-width cell, as OCR-B does. Aileron draws "O" and "0" alike
and "I" as a bare bar: harder to read than OCR-B, which is on purpose.

How well the local reader reads these documents is measured by `make bench-mrz`;
`readable_passport` gives workflow tests a document that reads, on whatever date they run.
"""

from __future__ import annotations

import datetime
import io
import random
from collections.abc import Callable

from PIL import Image, ImageDraw, ImageFilter, ImageFont

from kyc.mrz import KycInputError, check_digit, parse_mrz

# The smallest valid PDF: one empty page (a proof of address whose content nothing reads).
SPECIMEN_PDF = (
    b"%PDF-1.4\n1 0 obj<</Type/Catalog/Pages 2 0 R>>endobj\n"
    b"2 0 obj<</Type/Pages/Kids[3 0 R]/Count 1>>endobj\n"
    b"3 0 obj<</Type/Page/Parent 2 0 R/MediaBox[0 0 612 792]>>endobj\n"
    b"trailer<</Root 1 0 R>>\n%%EOF\n"
)

SPECIMEN_TD3 = [
    "P<UTOERIKSSON<<ANNA<MARIA<<<<<<<<<<<<<<<<<<<",
    "L898902C36UTO7408122F1204159ZE184226B<<<<<10",
]
SPECIMEN_TD1 = [
    "I<UTOD231458907<<<<<<<<<<<<<<<",
    "7408122F1204159UTO<<<<<<<<<<<6",
    "ERIKSSON<<ANNA<MARIA<<<<<<<<<<",
]


def _field(value: str, length: int) -> str:
    text = value.upper().replace(" ", "<").replace("-", "<")
    if len(text) > length:
        raise ValueError(f"{value!r} does not fit in {length} characters")
    return text.ljust(length, "<")


def _yymmdd(value: datetime.date) -> str:
    return value.strftime("%y%m%d")


def _name_field(surname: str, given_names: str, length: int) -> str:
    return _field(f"{surname}<<{given_names}", length)


def _line2_start(
    document_number: str,
    nationality: str,
    birth_date: datetime.date,
    sex: str,
    expiry_date: datetime.date,
) -> str:
    """The first 28 characters of line 2 of a TD3 or TD2 MRZ: number, nationality, birth date,
    sex and expiry, each with its check digit."""
    number = _field(document_number, 9)
    birth, expiry = _yymmdd(birth_date), _yymmdd(expiry_date)
    return (
        number
        + check_digit(number)
        + _field(nationality, 3)
        + birth
        + check_digit(birth)
        + sex
        + expiry
        + check_digit(expiry)
    )


def td3_lines(
    *,
    surname: str,
    given_names: str,
    document_number: str,
    birth_date: datetime.date,
    expiry_date: datetime.date,
    sex: str = "F",
    nationality: str = "UTO",
    issuing_country: str = "UTO",
    personal_number: str = "",
    document_type: str = "P",
) -> list[str]:
    """The two lines of a passport MRZ with every check digit computed."""
    line1 = _field(document_type, 2) + _field(issuing_country, 3)
    line1 += _name_field(surname, given_names, 39)
    personal = _field(personal_number, 14)
    personal_digit = check_digit(personal) if personal_number else "<"
    line2 = _line2_start(document_number, nationality, birth_date, sex, expiry_date)
    line2 += personal + personal_digit
    composite = line2[0:10] + line2[13:20] + line2[21:43]
    return [line1, line2 + check_digit(composite)]


def td2_lines(
    *,
    surname: str,
    given_names: str,
    document_number: str,
    birth_date: datetime.date,
    expiry_date: datetime.date,
    sex: str = "F",
    nationality: str = "UTO",
    issuing_country: str = "UTO",
    optional_data: str = "",
    document_type: str = "I",
) -> list[str]:
    """The two lines of a TD2 MRZ (older ID cards, visas, residence permits)."""
    line1 = _field(document_type, 2) + _field(issuing_country, 3)
    line1 += _name_field(surname, given_names, 31)
    line2 = _line2_start(document_number, nationality, birth_date, sex, expiry_date)
    line2 += _field(optional_data, 7)
    composite = line2[0:10] + line2[13:20] + line2[21:35]
    return [line1, line2 + check_digit(composite)]


def td1_lines(
    *,
    surname: str,
    given_names: str,
    document_number: str,
    birth_date: datetime.date,
    expiry_date: datetime.date,
    sex: str = "F",
    nationality: str = "UTO",
    issuing_country: str = "UTO",
    optional_data: str = "",
    document_type: str = "I",
) -> list[str]:
    """The three lines of an ID-card MRZ (document number of at most nine characters)."""
    number = _field(document_number, 9)
    line1 = (
        _field(document_type, 2)
        + _field(issuing_country, 3)
        + number
        + check_digit(number)
        + _field(optional_data, 15)
    )
    birth, expiry = _yymmdd(birth_date), _yymmdd(expiry_date)
    line2 = birth + check_digit(birth) + sex + expiry + check_digit(expiry)
    line2 += _field(nationality, 3) + "<" * 11
    composite = line1[5:30] + line2[0:7] + line2[8:15] + line2[18:29]
    line2 += check_digit(composite)
    return [line1, line2, _name_field(surname, given_names, 30)]


# --- rendering -----------------------------------------------------------------------------------

_INK = (28, 30, 36)
_LABEL_INK = (70, 90, 120)
_PAPER = (236, 240, 230)
_PATTERN = (222, 230, 220)


def _font(size: int) -> ImageFont.FreeTypeFont:
    font = ImageFont.load_default(size=size)
    # Pillow without FreeType falls back to a fixed-size bitmap font; the MRZ needs the real one.
    assert isinstance(font, ImageFont.FreeTypeFont), "Pillow was built without FreeType"
    return font


def _printed_fields(mrz_lines: list[str]) -> list[tuple[str, str]]:
    # The visual zone repeats the MRZ's data, as on a real passport; unparseable MRZ lines (used
    # by tests of bad input) get placeholder values.
    try:
        mrz = parse_mrz("\n".join(mrz_lines))
    except KycInputError:
        return [("Surname", "DOE"), ("Given names", "JANE"), ("Date of birth", "01 JAN 1990")]
    return [
        ("Surname / Nom", mrz.surname),
        ("Given names / Prenoms", mrz.given_names),
        ("Nationality", mrz.nationality),
        ("Date of birth", mrz.birth_date.strftime("%d %b %Y").upper()),
        ("Sex", mrz.sex),
        ("Date of expiry", mrz.expiry_date.strftime("%d %b %Y").upper()),
        ("Document no.", mrz.document_number),
    ]


def _draw_mrz_line(
    draw: ImageDraw.ImageDraw,
    line: str,
    origin: tuple[float, float],
    pitch: float,
    font: ImageFont.FreeTypeFont,
) -> None:
    """One MRZ line in fixed pitch: each character centred in a cell of the same width."""
    left, top = origin
    for column, char in enumerate(line):
        offset = (pitch - font.getlength(char)) / 2
        draw.text((left + column * pitch + offset, top), char, font=font, fill=_INK)


def render_passport(mrz_lines: list[str], *, width: int = 1000) -> bytes:
    """A PNG of a passport data page (or, for three MRZ lines, an ID card): a light hatched
    background, a photo box, printed fields, and the MRZ at the bottom in fixed pitch.

    `width` is the width of a passport page; an ID card is drawn at the same resolution, as a
    scanner would, so its image is 85.6/125 of that.
    """
    columns = max((len(line) for line in mrz_lines), default=44)
    is_card = len(mrz_lines) == 3 or columns == 36
    # Real proportions: the TD3 page is 125 x 88 mm, the TD2 card 105 x 74 mm, the TD1 card
    # 85.6 x 54 mm; on all three the MRZ has a 2.54 mm pitch and spans about 89 % of the width.
    page_mm, page_ratio = {30: (85.6, 54 / 85.6), 36: (105.0, 74 / 105)}.get(
        columns if is_card else 0, (125.0, 88 / 125)
    )
    width = round(width * page_mm / 125)
    height = round(width * page_ratio)
    image = Image.new("RGB", (width, height), _PAPER)
    draw = ImageDraw.Draw(image)
    for x in range(-height, width, max(6, width // 80)):
        draw.line([(x, 0), (x + height, height)], fill=_PATTERN, width=1)

    pitch = width * 0.89 / columns
    mrz_font = _font(round(pitch * 1.35))
    line_height = round(pitch * 2.0)
    mrz_top = height - round(pitch * 1.2) - line_height * len(mrz_lines)

    unit = width / 100
    margin = round(4 * unit)
    title = "IDENTITY CARD" if is_card else "PASSPORT"
    draw.text((margin, round(2.5 * unit)), title, font=_font(round(4 * unit)), fill=_INK)
    # Photo and printed fields share the band between the title and the MRZ.
    band_top, band_bottom = round(9 * unit), mrz_top - round(2 * unit)
    photo = (margin, band_top, margin + round(0.75 * (band_bottom - band_top)), band_bottom)
    draw.rectangle(photo, fill=(205, 210, 215), outline=_LABEL_INK)
    centre_x, photo_width = (photo[0] + photo[2]) / 2, photo[2] - photo[0]
    head_top = band_top + (band_bottom - band_top) * 0.15
    draw.ellipse(
        (
            centre_x - photo_width * 0.25,
            head_top,
            centre_x + photo_width * 0.25,
            head_top + photo_width * 0.65,
        ),
        fill=(170, 175, 185),
    )

    fields = _printed_fields(mrz_lines)
    step = min(5.6 * unit, (band_bottom - band_top) / len(fields))
    label_font, value_font = _font(round(step * 0.3)), _font(round(step * 0.45))
    x, y = photo[2] + round(4 * unit), float(band_top)
    for label, value in fields:
        draw.text((x, y), label, font=label_font, fill=_LABEL_INK)
        draw.text((x, y + step * 0.37), value, font=value_font, fill=_INK)
        y += step

    for row, line in enumerate(mrz_lines):
        _draw_mrz_line(
            draw,
            line,
            ((width - pitch * columns) / 2, mrz_top + row * line_height),
            pitch,
            mrz_font,
        )

    buffer = io.BytesIO()
    image.save(buffer, format="PNG")
    return buffer.getvalue()


def render_photo_without_mrz(*, width: int = 800) -> bytes:
    """A JPEG of a scene with some printed words and shapes but no MRZ (a selfie stand-in)."""
    height = round(width * 0.75)
    image = Image.new("RGB", (width, height), (120, 160, 200))
    draw = ImageDraw.Draw(image)
    draw.ellipse((width // 3, height // 6, 2 * width // 3, 5 * height // 6), fill=(225, 190, 160))
    draw.rectangle((0, 4 * height // 5, width, height), fill=(70, 110, 60))
    draw.text((20, 20), "HOLIDAY 2024", font=_font(width // 20), fill=(255, 255, 255))
    buffer = io.BytesIO()
    image.save(buffer, format="JPEG", quality=90)
    return buffer.getvalue()


def photograph(png: bytes, rng: random.Random, *, width: int = 600) -> bytes:
    """The document as a phone camera would send it: laid on a table at a slight angle (up to
    3 degrees) and in perspective, slightly out of focus, with sensor noise, `width` pixels wide
    and saved as JPEG at quality 50."""
    import numpy as np

    page = Image.open(io.BytesIO(png)).convert("RGB")
    page = page.rotate(
        rng.uniform(-3.0, 3.0),
        resample=Image.Resampling.BICUBIC,
        expand=True,
        fillcolor=(90, 70, 55),
    )
    margin = 0.08
    canvas_w = round(page.width * (1 + 2 * margin))
    canvas_h = round(page.height * (1 + 2 * margin))
    table = Image.new("RGB", (canvas_w, canvas_h), (95, 72, 55))
    grain = ImageDraw.Draw(table)
    for y in range(0, canvas_h, 7):
        shade = 80 + rng.randrange(30)
        grain.line([(0, y), (canvas_w, y + rng.randrange(-9, 9))], fill=(shade, shade - 20, 40))
    table.paste(page, (round(page.width * margin), round(page.height * margin)))

    # Perspective: each corner of the picture moves by up to 4 % of the size.
    def jitter(x: float, y: float) -> tuple[float, float]:
        return (x + rng.uniform(-0.04, 0.04) * canvas_w, y + rng.uniform(-0.04, 0.04) * canvas_h)

    corners = [jitter(0, 0), jitter(canvas_w, 0), jitter(canvas_w, canvas_h), jitter(0, canvas_h)]
    coefficients = _perspective_coefficients(
        [(0, 0), (canvas_w, 0), (canvas_w, canvas_h), (0, canvas_h)], corners
    )
    table = table.transform(
        (canvas_w, canvas_h),
        Image.Transform.PERSPECTIVE,
        coefficients,
        resample=Image.Resampling.BICUBIC,
        fillcolor=(95, 72, 55),
    )
    table = table.resize((width, round(canvas_h * width / canvas_w)), Image.Resampling.LANCZOS)
    table = table.filter(ImageFilter.GaussianBlur(rng.uniform(0.3, 0.9)))
    pixels = np.asarray(table, dtype=np.float32)
    noise = np.random.default_rng(rng.randrange(2**32)).normal(0, 6.0, pixels.shape)
    noisy = Image.fromarray(np.clip(pixels + noise, 0, 255).astype(np.uint8))
    buffer = io.BytesIO()
    noisy.save(buffer, format="JPEG", quality=50)
    return buffer.getvalue()


def _perspective_coefficients(
    target: list[tuple[float, float]], source: list[tuple[float, float]]
) -> list[float]:
    # Pillow maps each output pixel back to the input: solve the 8 coefficients that send the
    # output corners `target` to the input corners `source`.
    import numpy as np

    rows = []
    for (x, y), (u, v) in zip(target, source, strict=True):
        rows.append([x, y, 1, 0, 0, 0, -u * x, -u * y])
        rows.append([0, 0, 0, x, y, 1, -v * x, -v * y])
    solution = np.linalg.solve(np.array(rows), np.array([c for point in source for c in point]))
    return [float(c) for c in solution]


# --- random documents ----------------------------------------------------------------------------

_SURNAMES = (
    "KIM",
    "LI",
    "NG",
    "SMITH",
    "MUELLER",
    "PETROV",
    "OKONKWO",
    "GARCIA",
    "NAKAMURA",
    "IVANOVA",
    "VAN DER BERG",
    "O BRIEN",
    "KOWALSKA",
    "HAJIYEV",
    "FITZGERALD",
    "PAPADOPOULOU",
    "ABDULRAHMAN AL QASIMI",
    "WOLFESCHLEGELSTEINHAUSEN",
    "SZCZEPANSKA KRZYZANOWSKA",
    "DE LA CRUZ MONTENEGRO",
    "XU",
    "ZHOU",
    "QUINTERO",
    "JOVANOVIC",
    "BJORKLUND",
)
_GIVEN_NAMES = (
    "ANNA",
    "JOHN",
    "MARIA",
    "IVAN",
    "YUKI",
    "CHIDI",
    "LUIS",
    "EMMA",
    "OLIVER",
    "SOFIA",
    "JEAN PIERRE",
    "ANNA MARIA",
    "MOHAMMED ALI",
    "KATARZYNA",
    "XAVIER",
    "ZOE",
    "QUENTIN",
    "ALEKSANDR",
    "BARTHOLOMEW JAMES",
    "MARIE CLAIRE ELISABETH",
    "WU",
    "IGOR",
    "HUGO",
)
_COUNTRIES = (
    "UTO",
    "GBR",
    "DEU",
    "FRA",
    "CYP",
    "POL",
    "UKR",
    "NGA",
    "JPN",
    "CHN",
    "USA",
    "ZAF",
    "ARE",
    "IND",
    "BRA",
    "MEX",
    "KAZ",
    "AZE",
    "GRC",
    "IRL",
    "NLD",
    "SWE",
    "ESP",
    "ITA",
    "D",
    "XXA",
)
_NUMBER_CHARS = "ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789"


def random_document(
    rng: random.Random, *, kind: str | None = None, base: datetime.date | None = None
) -> tuple[str, list[str]]:
    """A random document's format ("TD3", "TD2", "TD1") and MRZ lines: names from several
    cultures (some too long for the name field, which is then cut as the issuer would), a
    document number of 5 to 9 letters and digits, any nationality, a birth date between 1935
    and 2008, an expiry date within ten years around `base` (a fixed date, never today)."""
    kind = kind or rng.choice(("TD3", "TD3", "TD2", "TD1"))
    base = base or datetime.date(2026, 1, 1)
    surname = rng.choice(_SURNAMES)
    given = " ".join(rng.sample(_GIVEN_NAMES, rng.choice((1, 1, 2))))
    number = "".join(rng.choice(_NUMBER_CHARS) for _ in range(rng.randint(5, 9)))
    fields = {
        "surname": surname,
        "given_names": given,
        "document_number": number,
        "birth_date": datetime.date(1935, 1, 1) + datetime.timedelta(days=rng.randrange(26_000)),
        "expiry_date": base + datetime.timedelta(days=rng.randrange(-1_826, 1_826)),
        "sex": rng.choice("MFFMX"),
        "nationality": rng.choice(_COUNTRIES),
        "issuing_country": rng.choice(_COUNTRIES),
    }
    if fields["sex"] == "X":
        fields["sex"] = "<"
    name_room = {"TD3": 39, "TD2": 31, "TD1": 30}[kind]
    name = _name_field(surname, given, 200)[:name_room]
    fields["surname"], _, rest = name.partition("<<")
    fields["given_names"] = rest.rstrip("<").replace("<", " ")
    if kind == "TD3":
        extra = rng.choice(("", "", "".join(rng.choice(_NUMBER_CHARS) for _ in range(8))))
        return kind, td3_lines(**fields, personal_number=extra)
    extra = rng.choice(("", "", "".join(rng.choice(_NUMBER_CHARS) for _ in range(6))))
    make = td2_lines if kind == "TD2" else td1_lines
    return kind, make(**fields, optional_data=extra)


# --- fixtures the local reader reads -------------------------------------------------------------

_READABLE: dict[tuple[str, ...], bool] = {}


def readable_passport(
    lines_for: Callable[[datetime.date], list[str]],
    expiry: datetime.date,
    *,
    step: int = 1,
    tries: int = 40,
) -> tuple[bytes, datetime.date]:
    """A rendered passport for a workflow test, and its expiry date: `expiry`, or the first day
    after it (before it, with a negative `step`) whose passport the local reader reads exactly.

    The reader refuses some renderings it cannot confirm (its rate is measured by
    `make bench-mrz`, not here); a workflow test needs a document that reads, whatever date the
    clock shows, so that it passes or fails by the workflow alone.
    """
    from kyc.mrz import MrzError
    from kyc.ocr import read_mrz

    for offset in range(tries):
        day = expiry + datetime.timedelta(days=offset * step)
        lines = lines_for(day)
        png = render_passport(lines)
        key = tuple(lines)
        if key not in _READABLE:
            try:
                _READABLE[key] = list(read_mrz(png).lines) == lines
            except MrzError:
                _READABLE[key] = False
        if _READABLE[key]:
            return png, day
    raise AssertionError(f"no passport between {expiry} and {day} reads: is the reader broken?")
