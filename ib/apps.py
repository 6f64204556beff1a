from django.apps import AppConfig


class IbConfig(AppConfig):
    name = "ib"
    verbose_name = "Introducing brokers"

    def ready(self) -> None:
        from . import subscribers

        subscribers.connect()
