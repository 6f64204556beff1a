from django.apps import AppConfig


class PaymentsConfig(AppConfig):
    name = "payments"
    verbose_name = "Payments"

    def ready(self) -> None:
        from brokercrm.backoffice.registry import contributions_register

        contributions_register(self.name)
        from . import notifications

        notifications.connect()
