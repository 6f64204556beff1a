"""The hosted payment pages a payer's browser sees: plain HTML, no scripts, no outside assets.

    GET  /pay/{checkout_id}        the card form (amount, merchant, test cards listed)
    POST /pay/{checkout_id}        card_number (+ expiry, cvc, holder: shown, not checked)
                                   → 303 to the code step; a bad number shows the form again
    GET  /pay/{checkout_id}/3ds    the one-time code form (the test code is printed on it)
    POST /pay/{checkout_id}/3ds    code → the payment is made → 303 back to return_url
                                   with ?reference=…&checkout=…&status=approved|declined

A completed checkout answers every page with the redirect back (a reload makes nothing new);
an expired one answers 410 with the way back to the merchant (`status=expired`).
"""

from __future__ import annotations

import html
from typing import Any

from brokercrm.simulators import HttpError, JsonApp, Request

from .checkout import TEST_OTP, Checkout, parse_form
from .instruments import APPROVED, CARD_OUTCOMES, TIMEOUT
from .transactions import format_amount

_STYLE = (
    "body{font-family:system-ui,sans-serif;max-width:28rem;margin:2rem auto;padding:0 1rem;"
    "color:#1b1b1b}label{display:block;margin:.8rem 0 .2rem}input{width:100%;padding:.5rem;"
    "font-size:1rem;box-sizing:border-box}button{margin-top:1.2rem;padding:.6rem 1.2rem;"
    "font-size:1rem}.error{color:#a00000}.note{color:#555;font-size:.9rem}"
    "table{border-collapse:collapse;font-size:.85rem}td{padding:.1rem .6rem .1rem 0}"
)
HTML = {"Content-Type": "text/html; charset=utf-8", "Cache-Control": "no-store"}


def _page(title: str, body: str, status: int = 200) -> tuple[int, str, dict[str, str]]:
    document = (
        "<!doctype html><html lang='en'><head><meta charset='utf-8'>"
        "<meta name='viewport' content='width=device-width, initial-scale=1'>"
        f"<title>{html.escape(title)}</title><style>{_STYLE}</style></head>"
        f"<body><h1>{html.escape(title)}</h1>{body}</body></html>"
    )
    return status, document, dict(HTML)


def _redirect(location: str) -> tuple[int, str, dict[str, str]]:
    return 303, "", {"Location": location, "Content-Type": "text/plain; charset=utf-8"}


def _summary(checkout: Checkout) -> str:
    amount = f"{format_amount(checkout.amount, checkout.currency)} {checkout.currency}"
    return (
        f"<p>Pay <strong>{html.escape(amount)}</strong> to merchant "
        f"<strong>{html.escape(checkout.merchant_account)}</strong> "
        f"(reference {html.escape(checkout.reference)}).</p>"
    )


def card_form(checkout: Checkout, error: str = "") -> tuple[int, str, dict[str, str]]:
    cards = "".join(
        f"<tr><td><code>{number}</code></td>"
        f"<td>{html.escape(APPROVED if outcome == TIMEOUT else outcome)}</td></tr>"
        for number, outcome in CARD_OUTCOMES.items()
    )
    body = (
        _summary(checkout)
        + (f"<p class='error' role='alert'>{html.escape(error)}</p>" if error else "")
        + f"<form method='post' action='/pay/{html.escape(checkout.checkout_id)}'>"
        "<label for='card_number'>Card number</label>"
        "<input id='card_number' name='card_number' inputmode='numeric' "
        "autocomplete='cc-number' required>"
        "<label for='expiry'>Expiry (MM/YY)</label>"
        "<input id='expiry' name='expiry' autocomplete='cc-exp' placeholder='12/30'>"
        "<label for='cvc'>Security code</label>"
        "<input id='cvc' name='cvc' autocomplete='cc-csc' inputmode='numeric'>"
        "<label for='holder'>Name on the card</label>"
        "<input id='holder' name='holder' autocomplete='cc-name'>"
        "<button type='submit'>Continue</button></form>"
        "<p class='note'>This is a simulated payment page. Test cards:</p>"
        f"<table>{cards}</table>"
    )
    return _page("Card payment", body, 422 if error else 200)


def code_form(checkout: Checkout) -> tuple[int, str, dict[str, str]]:
    body = (
        _summary(checkout)
        + "<p>Your bank asks you to confirm this payment with the one-time code it sent you.</p>"
        f"<form method='post' action='/pay/{html.escape(checkout.checkout_id)}/3ds'>"
        "<label for='code'>One-time code</label>"
        "<input id='code' name='code' inputmode='numeric' autocomplete='one-time-code' required>"
        "<button type='submit'>Confirm</button></form>"
        f"<p class='note'>Simulated 3-D Secure: the code {TEST_OTP} succeeds, any other code "
        "fails the payment (authentication_failed).</p>"
    )
    return _page("Confirm the payment", body)


def _expiring(handler: Any) -> Any:
    """An expired checkout answers every page with the expiry page (410)."""

    def page(request: Request) -> Any:
        try:
            return handler(request)
        except _Expired as expired:
            return expired_page(expired.checkout)

    return page


def add_routes(app: JsonApp, simulator: Any) -> None:
    @app.route("GET", "/pay/{checkout_id}")
    @_expiring
    def pay_page(request: Request) -> Any:
        checkout = _found(simulator, request)
        if checkout.status == "completed":
            return _redirect(checkout.back_to_merchant())
        if checkout.status == "authenticating":
            return _redirect(f"/pay/{checkout.checkout_id}/3ds")
        return card_form(checkout)

    @app.route("POST", "/pay/{checkout_id}")
    @_expiring
    def pay_card(request: Request) -> Any:
        checkout = _found(simulator, request)
        form = parse_form(request.raw_body)
        try:
            checkout = simulator.checkout_card(checkout.checkout_id, form.get("card_number", ""))
        except HttpError as exc:
            return card_form(checkout, exc.detail)
        if checkout.status == "completed":
            return _redirect(checkout.back_to_merchant())
        return _redirect(f"/pay/{checkout.checkout_id}/3ds")

    @app.route("GET", "/pay/{checkout_id}/3ds")
    @_expiring
    def code_page(request: Request) -> Any:
        checkout = _found(simulator, request)
        if checkout.status == "completed":
            return _redirect(checkout.back_to_merchant())
        if checkout.status == "open":
            return _redirect(f"/pay/{checkout.checkout_id}")
        return code_form(checkout)

    @app.route("POST", "/pay/{checkout_id}/3ds")
    @_expiring
    def code_post(request: Request) -> Any:
        checkout = _found(simulator, request)
        if checkout.status == "open":
            return _redirect(f"/pay/{checkout.checkout_id}")
        form = parse_form(request.raw_body)
        checkout = simulator.checkout_authenticate(checkout.checkout_id, form.get("code", ""))
        return _redirect(checkout.back_to_merchant())


class _Expired(Exception):
    def __init__(self, checkout: Checkout) -> None:
        self.checkout = checkout


def expired_page(checkout: Checkout) -> tuple[int, str, dict[str, str]]:
    back = html.escape(checkout.back_to_merchant())
    return _page(
        "This payment page has expired",
        _summary(checkout)
        + "<p>Nothing was charged. Start the payment again from the merchant's site.</p>"
        + f"<p><a href='{back}'>Back to the merchant</a></p>",
        status=410,
    )


def _found(simulator: Any, request: Request) -> Checkout:
    try:
        checkout = simulator.checkout(request.params["checkout_id"])
    except HttpError:
        raise HttpError(404, "checkout_not_found", "This payment page does not exist.") from None
    if checkout.expired:
        raise _Expired(checkout)
    return checkout
