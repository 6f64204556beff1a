from django.apps import AppConfig


class AuditConfig(AppConfig):
    name = "audit"
    verbose_name = "Audit log"

    def ready(self) -> None:
        from brokercrm.backoffice.registry import contributions_register

        contributions_register(self.name)
        from brokercrm import auditing

        from .services import audit_record

        auditing.recorder_register(audit_record)
