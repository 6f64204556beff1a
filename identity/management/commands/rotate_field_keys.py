"""Re-encrypt every EncryptedTextField value under the newest FIELD_ENCRYPTION_KEY.

Run after putting a new key first in FIELD_ENCRYPTION_KEY; once it reports 0 rows to rotate
and no unreadable rows, the older keys can be removed. Safe to interrupt and run again: rows
already under the newest key are left alone, so a second run rotates nothing.
"""

from __future__ import annotations

import argparse
from dataclasses import dataclass, field
from typing import Any

from django.apps import apps
from django.core.management.base import BaseCommand, CommandError, CommandParser
from django.db import models, transaction
from django.db.models import ExpressionWrapper, F

from brokercrm.scoping import system_access
from identity import crypto
from identity.fields import CipherText, EncryptedTextField

# Unreadable rows listed one by one on stderr; beyond this only the count is given.
_UNREADABLE_LISTED = 20


@dataclass
class _ModelReport:
    label: str
    field_names: list[str]
    checked: int = 0
    rotated: int = 0
    unreadable: list[tuple[Any, str]] = field(default_factory=list)


def encrypted_fields_by_model() -> list[tuple[type[models.Model], list[EncryptedTextField]]]:
    """Every concrete model with at least one EncryptedTextField column of its own."""
    found: list[tuple[type[models.Model], list[EncryptedTextField]]] = []
    for model in apps.get_models():
        # A proxy shares its table with the concrete model, which is visited anyway.
        if model._meta.proxy:
            continue
        # local_concrete_fields: columns in this model's own table. A multi-table child also
        # lists its parent's fields, which the parent's own pass rotates.
        encrypted = [
            f for f in model._meta.local_concrete_fields if isinstance(f, EncryptedTextField)
        ]
        if encrypted:
            found.append((model, encrypted))
    return sorted(found, key=lambda item: item[0]._meta.label)


def _positive_int(text: str) -> int:
    try:
        number = int(text)
    except ValueError as exc:
        raise argparse.ArgumentTypeError(f"{text!r} is not a whole number") from exc
    if number < 1:
        raise argparse.ArgumentTypeError("must be at least 1")
    return number


class Command(BaseCommand):
    help = (
        "Re-encrypt every encrypted field value that is not under the newest key in "
        "FIELD_ENCRYPTION_KEY, in batches, one transaction per batch. Idempotent."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument(
            "--batch-size",
            type=_positive_int,
            default=1000,
            help="Rows locked and rotated per transaction (default 1000).",
        )
        parser.add_argument(
            "--dry-run",
            action="store_true",
            help="Count the rows that would be rotated; write nothing and lock nothing.",
        )

    def handle(self, *args: Any, **options: Any) -> None:
        batch_size: int = options["batch_size"]
        dry_run: bool = options["dry_run"]
        try:
            crypto.validate_keys()
        except crypto.KeyConfigurationError as exc:
            raise CommandError(str(exc)) from exc

        reports: list[_ModelReport] = []
        # _base_manager is a plain manager already; this also covers a model whose
        # Meta.base_manager_name points at a scoped manager. Rotation acts for the system.
        with system_access("rotate_field_keys"):
            for model, fields in encrypted_fields_by_model():
                report = self._rotate_model(model, fields, batch_size=batch_size, dry=dry_run)
                reports.append(report)
                verb = "would rotate" if dry_run else "rotated"
                self.stdout.write(
                    f"{report.label} ({', '.join(report.field_names)}): "
                    f"{report.checked} rows checked, {report.rotated} {verb}"
                )

        unreadable = [(r.label, pk, name) for r in reports for pk, name in r.unreadable]
        for label, pk, name in unreadable[:_UNREADABLE_LISTED]:
            self.stderr.write(f"unreadable: {label} pk={pk} field {name}")

        checked = sum(r.checked for r in reports)
        rotated = sum(r.rotated for r in reports)
        self.stdout.write(
            f"rotate_field_keys{' (dry run, nothing written)' if dry_run else ''}: "
            f"{len(reports)} models, {checked} rows checked, {rotated} rows "
            f"{'to rotate' if dry_run else 'rotated'}, {len(unreadable)} unreadable values"
        )
        if unreadable:
            # Everything readable has been rotated; the rest needs a person, and the older
            # keys must stay until it is resolved.
            raise CommandError(
                f"{len(unreadable)} value(s) could not be decrypted with any key in "
                "FIELD_ENCRYPTION_KEY (listed above). Do not remove any key until they are "
                "repaired or the key that wrote them is added back."
            )

    def _rotate_model(
        self,
        model: type[models.Model],
        fields: list[EncryptedTextField],
        *,
        batch_size: int,
        dry: bool,
    ) -> _ModelReport:
        report = _ModelReport(label=model._meta.label, field_names=[f.name for f in fields])
        manager = model._base_manager
        # Read the raw column: a plain TextField output has no from_db_value, so the token
        # arrives as stored instead of being decrypted by EncryptedTextField.
        raw_columns = [
            ExpressionWrapper(F(f.attname), output_field=models.TextField()) for f in fields
        ]
        last_pk: Any = None
        while True:
            # One short transaction per batch: locks are held for one batch only, and an
            # interrupted run keeps what it committed.
            with transaction.atomic(using=manager.db, durable=True):
                batch = manager.order_by("pk")
                if last_pk is not None:
                    batch = batch.filter(pk__gt=last_pk)
                if not dry:
                    # Nobody may rewrite a row between reading its token and writing the
                    # rotated one, or their new value would be overwritten.
                    batch = batch.select_for_update()
                rows = list(batch.values_list("pk", *raw_columns)[:batch_size])
                for pk, *tokens in rows:
                    changes = self._rotated_tokens(report, pk, fields, tokens)
                    if not changes:
                        continue
                    report.rotated += 1
                    if not dry:
                        # CipherText goes through get_prep_value unchanged: the token is
                        # written as rotated, not encrypted again.
                        manager.filter(pk=pk).update(**changes)
            report.checked += len(rows)
            if len(rows) < batch_size:
                return report
            last_pk = rows[-1][0]

    @staticmethod
    def _rotated_tokens(
        report: _ModelReport, pk: Any, fields: list[EncryptedTextField], tokens: list[str | None]
    ) -> dict[str, CipherText]:
        changes: dict[str, CipherText] = {}
        for field_, token in zip(fields, tokens, strict=True):
            if token is None:
                continue
            try:
                if crypto.needs_rotation(token):
                    changes[field_.name] = CipherText(crypto.rotate(token))
            except crypto.DecryptionError:
                report.unreadable.append((pk, field_.name))
        return changes
