"""The two tiers of functions that write.

- A **use case** (a public service that acts for someone) owns its transaction: it opens
  `transaction.atomic(durable=True)` at the top, so nothing can wrap it in a larger transaction
  by accident, and it may be retried as a whole (`with_retries`).
- A **step** (writing an audit row, posting a journal inside a withdrawal) runs inside the use
  case's transaction and says so with `in_transaction()`: called on its own it fails loudly
  instead of committing half of a change.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from functools import wraps
from typing import ParamSpec, TypeVar

from django.db import OperationalError, connection, transaction

RETRYABLE_SQLSTATES = {"40001", "40P01"}  # serialization failure, deadlock detected

P = ParamSpec("P")
R = TypeVar("R")


class StepOutsideTransaction(RuntimeError):
    pass


def in_transaction(what: str) -> None:
    """Assert that the caller is inside a transaction (a step of a use case)."""
    if not transaction.get_connection().in_atomic_block:
        raise StepOutsideTransaction(f"{what} runs inside the transaction of the change.")


def with_retries(attempts: int = 5) -> Callable[[Callable[P, R]], Callable[P, R]]:
    """Run a durable transaction again on deadlock or serialization failure."""

    def decorator(func: Callable[P, R]) -> Callable[P, R]:
        @wraps(func)
        def wrapper(*args: P.args, **kwargs: P.kwargs) -> R:
            if connection.in_atomic_block:
                # Inside a caller's transaction a failure aborts that transaction: only the
                # caller can run it again.
                return func(*args, **kwargs)
            for attempt in range(attempts):
                try:
                    return func(*args, **kwargs)
                except OperationalError as exc:
                    sqlstate = getattr(exc.__cause__, "sqlstate", None)
                    if sqlstate not in RETRYABLE_SQLSTATES or attempt == attempts - 1:
                        raise
                    time.sleep(0.005 * 2**attempt)
            raise AssertionError("unreachable")

        return wrapper

    return decorator
