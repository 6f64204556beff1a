"""Field helpers the IB models share: money precision, the unindexed references of commission
lines, and the epoch a programme's first period starts at."""

from __future__ import annotations

import datetime as dt
from typing import Any

from django.db import models

from brokercrm.money import MONEY

__all__ = ["MONEY", "_epoch", "_named"]


def _named(
    to: Any, *, null: bool = False, on_delete: Any = models.PROTECT, related_name: str = "+"
) -> Any:
    """A reference from a commission line, which the batch writes by the million: not
    indexed and not checked row by row (see CommissionLine)."""
    return models.ForeignKey(
        to,
        on_delete=on_delete,
        null=null,
        blank=null,
        related_name=related_name,
        db_index=False,
        db_constraint=False,
    )


def _epoch() -> dt.datetime:
    return dt.datetime(1970, 1, 1, tzinfo=dt.UTC)
