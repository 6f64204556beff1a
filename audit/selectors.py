from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from django.db.models import QuerySet

from brokercrm.scoping import scope_for

from .chain import ChainReport, verify_rows
from .models import AuditEvent


def audit_events_visible_to(user: Any) -> QuerySet[AuditEvent]:
    return AuditEvent.objects.filter(scope_for(user, "audit.view_auditevent").q(AuditEvent))


def audit_events_for_object(user: Any, obj: Any) -> QuerySet[AuditEvent]:
    return audit_events_visible_to(user).filter(object_type=obj._meta.label, object_id=str(obj.pk))


def _chain_rows(chunk_size: int = 5000) -> Iterator[AuditEvent]:
    return AuditEvent.objects.order_by("seq").iterator(chunk_size=chunk_size)


def audit_chain_verify() -> ChainReport:
    return verify_rows(_chain_rows())
