from django.apps import AppConfig


class PlatformsConfig(AppConfig):
    name = "platforms"
    verbose_name = "Trading platforms"

    def ready(self) -> None:
        from brokercrm.backoffice.registry import contributions_register

        contributions_register(self.name)
        from . import subscribers

        subscribers.connect()

        from . import notifications

        notifications.connect()
