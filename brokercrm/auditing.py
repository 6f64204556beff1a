"""The kernel's door to the audit log.

The kernel (the admin base, staff grants, the event outbox) records what staff do, but the audit
log is an app above it. The audit app registers its recorder here when it starts
(`AuditConfig.ready`), so kernel code records through `audit(...)` without importing the app.
Apps call `audit.services.audit_record` directly; the arguments are the same.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from django.core.exceptions import ImproperlyConfigured

_recorder: Callable[..., Any] | None = None


def recorder_register(recorder: Callable[..., Any]) -> None:
    global _recorder
    _recorder = recorder


def audit(**fields: Any) -> Any:
    """Append one audit event in the caller's transaction (see `audit_record`)."""
    if _recorder is None:
        raise ImproperlyConfigured("No audit recorder: the audit app must be installed.")
    return _recorder(**fields)
