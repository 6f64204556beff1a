"""QR codes drawn as inline SVG (segno), readable by a phone camera: the authenticator app's
set-up address, an IB's referral link. No image library, no inline style."""

from __future__ import annotations

import segno
from django.utils.safestring import SafeString, mark_safe


def qr_svg(text: str, *, scale: int = 4) -> SafeString:
    # segno writes the SVG from the text's modules only; nothing of the text goes in as markup.
    return mark_safe(  # noqa: S308
        segno.make(text, error="m").svg_inline(scale=scale, svgclass="qr", lineclass=None)
    )
