"""What the staff admin base records in the audit log.

Every row saved or deleted through the admin is recorded as `admin.<app_label>.<model>.<verb>`:
the model comes from the admin that saved it, so the actions are built, not listed.
"""

from __future__ import annotations

from typing import Literal

AdminVerb = Literal["created", "changed", "deleted"]
ADMIN_VERBS: tuple[AdminVerb, ...] = ("created", "changed", "deleted")


def admin_row(model_label: str, verb: AdminVerb) -> str:
    """`admin.kyc.kycfile.changed` for `admin_row("kyc.kycfile", "changed")`."""
    if verb not in ADMIN_VERBS:
        raise ValueError(f"Not an admin verb: {verb!r}.")
    return f"admin.{model_label}.{verb}"
