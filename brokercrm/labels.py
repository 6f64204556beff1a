"""How a row names itself to people (its `__str__`): plain words from the row's own fields,
and a related row's name only when the query that loaded the row already brought it along
(`select_related`), so a list of a hundred rows never costs a hundred more queries."""

from __future__ import annotations

from typing import Any

from django.db import models

from brokercrm.backoffice.templatetags.backoffice import money_text


def loaded(obj: models.Model, field: str) -> Any:
    """The related row behind `field` if it is already in memory, else None."""
    descriptor = getattr(type(obj), field)
    return getattr(obj, field) if descriptor.is_cached(obj) else None


def person_name(obj: models.Model, field: str = "profile") -> str:
    """The client's name when the profile came with the row, else the profile's number."""
    profile = loaded(obj, field)
    if profile is not None:
        return f"{profile.given_name} {profile.family_name}".strip()
    profile_id = getattr(obj, f"{field}_id", None)
    return f"client profile #{profile_id}" if profile_id else "no client"


def number(obj: models.Model) -> str:
    """`#12`, or `(new)` before the row is saved."""
    return f"#{obj.pk}" if obj.pk else "(new)"


def amount_label(amount: Any, currency: str) -> str:
    """`1,234.50 EUR`: the back office's rounding to minor units, the same on every page."""
    return money_text(amount, currency)
