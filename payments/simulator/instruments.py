"""Decline codes, the magic test instruments, and the checks a PSP makes on an instrument.

The tables are the simulator's contract with tests: see the package docstring for the same table
in prose. An outcome is "approved", a decline code, or TIMEOUT (applied as approved, never
answered).
"""

from __future__ import annotations

import re
from typing import Any

from brokercrm.simulators import HttpError

SOFT_DECLINES: frozenset[str] = frozenset(
    {"insufficient_funds", "do_not_honour", "issuer_unavailable", "timeout"}
)
HARD_DECLINES: frozenset[str] = frozenset(
    {"stolen_card", "invalid_account", "closed_account", "authentication_failed"}
)
DECLINE_CODES: frozenset[str] = SOFT_DECLINES | HARD_DECLINES

APPROVED = "approved"
DECLINED = "declined"
PENDING = "pending"
# As an outcome (not a decline code): the PSP applies the transaction as approved and drops the
# connection, so the client sees a timeout and has to ask for the transaction by reference.
TIMEOUT = "timeout"

# Card numbers with a fixed outcome, in the style of real PSP sandboxes. All pass the Luhn check
# so that our own validation upstream of the PSP lets them through.
CARD_OUTCOMES: dict[str, str] = {
    "4242424242424242": APPROVED,
    "4000000000000002": "do_not_honour",
    "4000000000000010": "insufficient_funds",
    "4000000000000028": "stolen_card",
    "4000000000000036": "issuer_unavailable",
    "4000000000000044": TIMEOUT,
    "4000000000000051": "invalid_account",
    "4000000000000069": "closed_account",
}

# IBANs with a fixed outcome (bank payouts and bank-account payments). All have valid mod-97
# check digits, for the same reason as the cards.
IBAN_OUTCOMES: dict[str, str] = {
    "DE89370400440532013000": APPROVED,
    "DE09000000000000000001": "closed_account",
    "DE79000000000000000002": "invalid_account",
    "DE52000000000000000003": "issuer_unavailable",
    "DE25000000000000000004": TIMEOUT,
}

_IBAN_SHAPE = re.compile(r"^[A-Z]{2}[0-9]{2}[A-Z0-9]{11,30}$")


def decline_category(code: str | None) -> str | None:
    if code is None:
        return None
    return "hard" if code in HARD_DECLINES else "soft"


def luhn_valid(number: str) -> bool:
    total = 0
    for index, char in enumerate(reversed(number)):
        digit = int(char)
        if index % 2:
            digit = digit * 2 - 9 if digit > 4 else digit * 2
        total += digit
    return total % 10 == 0


def normalise_iban(value: str) -> str:
    return value.replace(" ", "").upper()


def iban_valid(iban: str) -> bool:
    if not _IBAN_SHAPE.match(iban):
        return False
    rearranged = iban[4:] + iban[:4]
    return int("".join(str(int(char, 36)) for char in rearranged)) % 97 == 1


def _invalid(detail: str) -> HttpError:
    return HttpError(422, "invalid_instrument", detail)


def check_instrument(method: str, instrument: Any) -> dict[str, Any]:
    """Validate the instrument for `method`; returns it with the IBAN normalised.

    A card method needs a card number and a bank wire an IBAN; a local method may carry
    anything, but a card number or IBAN it does carry is checked (and forced outcomes apply)."""
    if not isinstance(instrument, dict):
        raise _invalid("instrument must be an object.")
    cleaned = dict(instrument)
    # A refund names the original payment instead of the card: PSPs keep the card, we do not.
    if method == "card" and not ({"card_number", "original_psp_transaction_id"} & set(cleaned)):
        raise _invalid("A card payment needs instrument.card_number.")
    if method == "bank_wire" and "iban" not in cleaned:
        raise _invalid("A bank wire needs instrument.iban.")
    if "card_number" in cleaned:
        number = cleaned["card_number"]
        if not (
            isinstance(number, str)
            and number.isascii()
            and number.isdigit()
            and 12 <= len(number) <= 19
            and luhn_valid(number)
        ):
            raise _invalid("instrument.card_number is not a valid card number.")
    if "iban" in cleaned:
        if not isinstance(cleaned["iban"], str) or not iban_valid(normalise_iban(cleaned["iban"])):
            raise _invalid("instrument.iban is not a valid IBAN.")
        cleaned["iban"] = normalise_iban(cleaned["iban"])
    return cleaned


def forced_outcome(instrument: dict[str, Any]) -> str | None:
    """The fixed outcome of a magic test instrument, or None when chance decides."""
    if "card_number" in instrument:
        return CARD_OUTCOMES.get(instrument["card_number"])
    if "iban" in instrument:
        return IBAN_OUTCOMES.get(instrument["iban"])
    return None
