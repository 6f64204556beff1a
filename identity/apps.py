from django.apps import AppConfig


class IdentityConfig(AppConfig):
    name = "identity"
    verbose_name = "Identity"

    def ready(self) -> None:
        from brokercrm.backoffice.registry import contributions_register

        contributions_register(self.name)
        from . import notifications

        notifications.connect()
