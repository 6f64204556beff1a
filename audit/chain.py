"""The hash chain: canonical serialisation of an audit row and the walk that checks it."""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

GENESIS_HASH = "0" * 64


def canonical_payload(
    *,
    seq: int,
    created_at: datetime,
    actor_id: int | None,
    actor_label: str,
    action: str,
    entity_id: int | None,
    object_type: str,
    object_id: str,
    before: Any,
    after: Any,
    reason: str,
    request_id: str,
    ip: str | None,
    prev_hash: str,
    person_id: int | None = None,
) -> bytes:
    """Stable bytes for a row: sorted keys, no whitespace, UTC timestamp to the microsecond.

    `before`/`after` are already JSON-native (see masking.to_jsonable), so what PostgreSQL's
    jsonb hands back serialises to the same bytes as what was written.
    """
    document = {
        "seq": seq,
        "created_at": created_at.astimezone(UTC).isoformat(timespec="microseconds"),
        "actor_id": actor_id,
        "actor_label": actor_label,
        "action": action,
        "entity_id": entity_id,
        "object_type": object_type,
        "object_id": object_id,
        "before": before,
        "after": after,
        "reason": reason,
        "request_id": request_id,
        "ip": ip,
        "prev_hash": prev_hash,
    }
    # Rows written before the client a row concerns was recorded hash without the key, as
    # they always did; a row about a person binds that person into its hash.
    if person_id is not None:
        document["person_id"] = person_id
    return json.dumps(document, sort_keys=True, separators=(",", ":"), ensure_ascii=False).encode()


def row_hash(**fields: Any) -> str:
    return hashlib.sha256(canonical_payload(**fields)).hexdigest()


@dataclass(frozen=True)
class ChainBreak:
    seq: int
    event_id: int
    problem: str


@dataclass(frozen=True)
class ChainReport:
    rows_checked: int
    head_seq: int
    head_hash: str
    first_break: ChainBreak | None

    @property
    def ok(self) -> bool:
        return self.first_break is None


def verify_rows(rows: Iterable[Any]) -> ChainReport:
    """Walk rows in seq order; report the first row that does not follow from the one before."""
    expected_seq = 1
    expected_prev = GENESIS_HASH
    checked = 0
    for row in rows:
        checked += 1
        if row.seq != expected_seq:
            problem = (
                f"row(s) missing: expected seq {expected_seq}, found {row.seq}"
                if row.seq > expected_seq
                else f"out of order: seq {row.seq} appears after seq {expected_seq - 1}"
            )
            return ChainReport(
                checked, expected_seq - 1, expected_prev, ChainBreak(row.seq, row.pk, problem)
            )
        if row.prev_hash != expected_prev:
            return ChainReport(
                checked,
                expected_seq - 1,
                expected_prev,
                ChainBreak(
                    row.seq, row.pk, "link broken: prev_hash is not the previous row's hash"
                ),
            )
        recomputed = row_hash(
            seq=row.seq,
            created_at=row.created_at,
            actor_id=row.actor_id,
            actor_label=row.actor_label,
            action=row.action,
            entity_id=row.entity_id,
            object_type=row.object_type,
            object_id=row.object_id,
            before=row.before,
            after=row.after,
            reason=row.reason,
            person_id=row.person_id,
            request_id=row.request_id,
            ip=row.ip,
            prev_hash=row.prev_hash,
        )
        if recomputed != row.hash:
            return ChainReport(
                checked,
                expected_seq - 1,
                expected_prev,
                ChainBreak(
                    row.seq, row.pk, "content altered: the stored hash does not match the row"
                ),
            )
        expected_prev = row.hash
        expected_seq += 1
    return ChainReport(checked, expected_seq - 1, expected_prev, None)
