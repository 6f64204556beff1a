"""The payer's browser on the simulator's hosted payment pages: what a person does there (open
the page, type the card, type the one-time code), for the tests and the demo's client journey.
Plain HTTP with no redirect followed, so every step's answer can be looked at."""

from __future__ import annotations

import http.client
import urllib.parse

from .checkout import TEST_OTP


def browser(url: str, form: dict[str, str] | None = None) -> tuple[int, str, str]:
    """One request of the payer's browser: status, Location, body (no redirect followed)."""
    parts = urllib.parse.urlsplit(url)
    connection = http.client.HTTPConnection(parts.netloc, timeout=10)
    path = parts.path + (f"?{parts.query}" if parts.query else "")
    try:
        if form is None:
            connection.request("GET", path)
        else:
            connection.request(
                "POST",
                path,
                body=urllib.parse.urlencode(form),
                headers={"Content-Type": "application/x-www-form-urlencoded"},
            )
        response = connection.getresponse()
        body = response.read().decode()
    finally:
        connection.close()
    return response.status, response.getheader("Location") or "", body


class PageRefused(Exception):
    """The hosted page did not take the payer's step as a page that works would."""


def pay(redirect_url: str, *, card: str, code: str = TEST_OTP) -> str:
    """The payer types the card, then the code; returns where the PSP sends them back to."""
    origin = "{0.scheme}://{0.netloc}".format(urllib.parse.urlsplit(redirect_url))
    status, _, page = browser(redirect_url)
    if status != 200 or "card_number" not in page:
        raise PageRefused(f"the card form answered {status}")
    status, location, _ = browser(redirect_url, {"card_number": card, "expiry": "12/30"})
    if (status, location) != (303, urllib.parse.urlsplit(redirect_url).path + "/3ds"):
        raise PageRefused(f"the card was not taken ({status})")
    status, _, page = browser(origin + location)
    if status != 200 or "one-time code" not in page:
        raise PageRefused(f"the code form answered {status}")
    status, back, _ = browser(origin + location, {"code": code})
    if status != 303:
        raise PageRefused(f"the code step answered {status}")
    return back
