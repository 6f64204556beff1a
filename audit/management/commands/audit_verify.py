from django.core.management.base import BaseCommand, CommandError

from audit.selectors import audit_chain_verify


class Command(BaseCommand):
    help = "Walk the audit hash chain and report the first broken link (exit status 1 if any)."

    def handle(self, *args: object, **options: object) -> None:
        report = audit_chain_verify()
        if report.ok:
            self.stdout.write(
                self.style.SUCCESS(
                    f"audit chain intact: {report.rows_checked} rows; "
                    f"head seq {report.head_seq} hash {report.head_hash}"
                )
            )
            return
        brk = report.first_break
        raise CommandError(
            f"audit chain broken at seq {brk.seq} (event id {brk.event_id}): {brk.problem}. "
            f"Rows before it are intact up to seq {report.head_seq}."
        )
