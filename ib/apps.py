from django.apps import AppConfig


class IbConfig(AppConfig):
    name = "ib"
    verbose_name = "Introducing brokers"

    def ready(self) -> None:
        from brokercrm.backoffice.registry import contributions_register

        contributions_register(self.name)
        from . import subscribers

        subscribers.connect()
